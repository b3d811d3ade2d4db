/*
 * compare: cross-registry comparison (数据比对) of the registry engine.
 *
 * Registry A and registry B are compared on a key pair A.ka <-> B.kb (kb is
 * normally B's key; ka may be any field of A, unique or not, e.g.
 * enterprise.legal_rep_id <-> population.id_no) with a field mapping
 * [(A.fa, B.fb) ...].  For every record of A whose ka is not NULL:
 *   - no record of B has kb = ka            -> a discrepancy "only in A"
 *     (reported when only_a is set);
 *   - else, for every pair whose values differ -> a "mismatch" (NULL against
 *     a value is a mismatch; two NULLs are equal).
 * With only_b set, every record of B whose kb no record of A names is a
 * discrepancy "only in B".  When kb is not unique in B, an A record is
 * compared with the first B record of its key (lowest _id); the others are
 * counted in stats.dup_b and are never "only in B".
 *
 * Equality is on canonical text (registry.h): text-like fields compare as
 * text; integer and decimal fields compare as numbers (so 12.5 with scale 1
 * equals 12.50 with scale 2); dates and booleans by their canonical text.
 *
 * Compatible types (keys and mapped fields):
 *   text, address, enum, phone, idcard, uscc   with each other (text);
 *   integer, decimal                           with each other (numbers);
 *   date with date; boolean with boolean.
 * Key fields must be text-like, integer or date.
 *
 * Algorithm (measured: DESIGN's "choose by measurement"; see compare.c):
 * both registries are read in _id order (a sequential table scan, the
 * cheapest read either driver has: reading in key order walks the key's
 * index and seeks the table once per record, which on SQLite made one
 * ordered pass over 1,000,000 records cost more than the whole SQL join),
 * projecting only _id, the key and the mapped fields, in keyset pages.
 * B is loaded into a hash table keyed on kb and A is streamed against it (a
 * hash join).  While B is read, A is read ahead on a second connection
 * (store_open_again) in a second thread and kept packed in memory, so the
 * two reads overlap on two cores; when there is no second connection (an
 * in-memory database), when A does not fit in mem_budget, or when B must be
 * partitioned, or when st is inside a transaction (a second connection
 * would not see what it wrote), A is read afterwards instead
 * (stats.read_ahead says which):
 * the answer is the same either way, and memory may reach twice mem_budget.  Memory is bounded by mem_budget: when B does not fit, both
 * sides are partitioned by the key's hash into anonymous temporary files
 * (tmpfile(3)) and joined partition by partition (a grace hash join), so
 * memory stays flat at any size.
 *
 * Discrepancies are reported in A's _id order (then "only in B" in B's
 * order) when B fits in memory; partition by partition otherwise.
 *
 * Reads only; no transaction is needed.  The callbacks may write on the same
 * connection between pages (every page is fully fetched before they run).
 */
#ifndef YZ_REG_COMPARE_H
#define YZ_REG_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "engines/registry/registry.h"

#define REG_CMP_MAX_PAIRS 32
#define REG_CMP_MAP_MAX 4000          /* bytes of a mapping text */
#define REG_CMP_DEFAULT_BUDGET ((size_t)256 << 20)

/* A resolved comparison (reg_cmp_resolve fills it; or fill it by hand). */
struct reg_cmp {
	const struct registry *a, *b;     /* borrowed handles (registry_get: live until exit) */
	int key_a, key_b;                 /* field indexes of ka, kb */
	int npairs;
	int fa[REG_CMP_MAX_PAIRS];        /* field indexes in A */
	int fb[REG_CMP_MAX_PAIRS];        /* field indexes in B */
	int only_a, only_b;               /* report records only in A / only in B */
	size_t mem_budget;                /* bytes for B's table; 0 = REG_CMP_DEFAULT_BUDGET */
	int page;                         /* rows per read; 0 = default (20,000) */
};

/*
 * Resolves a comparison by names: registries reg_a, reg_b; key fields
 * key_a, key_b; map "fa=fb" items separated by commas, semicolons or line
 * ends (blanks around names ignored; NULL or "" = no pair).  0, or -1 with
 * *e: why (MSG_CMP_*) and field naming the input: "registry_a", "key_a",
 * "registry_b", "key_b", "map" (detail names the item, e.g. "name=xm").
 * Refused: unknown registry or field, incompatible types, a key type that
 * cannot be a key, a field mapped twice, more than REG_CMP_MAX_PAIRS
 * pairs, and nothing to report (no pair, only_a and only_b both off).
 */
int reg_cmp_resolve(struct store *st, const char *reg_a, const char *key_a, const char *reg_b,
		    const char *key_b, const char *map, int only_a, int only_b, struct reg_cmp *out,
		    struct reg_error *e);

/* 1 when fields x and y may be compared, 0 otherwise. */
int reg_cmp_compatible(const struct reg_field *x, const struct reg_field *y);

/*
 * The authoritative department (一数一源) for a discrepancy on pair i
 * (0..npairs-1), or on the key pair when i < 0: of the two fields the one
 * that is not derived gives its source department; when neither or both
 * are authoritative, A's owner.  *side (may be NULL) gets 'a' or 'b' for
 * the field chosen, 0 for A's owner.
 */
int64_t reg_cmp_route(const struct reg_cmp *c, int i, char *side);

enum reg_cmp_kind { REG_CMP_ONLY_A, REG_CMP_ONLY_B, REG_CMP_MISMATCH };
const char *reg_cmp_kind_name(enum reg_cmp_kind k);   /* "only_a", "only_b", "mismatch" */

/* One discrepancy; every pointer is valid for the callback only. */
struct reg_cmp_diff {
	enum reg_cmp_kind kind;
	const char *key;             /* canonical text of the key */
	int64_t id_a, id_b;          /* _id of the records, 0 when none */
	int pair;                    /* index of the pair (mismatch), -1 otherwise */
	const char *value_a;         /* canonical text of A.fa (mismatch), NULL for NULL */
	const char *value_b;         /* canonical text of B.fb (mismatch), NULL for NULL */
};

struct reg_cmp_stats {
	int64_t rows_a, rows_b;      /* records read */
	int64_t null_key_a;          /* A records with a NULL key (not compared) */
	int64_t null_key_b;
	int64_t dup_b;               /* B records whose key an earlier B record had */
	int64_t matched;             /* A records with a B record of their key */
	int64_t only_a, only_b;      /* discrepancies of each kind (counted even when not reported) */
	int64_t mismatch;            /* field mismatches (one per pair and record) */
	int64_t mismatch_records;    /* A records with at least one mismatch */
	int partitions;              /* 1 when B fitted in memory */
	int read_ahead;              /* 1 when A was read while B was (see compare.c) */
	double seconds;              /* wall-clock time of the comparison */
};

/*
 * diff: called for each reported discrepancy; non-zero stops the run
 * (reg_cmp_run returns it).  progress: after every page read and at the
 * end, with records read so far and the expected total (rows of A + B, by
 * COUNT at the start; done may pass total if records were added meanwhile).
 * Either may be NULL.
 */
struct reg_cmp_cb {
	int (*diff)(void *arg, const struct reg_cmp_diff *d);
	void (*progress)(void *arg, int64_t done, int64_t total);
	void *arg;
};

/* Runs the comparison: 0, the diff callback's non-zero value, or -1 on a store or file error (logged). */
int reg_cmp_run(struct store *st, const struct reg_cmp *c, const struct reg_cmp_cb *cb,
		struct reg_cmp_stats *out);

#endif
