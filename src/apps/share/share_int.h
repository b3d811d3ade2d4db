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

/* ---- CLI parts (cli.c dispatches) ---- */
int share_cli_registry(struct store *st, const struct keys *k, int argc, char **argv);  /* registries.c */
int share_cli_import(struct store *st, const struct keys *k, int argc, char **argv);    /* transfer.c */
int share_cli_export(struct store *st, const struct keys *k, int argc, char **argv);    /* transfer.c */
int share_cli_compare(struct store *st, const struct keys *k, int argc, char **argv);   /* compare.c */
int share_cli_demo_data(struct store *st, const struct keys *k, const struct conf *c,
			int argc, char **argv);                                          /* gen.c */

/* ---- helpers (util.c) ---- */

#endif
