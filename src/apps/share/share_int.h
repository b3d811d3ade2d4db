/*
 * share_int.h: what the share application's files share.  Each file owns
 * its section; add to your own section only.
 */
#ifndef YZ_SHARE_INT_H
#define YZ_SHARE_INT_H

#include <jansson.h>
#include <stdio.h>

#include "apps/share/share.h"
#include "core/http.h"
#include "engines/registry/registry.h"

/* ---- route tables (each defined in the file named) ---- */
extern const struct route share_catalogue_routes[];   /* catalogue.c, registries.c: pages and API */
extern const struct route share_registry_routes[];    /* registries.c */
extern const struct route share_transfer_routes[];    /* transfer.c: import and export */
extern const struct route share_grant_routes[];       /* grants.c: requests and grants */
extern const struct route share_token_routes[];       /* tokens.c: department API tokens */
extern const struct route share_api_routes[];         /* api.c: GET /api/v1/share/... */
extern const struct route share_consent_routes[];     /* consent.c: consents and the tracker */
extern const struct route share_verify_routes[];      /* verify.c: verification templates */
extern const struct route share_compare_routes[];     /* compare.c: comparisons and data-quality tasks */

/* ---- registration hooks (each file registers its jobs and desk providers) ---- */
void share_transfer_register(void);   /* transfer.c: job kinds registry.import, registry.export */
void share_grant_register(void);      /* grants.c: desk provider for pending requests */
void share_compare_register(void);    /* compare.c: job kind registry.compare, desk provider */
void share_consent_register(void);    /* consent.c: desk provider for the citizen */

/* ---- demo seeding parts (called by demo.c in its transaction) ---- */
int share_catalogue_demo(struct store *st);                       /* catalogue.c */
int share_verify_demo(struct store *st);                          /* verify.c */
int share_grant_demo(struct store *st, const struct keys *k);     /* grants.c, tokens.c */
int share_token_demo(struct store *st, const struct keys *k);     /* tokens.c (called by share_grant_demo) */
/* api.c: GET /api/v1/share/{registry}/{key} and the batch; registered last, by
 * share_grant_register, since its paths match any two segments under /api/v1/share/. */
extern const struct route share_api_read_routes[];

/* ---- CLI parts (cli.c dispatches) ---- */
int share_cli_registry(struct store *st, const struct keys *k, int argc, char **argv);  /* registries.c */
int share_cli_import(struct store *st, const struct keys *k, int argc, char **argv);    /* transfer.c */
int share_cli_export(struct store *st, const struct keys *k, int argc, char **argv);    /* transfer.c */
int share_cli_compare(struct store *st, const struct keys *k, int argc, char **argv);   /* compare.c */
int share_cli_demo_data(struct store *st, const struct keys *k, const struct conf *c,
			int argc, char **argv);                                          /* gen.c */

/* ---- helpers (util.c, owned with grants.c) ---- */

/*
 * The department a staff member acts for on a share page or API call: the
 * "dept" query/body value when the user holds a role there, otherwise the
 * user's first department (lowest id) where they are staff; a request made
 * with a department API token acts for the token's department.  0 when
 * none (not staff): the caller answers 403.
 */
int64_t share_acting_dept(struct req *r);

/*
 * What department dept_id may read of registry reg, and on which basis:
 *   owner          the owning department: every field, unmasked;
 *   grant          an approved, unexpired, unrevoked grant: its fields (plus the
 *                  registry's unconditional fields), unmasked, with its purpose;
 *   unconditional  the fields whose class is 无条件共享, personal ones masked;
 * fields of class 不予共享 never leave the owner.  fields is NULL-terminated,
 * allocated in arena a; nfields 0 means nothing may be read (reason in why:
 * MSG_SHARE_NO_GRANT, MSG_SHARE_NOT_SHARED ...).  0, or -1 on a store error.
 */
struct share_right {
	const char **fields;
	int nfields;
	int owner;
	int unmasked;
	int64_t grant_id;          /* 0 when not by a grant */
	const char *basis;         /* "owner", "grant:<id>", "unconditional" */
	const char *purpose;       /* the grant's purpose, or NULL */
	enum msg_id why;
};
struct arena;
int share_right_for(struct store *st, struct arena *a, int64_t dept_id, const struct registry *reg,
		    struct share_right *out);

/* ---- verify.c, consent.c: consent-bound verification (授权核查) ---- */

/*
 * Verification templates as JSON, by code (only those run by dept_id when
 * dept_id > 0; none when dept_id < 0):
 * [{"id","code","name","description","dept":{"id","code","name"},"subject_kind"
 *   ("idcard"|"uscc"),"subject_label","questions":[{"n","label","registry",
 *   "registry_name","match","agg","field"?,"op"?,"threshold"?,"plain"}]}].
 * "plain" says in words what a question reveals.  NULL on a store failure.
 */
json_t *share_verify_templates(struct store *st, int64_t dept_id);
/* One template by code as above; JSON null when none; NULL on a store failure. */
json_t *share_verify_template(struct store *st, const char *code);

/* ---- catalogue.c, registries.c: the resource catalogue and registry pages ---- */

/*
 * One catalogue entry as JSON (the API's shape: code, gb_code, registry,
 * class, class_label, class_code, name, provider {id,code,name}, abstract,
 * format, items [{name,label,type,type_label,share,share_label,...}],
 * share, share_label, share_cond, share_methods, open, open_cond,
 * update_cycle, released_on, related [codes], version ...); a
 * registry-backed entry with its definition's current items and classes.
 * NULL when there is none (or on a store failure).
 */
json_t *share_catalogue_get(struct store *st, const char *code);
/* The code of the catalogue entry of a registry (arena a), or NULL. */
const char *share_catalogue_code_of(struct store *st, struct arena *a, const char *registry);
/*
 * Refreshes the copies that registry-backed entries keep of their registry
 * (items, sharing class, open flag, provider) where the registry's version
 * moved; in the caller's transaction, or its own when none is open.  0 or -1.
 */
int share_catalogue_refresh(struct store *st);

#endif
