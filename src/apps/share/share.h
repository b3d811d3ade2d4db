/*
 * share: information resource sharing (政务信息资源共享) on the registry
 * engine — the resource catalogue (GB/T 21063), registries and their
 * records, import and export, grant requests and grants, department API
 * tokens and the sharing API, consent-bound verification (授权核查) with the
 * citizen's data tracker, and cross-registry comparison (数据比对) with
 * data-quality tasks.
 */
#ifndef YZ_SHARE_H
#define YZ_SHARE_H

#include "core/conf.h"
#include "core/crypto.h"
#include "core/http.h"
#include "core/store.h"

/* Registers routes, jobs and desk providers (before the server starts). */
void share_register(void);
/*
 * Seeds the demo (does nothing when already there): the demo registries'
 * definitions (registries/NAME.reg), their records from the deterministic
 * generator with conf->demo_persons persons, catalogue entries, the 低保
 * verification template, tokens and grants.  Own transactions.  0 or -1.
 */
int share_demo_seed(struct store *st, const struct keys *k, const struct conf *c);
/*
 * The share commands of the CLI: "registry", "import", "export", "compare",
 * "demo-data".  argv[0] is the command.  Returns the exit status, or -1 when
 * cmd is not one of them.
 */
int share_cli(const char *cmd, struct store *st, const struct keys *k, const struct conf *c,
	      int argc, char **argv);
/* One line per share command for `yizhan --help`. */
extern const char share_cli_usage[];

#endif
