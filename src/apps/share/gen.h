/*
 * gen: the deterministic demo city (app-internal to share).
 *
 * gen_run generates the records of the six demo registries (registries/NAME.reg)
 * for a city of `persons` persons from `seed`, calling a function per record.
 * The output depends on nothing but (persons, seed): no clock, no locale, no
 * floating point, no libc random; the same pair gives byte-identical records
 * on every machine.  Nothing is held in memory: every person is a pure
 * function of its index (a keyed Feistel permutation hands out unique
 * 身份证号; households are cut inside aligned blocks of 8 persons), so a
 * 10,000,000-person city streams in constant memory.
 *
 * The registries come one after the other, each whole: population,
 * enterprise, housing, vehicle, deposit, pfund.  Values are canonical text
 * (registry.h) in the order of gen_tables[r].fields, which is the order of
 * the fields in registries/CODE.reg; NULL for an empty value.
 *
 * Planted discrepancies between enterprise.legal_rep_* and population, and
 * nothing else differs there:
 *   missing  enterprises whose legal_rep_id is a valid 身份证号 of nobody in
 *            the population: exactly max(1, persons / 2000);
 *   name     enterprises whose legal_rep_name differs from the population's
 *            name of legal_rep_id: exactly max(1, persons / 1000).
 * Every other enterprise's legal representative is an adult of the
 * population with the same name.
 *
 * Fixed records for the demo accounts (src/apps/portal/demo.c): the citizen
 * chen (陈小梅, 身份证号 44010619900517123 + check, gen_chen_idcard) with one
 * housing record, no vehicle, two deposit accounts totalling 12000.00 and a
 * provident-fund account of 8500.00; the enterprise huaxin
 * (示范市华信科技有限公司, gen_huaxin_uscc) whose legal representative is
 * chen's neighbour 赵志强.  The population holds exactly `persons` records,
 * these included.  Every person's sex follows the 17th digit of the
 * 身份证号, chen's too: the demo's sequence code "123" is odd, so 男.
 *
 * Legal representatives are distinct persons (no one represents two
 * enterprises), so enterprise.legal_rep_id can serve as a comparison key.
 */
#ifndef YZ_SHARE_GEN_H
#define YZ_SHARE_GEN_H

#include <stdint.h>

#include "core/store.h"

enum gen_reg { GEN_POPULATION, GEN_ENTERPRISE, GEN_HOUSING, GEN_VEHICLE, GEN_DEPOSIT, GEN_PFUND, GEN__MAX };

#define GEN_MAX_FIELDS 8
#define GEN_MIN_PERSONS 100
#define GEN_MAX_PERSONS 10000000

struct gen_table {
	const char *code;                      /* registry code, e.g. "population" */
	const char *fields[GEN_MAX_FIELDS];    /* field names in output order, NULL-terminated */
	int nfields;
};
extern const struct gen_table gen_tables[GEN__MAX];

struct gen_counts {
	int64_t rows[GEN__MAX];      /* records per registry */
	int64_t planted_missing;     /* legal_rep_id not in population */
	int64_t planted_name;        /* legal_rep_name differs from population.name */
};

/* What gen_run will plant for `persons` (rows are left 0). */
void gen_planned(int64_t persons, struct gen_counts *out);

/*
 * Called once per record; values[i] is the canonical text of
 * gen_tables[reg].fields[i] (NULL when empty), valid for the call only.
 * Return 0 to go on; anything else stops gen_run, which returns it.
 */
typedef int (*gen_row_fn)(void *arg, enum gen_reg reg, const char *const *values);

/*
 * Generates the city: persons in GEN_MIN_PERSONS..GEN_MAX_PERSONS.  Fills
 * *out (counts of what was emitted) as it goes.  0, -1 on a bad argument,
 * or fn's non-zero return.
 */
int gen_run(int64_t persons, uint64_t seed, gen_row_fn fn, void *arg, struct gen_counts *out);

/* The 身份证号 of the demo citizen chen and the 统一社会信用代码 of huaxin (19 bytes each). */
void gen_chen_idcard(char out[19]);
void gen_huaxin_uscc(char out[19]);

/*
 * Writes the generated city into the store through registry_put (actor
 * "system", source "demo-data:<seed>"), ~10,000 records per transaction with
 * an audit entry per transaction; the six registries must have been applied
 * (gen_apply_registries) and be empty.  progress: print progress to stderr.
 * Must be called outside a transaction.  0 or -1 (logged).
 */
int gen_store(struct store *st, int64_t persons, uint64_t seed, int progress, struct gen_counts *out);

/*
 * Applies the embedded definitions registries/CODE.reg of the six registries
 * that do not exist yet, in dependency order, each in its own transaction.
 * 0, or -1 with the reason logged.
 */
int gen_apply_registries(struct store *st);

/* Records held by the six registries together (0 when none exists yet), -1 on error. */
int64_t gen_records_held(struct store *st);

#endif
