/*
 * The information-sharing demo (share_demo_seed, see share.h): the six demo
 * registries with the generated city of conf->demo_persons persons (seed
 * 2026), then the catalogue entries, the 低保 verification template and the
 * demo tokens and grants, each part in a transaction of its own.
 */
#include "apps/share/gen.h"
#include "apps/share/share.h"
#include "apps/share/share_int.h"
#include "core/log.h"

#include <time.h>

#define DEMO_SEED 2026

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one seeding part in its own transaction. */
static int demo_part(struct store *st, const struct keys *k, int which, const char *what)
{
	if (store_begin(st) != STORE_OK) {
		log_error("share demo: %s: begin failed", what);
		return -1;
	}
	int rc = which == 0 ? share_catalogue_demo(st) : which == 1 ? share_verify_demo(st) : share_grant_demo(st, k);
	if (rc != 0) {
		store_rollback(st);
		log_error("share demo: seeding the %s failed", what);
		return -1;
	}
	if (store_commit(st) != STORE_OK) {
		store_rollback(st);
		log_error("share demo: committing the %s failed: %s", what, store_errmsg(st));
		return -1;
	}
	return 0;
}

int share_demo_seed(struct store *st, const struct keys *k, const struct conf *c)
{
	const struct registry *pop = registry_get(st, "population");
	if (pop != NULL) {
		int64_t n = registry_count(st, pop);
		if (n < 0)
			return -1;
		if (n > 0)
			return 0;
	}
	double t0 = now_s();
	if (gen_apply_registries(st) != 0)
		return -1;
	struct gen_counts counts;
	if (gen_store(st, c->demo_persons, DEMO_SEED, 0, &counts) != 0)
		return -1;
	int64_t total = 0;
	for (int r = 0; r < GEN__MAX; r++)
		total += counts.rows[r];
	log_info("share demo: %lld records for %lld persons in %.1f s (planted: %lld legal representatives "
		 "missing from population, %lld names differing)",
		 (long long)total, (long long)counts.rows[GEN_POPULATION], now_s() - t0,
		 (long long)counts.planted_missing, (long long)counts.planted_name);
	if (demo_part(st, k, 0, "catalogue") != 0 || demo_part(st, k, 1, "verification templates") != 0 ||
	    demo_part(st, k, 2, "tokens and grants") != 0)
		return -1;
	return 0;
}
