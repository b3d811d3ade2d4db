/*
 * jobs: long work as rows of the jobs table, run by worker threads, with
 * progress a person can watch (/jobs/{id}) and a machine can poll
 * (/api/v1/jobs/{id}).
 *
 * A job is enqueued inside the transaction of the request that asks for it,
 * so it exists exactly when that request committed.  Workers claim queued
 * jobs with a conditional UPDATE (state 'queued' -> 'running'), so several
 * nodes sharing one store never run a job twice.  A job left 'running' by a
 * process that died is re-queued at start-up (jobs must be restartable:
 * each runs in one transaction of its own, or is idempotent).
 */
#ifndef YZ_JOBS_H
#define YZ_JOBS_H

#include <jansson.h>
#include <stdint.h>

#include "core/crypto.h"
#include "core/store.h"

struct job {
	int64_t id;
	int64_t user_id;
	int64_t dept_id;
	json_t *params;           /* borrowed */
	struct store *st;         /* the worker's connection */
	const struct keys *keys;
};

/*
 * A job function: does the work, reports progress, and returns 0 with
 * *result (JSON, owned by the jobs module afterwards) or -1 with *message
 * (malloc'd Chinese text for the person) and optionally *result.
 */
typedef int (*job_fn)(struct job *j, json_t **result, char **message);

/* Registers a kind before jobs_start; kind and label (Chinese, for pages) are static strings. */
void jobs_register(const char *kind, const char *label, job_fn fn);
/* Queues a job inside the caller's transaction. */
int jobs_enqueue(struct store *st, const char *kind, const json_t *params, int64_t user_id,
		 int64_t dept_id, int64_t *id);
/* Progress from inside a job function (own short write, outside the job's transaction). */
void jobs_progress(struct job *j, int64_t done, int64_t total);
/* {"id","kind","state","done","total","percent","message","result","created_at",...} or NULL. */
json_t *jobs_json(struct store *st, int64_t id);
/* The newest jobs of a user that are queued, running or failed: array. */
json_t *jobs_of_user(struct store *st, int64_t user_id, int limit);

/* Starts nworkers threads with their own store connections. */
int jobs_start(const char *store_uri, const struct keys *k, int nworkers);
/* Wakes the workers (after a commit that queued a job). */
void jobs_kick(void);
/* Stops the workers after their current job. */
void jobs_stop(void);
/* Runs queued jobs in the calling thread until none is left (CLI and tests). */
int jobs_run_pending(struct store *st, const struct keys *k);

#endif
