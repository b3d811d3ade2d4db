#include "core/jobs.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/xalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JOBS_MAX_KINDS 32
#define JOBS_MAX_WORKERS 64

struct kind {
	const char *name;
	const char *label;
	job_fn fn;
};

static struct kind kinds[JOBS_MAX_KINDS];
static int nkinds;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop_flag;
static int kicked;
static pthread_t threads[JOBS_MAX_WORKERS];
static int nthreads;

struct worker_arg {
	char *uri;
	const struct keys *keys;
	int n;
};
static struct worker_arg wargs[JOBS_MAX_WORKERS];

enum jobs_stmt { S_INSERT, S_NEXT, S_CLAIM, S_PROGRESS, S_FINISH, S_GET, S_OF_USER, S_REQUEUE, S__MAX };

static const char *const sql[S__MAX] = {
	[S_INSERT] = "INSERT INTO jobs (kind, state, params, user_id, dept_id, created_at) "
		     "VALUES ($1, 'queued', $2, $3, $4, $5) RETURNING id",
	[S_NEXT] = "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1",
	[S_CLAIM] = "UPDATE jobs SET state = 'running', started_at = $2, worker = $3 "
		    "WHERE id = $1 AND state = 'queued'",
	[S_PROGRESS] = "UPDATE jobs SET done = $2, total = $3 WHERE id = $1",
	[S_FINISH] = "UPDATE jobs SET state = $2, result = $3, message = $4, finished_at = $5 WHERE id = $1",
	[S_GET] = "SELECT id, kind, state, done, total, message, result, created_at, started_at, "
		  "finished_at, user_id, params FROM jobs WHERE id = $1",
	[S_OF_USER] = "SELECT id, kind, state, done, total, message, result, created_at, started_at, "
		      "finished_at, user_id, params FROM jobs WHERE user_id = $1 AND "
		      "(state <> 'done' OR finished_at > $2) ORDER BY id DESC LIMIT $3",
	[S_REQUEUE] = "UPDATE jobs SET state = 'queued', message = $1 WHERE state = 'running'",
};

void jobs_register(const char *kind, const char *label, job_fn fn)
{
	if (nkinds == JOBS_MAX_KINDS) {
		log_error("jobs: too many kinds");
		abort();
	}
	kinds[nkinds].name = kind;
	kinds[nkinds].label = label;
	kinds[nkinds].fn = fn;
	nkinds++;
}

static job_fn find_kind(const char *kind)
{
	for (int i = 0; i < nkinds; i++)
		if (strcmp(kinds[i].name, kind) == 0)
			return kinds[i].fn;
	return NULL;
}

int jobs_enqueue(struct store *st, const char *kind, const json_t *params, int64_t user_id,
		 int64_t dept_id, int64_t *id)
{
	char *p = json_dumps(params, JSON_COMPACT);
	if (p == NULL)
		return -1;
	struct sval v[] = { SVT(kind), SVT(p), user_id ? SVI(user_id) : SVN,
			    dept_id ? SVI(dept_id) : SVN, SVI(time(NULL)) };
	int rc = store_query_int(st, sql[S_INSERT], v, 5, id);
	free(p);
	return rc == STORE_OK ? 0 : -1;
}

void jobs_progress(struct job *j, int64_t done, int64_t total)
{
	/* Progress goes through its own connection when the job holds a transaction. */
	struct sval v[] = { SVI(j->id), SVI(done), SVI(total) };
	if (!store_in_tx(j->st))
		store_exec(j->st, sql[S_PROGRESS], v, 3, NULL);
}

static const char *state_label(const char *state)
{
	if (strcmp(state, "queued") == 0)
		return msg(MSG_JOB_QUEUED);
	if (strcmp(state, "running") == 0)
		return msg(MSG_JOB_RUNNING);
	if (strcmp(state, "done") == 0)
		return msg(MSG_JOB_DONE);
	return msg(MSG_JOB_FAILED);
}

/* One row of S_GET / S_OF_USER as JSON. */
static json_t *job_row(const struct store_res *res, int i)
{
	const char *state = store_res_text(res, i, 2);
	int64_t done = store_res_int(res, i, 3), total = store_res_int(res, i, 4);
	int pct = strcmp(state, "done") == 0 ? 100 : total > 0 ? (int)(done * 100 / total) : 0;
	json_error_t je;
	const char *rs = store_res_text(res, i, 6);
	json_t *result = rs ? json_loads(rs, 0, &je) : NULL;
	const char *m = store_res_text(res, i, 5);
	json_t *o = json_pack(
		"{s:I,s:s,s:s,s:s,s:I,s:I,s:i,s:o,s:o,s:I,s:o,s:o,s:b,s:b}", "id",
		(json_int_t)store_res_int(res, i, 0), "kind", store_res_text(res, i, 1), "state", state,
		"state_label", state_label(state), "done", (json_int_t)done, "total", (json_int_t)total,
		"percent", pct, "message", m ? json_string(m) : json_null(), "result",
		result ? result : json_null(), "created_at", (json_int_t)store_res_int(res, i, 7),
		"started_at", store_res_isnull(res, i, 8) ? json_null() : json_integer(store_res_int(res, i, 8)),
		"finished_at", store_res_isnull(res, i, 9) ? json_null() : json_integer(store_res_int(res, i, 9)),
		"finished", strcmp(state, "done") == 0 || strcmp(state, "failed") == 0, "failed",
		strcmp(state, "failed") == 0);
	json_object_set_new(o, "user_id", json_integer(store_res_int(res, i, 10)));
	const char *kind = store_res_text(res, i, 1);
	const char *label = kind;
	for (int k = 0; k < nkinds; k++)
		if (strcmp(kinds[k].name, kind) == 0)
			label = kinds[k].label;
	json_object_set_new(o, "kind_label", json_string(label));
	return o;
}

json_t *jobs_json(struct store *st, int64_t id)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(id) };
	json_t *o = NULL;
	if (store_query(st, sql[S_GET], v, 1, &res) == STORE_OK && store_res_rows(res) > 0)
		o = job_row(res, 0);
	store_res_free(res);
	return o;
}

json_t *jobs_of_user(struct store *st, int64_t user_id, int limit)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(user_id), SVI(time(NULL) - 86400), SVI(limit) };
	if (store_query(st, sql[S_OF_USER], v, 3, &res) != STORE_OK)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(a, job_row(res, i));
	store_res_free(res);
	return a;
}

/* Claims and runs one job. 1 = ran one, 0 = none queued, -1 = store failure. */
static int run_one(struct store *st, const struct keys *k, const char *worker)
{
	struct store_res *res = NULL;
	int64_t id = 0, changes = 0;
	int rc = store_query_int(st, sql[S_NEXT], NULL, 0, &id);
	if (rc == 1)
		return 0;
	if (rc != STORE_OK)
		return -1;
	struct sval c[] = { SVI(id), SVI(time(NULL)), SVT(worker) };
	if (store_exec(st, sql[S_CLAIM], c, 3, &changes) != STORE_OK)
		return -1;
	if (changes == 0)
		return 1;   /* another worker took it */
	struct sval g[] = { SVI(id) };
	if (store_query(st, sql[S_GET], g, 1, &res) != STORE_OK || store_res_rows(res) == 0) {
		store_res_free(res);
		return -1;
	}
	json_error_t je;
	json_t *params = json_loads(store_res_text(res, 0, 11), 0, &je);
	struct job j = { id, store_res_int(res, 0, 10), 0, params, st, k };
	job_fn fn = find_kind(store_res_text(res, 0, 1));
	store_res_free(res);
	json_t *result = NULL;
	char *message = NULL;
	int ok;
	if (fn == NULL || params == NULL) {
		message = xstrdup(msg(MSG_JOB_KIND_UNKNOWN));
		ok = -1;
	} else {
		ok = fn(&j, &result, &message);
	}
	if (store_in_tx(st)) {
		log_error("jobs: job %lld left a transaction open", (long long)id);
		store_rollback(st);
	}
	char *rs = result ? json_dumps(result, JSON_COMPACT) : NULL;
	struct sval f[] = { SVI(id), SVT(ok == 0 ? "done" : "failed"), SVT(rs), SVT(message),
			    SVI(time(NULL)) };
	rc = store_exec(st, sql[S_FINISH], f, 5, NULL);
	free(rs);
	free(message);
	json_decref(result);
	json_decref(params);
	return rc == STORE_OK ? 1 : -1;
}

int jobs_run_pending(struct store *st, const struct keys *k)
{
	int rc;
	while ((rc = run_one(st, k, "cli")) == 1)
		;
	return rc;
}

static void *worker_main(void *p)
{
	struct worker_arg *a = p;
	struct store *st = NULL;
	char *err = NULL, name[32];
	snprintf(name, sizeof name, "w%d-%d", a->n, (int)getpid());
	if (store_open(a->uri, &st, &err) != 0) {
		log_error("jobs: worker %d cannot open the store: %s", a->n, err);
		free(err);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&mu);
		int s = stop_flag;
		pthread_mutex_unlock(&mu);
		if (s)
			break;
		int rc = run_one(st, a->keys, name);
		if (rc == 1)
			continue;
		pthread_mutex_lock(&mu);
		if (!stop_flag && !kicked) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;   /* also polls: jobs queued by other nodes */
			pthread_cond_timedwait(&cv, &mu, &ts);
		}
		kicked = 0;
		pthread_mutex_unlock(&mu);
	}
	store_close(st);
	return NULL;
}

int jobs_start(const char *store_uri, const struct keys *k, int nworkers)
{
	struct store *st = NULL;
	char *err = NULL;
	if (store_open(store_uri, &st, &err) != 0) {
		log_error("jobs: %s", err);
		free(err);
		return -1;
	}
	/* Jobs a dead process left running go back to the queue. */
	struct sval v[] = { SVT(msg(MSG_JOB_INTERRUPTED)) };
	int rc = store_exec(st, sql[S_REQUEUE], v, 1, NULL);
	store_close(st);
	if (rc != STORE_OK)
		return -1;
	if (nworkers > JOBS_MAX_WORKERS)
		nworkers = JOBS_MAX_WORKERS;
	stop_flag = 0;
	for (int i = 0; i < nworkers; i++) {
		wargs[i].uri = xstrdup(store_uri);
		wargs[i].keys = k;
		wargs[i].n = i;
		if (pthread_create(&threads[i], NULL, worker_main, &wargs[i]) != 0) {
			log_error("jobs: cannot start worker %d", i);
			free(wargs[i].uri);
			return -1;
		}
		nthreads++;
	}
	return 0;
}

void jobs_kick(void)
{
	pthread_mutex_lock(&mu);
	kicked = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

void jobs_stop(void)
{
	pthread_mutex_lock(&mu);
	stop_flag = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		free(wargs[i].uri);
	}
	nthreads = 0;
}
