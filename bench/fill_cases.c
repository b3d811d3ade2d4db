/*
 * Fills a demo store with open cases of 市场监督管理局 and times the
 * deadline sweeps over them (bench/hall.sh, `make bench`).
 *
 *   fill_cases STORE-URI N     adds N open cases (one transaction, one
 *                              prepared INSERT), then times the full sweep
 *                              over rows never computed, the full sweep
 *                              again and the daily sweep of the same day
 *   fill_cases --next-day STORE-URI
 *                              times the daily sweep of the next working day
 *                              (lights turn and escalations fire for the
 *                              cases crossing a threshold)
 *
 * The store is the data folder of a `yizhan serve --demo` that has been
 * stopped: the department `amr`, its published items, the demo people and
 * the working-day calendar are read from it, the process definitions are
 * the ones embedded in the binary.  The cases are like the ones the hall
 * makes: process hall.standard, an item of the department as subject and
 * item code with the applicant's name (a person, or a company for an
 * enterprise item), a real tracking code (case_tracking_new), applicants
 * chen and huaxin, one in ten assigned to zhang.amr.  States: 15 % submitted
 * (clock waiting), the others accepted or in review with a running clock
 * whose promised limit is green (70 %), yellow (20 %) or up to 15 working
 * days overdue, red (10 %).  The escalations a running
 * clock has reached are marked as fired (esc_level), as they would be in a
 * store swept every day; the first sweep computes deadlines, lights and
 * next checks of every row.  Form data is left out (the inbox does not read
 * it).  Prints one line per step: seconds, and the sweep's counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/calendar.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/store.h"
#include "engines/case/case.h"
#include "engines/case/procdef.h"

#define PROCESS "hall.standard"
#define MAX_ITEMS 64
#define MAX_USED 40

static const char SQL_CASE[] =
	"INSERT INTO cases (process, dept_id, applicant_id, assignee_id, tracking, phone_tail, subject, "
	"item_code, state, version, statutory_days, promised_days, clock_state, clock_started, run_since, "
	"esc_level, created_at, updated_at) "
	"VALUES ('" PROCESS "', $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) "
	"ON CONFLICT (tracking) DO NOTHING";

static const char *const SURNAMES[] = { "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
					"徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高" };
static const char *const GIVEN[] = { "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军",
				     "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞" };
static const char *const FIRM_WORDS[] = { "华信", "鑫源", "康泰", "顺达", "恒丰", "新星", "宏远", "利民",
					  "嘉禾", "天成", "聚福", "长青", "瑞丰", "金桥", "安和", "晨光" };
static const char *const FIRM_TRADES[] = { "商贸", "食品", "餐饮管理", "医疗器械", "建材", "科技", "物流", "服装" };

static double secs(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A small deterministic mixer, so that runs are alike. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb93fe5495a53ULL;
	x ^= x >> 33;
	return x;
}

static int sweep(struct store *st, const struct calendar *cal, cal_day today, int full, const char *what)
{
	struct case_sweep_stats s = { 0 };
	double t0 = secs();
	if ((full ? case_sweep_full : case_sweep)(st, cal, today, &s) != 0) {
		fprintf(stderr, "fill_cases: %s failed\n", what);
		return -1;
	}
	printf("%-36s %8.3f s  scanned %lld, changed %lld, escalated %lld\n", what, secs() - t0,
	       (long long)s.scanned, (long long)s.changed, (long long)s.escalated);
	fflush(stdout);
	return 0;
}

static int64_t user_id(struct store *st, const char *login)
{
	int64_t id = 0;
	struct sval v[] = { SVT(login) };
	if (store_query_int(st, "SELECT id FROM users WHERE login = $1", v, 1, &id) != STORE_OK)
		return 0;
	return id;
}

static int fill(struct store *st, const struct calendar *cal, cal_day today, long n)
{
	const struct procdef *p = procdef_get(PROCESS);
	struct store_res *res = NULL;
	int64_t dept = 0;
	struct sval dv[] = { SVT("amr") };
	if (p == NULL) {
		fprintf(stderr, "fill_cases: process %s not loaded\n", PROCESS);
		return -1;
	}
	if (store_query_int(st, "SELECT id FROM departments WHERE code = $1", dv, 1, &dept) != STORE_OK ||
	    dept == 0) {
		fprintf(stderr, "fill_cases: no department amr (not a demo store?)\n");
		return -1;
	}
	int64_t chen = user_id(st, "chen"), huaxin = user_id(st, "huaxin"), zhang = user_id(st, "zhang.amr");
	if (chen == 0 || huaxin == 0 || zhang == 0) {
		fprintf(stderr, "fill_cases: the demo people chen, huaxin and zhang.amr are needed\n");
		return -1;
	}
	struct sval iv[] = { SVI(dept), SVT(PROCESS) };
	if (store_query(st,
			"SELECT code, name, statutory_days, promised_days, audience FROM hall_items "
			"WHERE dept_id = $1 AND process = $2 AND status = 'published' ORDER BY code",
			iv, 2, &res) != STORE_OK || store_res_rows(res) == 0) {
		fprintf(stderr, "fill_cases: department amr has no published item of %s\n", PROCESS);
		store_res_free(res);
		return -1;
	}
	int nitems = store_res_rows(res) < MAX_ITEMS ? store_res_rows(res) : MAX_ITEMS;

	/* run_since for a clock that has used u working days by today */
	cal_day since[MAX_USED + 1];
	for (int u = 0, d = today; u <= MAX_USED; u++) {
		while (calendar_workdays_between(cal, d, today) < u)
			d--;
		since[u] = d;
	}
	int st_acc = procdef_state(p, "accepted"), st_rev = procdef_state(p, "review");
	if (st_acc < 0 || st_rev < 0 || procdef_state(p, "submitted") < 0) {
		fprintf(stderr, "fill_cases: %s has no accepted/review/submitted state\n", PROCESS);
		store_res_free(res);
		return -1;
	}

	double t0 = secs();
	long added = 0;
	if (store_begin(st) != STORE_OK)
		goto fail;
	for (long i = 0; i < n; i++) {
		uint64_t h = mix((uint64_t)i + 1);
		int it = (int)(h % (uint64_t)nitems);
		int stat = (int)store_res_int(res, it, 2), prom = (int)store_res_int(res, it, 3);
		const char *aud = store_res_text(res, it, 4);
		int firm = strcmp(aud, "enterprise") == 0 || (strcmp(aud, "both") == 0 && (h >> 8) % 3 == 0);
		char who[96], subject[320], tracking[CASE_TRACKING_LEN + 1];
		if (firm)
			snprintf(who, sizeof who, "示范市%s%s有限公司", FIRM_WORDS[(h >> 12) % 16],
				 FIRM_TRADES[(h >> 16) % 8]);
		else
			snprintf(who, sizeof who, "%s%s", SURNAMES[(h >> 12) % 20], GIVEN[(h >> 20) % 20]);
		snprintf(subject, sizeof subject, "%s（%s）", store_res_text(res, it, 1), who);
		case_tracking_new(tracking);

		int bucket = (int)((h >> 28) % 100);
		const char *state;
		int clock, used = 0, version;
		int64_t esc = 0;
		if (bucket < 15) {
			state = "submitted";
			clock = 0;
			version = 2;
		} else {
			state = (h >> 36) % 2 ? "accepted" : "review";
			clock = 1;
			version = strcmp(state, "accepted") == 0 ? 3 : 4;
			/* green below ceil(warn * promised), yellow up to promised, red after */
			int r = (int)((h >> 40) % 100), g = (int)ceil(p->warn * (double)prom - 1e-9);
			used = r < 70 ? r % (g > 0 ? g : 1) : r < 90 ? g + r % (prom - g + 1) : prom + 1 + r % 15;
			if (used > MAX_USED)
				used = MAX_USED;
			/* the escalations reached by now have fired on earlier days */
			for (int k = 0; k < p->nesc && k < 63; k++) {
				int l = p->esc[k].limit == PD_LIMIT_STATUTORY ? stat : prom;
				if (l > 0 && used >= (int)ceil(p->esc[k].at * (double)l - 1e-9))
					esc |= (int64_t)1 << k;
			}
		}
		cal_day start = since[used];
		int64_t created = ((int64_t)start - (clock ? 1 : (int64_t)((h >> 44) % 3))) * 86400 + 9 * 3600 +
				  (int64_t)((h >> 48) % 28800);
		int64_t applicant = firm ? huaxin : chen;
		struct sval v[] = { SVI(dept),
				    SVI(applicant),
				    (h >> 52) % 10 == 0 ? SVI(zhang) : SVN,
				    SVT(tracking),
				    SVT("8000"),
				    SVT(subject),
				    SVT(store_res_text(res, it, 0)),
				    SVT(state),
				    SVI(version),
				    SVI(stat),
				    SVI(prom),
				    SVI(clock),
				    clock ? SVI(start) : SVN,
				    clock ? SVI(start) : SVN,
				    SVI(esc),
				    SVI(created) };
		int64_t ch = 0;
		if (store_exec(st, SQL_CASE, v, (int)(sizeof v / sizeof *v), &ch) != STORE_OK)
			goto fail;
		added += ch;
	}
	if (store_commit(st) != STORE_OK)
		goto fail;
	printf("%-36s %8.3f s  %ld cases of 市场监督管理局 (%d items), one transaction\n", "insert", secs() - t0,
	       added, nitems);
	fflush(stdout);
	store_res_free(res);
	return 0;
fail:
	fprintf(stderr, "fill_cases: insert failed: %s\n", store_errmsg(st));
	store_rollback(st);
	store_res_free(res);
	return -1;
}

int main(int argc, char **argv)
{
	int next_day = argc == 3 && strcmp(argv[1], "--next-day") == 0;
	if (argc != 3) {
		fprintf(stderr, "usage: fill_cases STORE-URI N | fill_cases --next-day STORE-URI\n");
		return 2;
	}
	const char *uri = next_day ? argv[2] : argv[1];
	char *end = NULL;
	long n = next_day ? 0 : strtol(argv[2], &end, 10);
	if (!next_day && (end == argv[2] || *end != '\0' || n < 1)) {
		fprintf(stderr, "fill_cases: bad count %s\n", argv[2]);
		return 2;
	}
	struct store *st = NULL;
	struct calendar *cal = NULL;
	char *err = NULL;
	int rc = 1;
	log_set_level(LOG_WARN);
	if (store_open(uri, &st, &err) != 0) {
		fprintf(stderr, "fill_cases: %s: %s\n", uri, err ? err : "?");
		free(err);
		return 1;
	}
	if (procdef_load_all(embed_processes, &err) != 0) {
		fprintf(stderr, "fill_cases: processes: %s\n", err ? err : "?");
		goto out;
	}
	if (calendar_load(st, &cal) != 0) {
		fprintf(stderr, "fill_cases: cannot load the calendar\n");
		goto out;
	}
	cal_day today = cal_day_of(time(NULL));
	if (next_day) {
		cal_day next = calendar_add_workdays(cal, today, 1);
		if (sweep(st, cal, next, 0, "daily sweep, next working day") != 0)
			goto out;
	} else if (fill(st, cal, today, n) != 0 ||
		   sweep(st, cal, today, 1, "full sweep, rows never computed") != 0 ||
		   sweep(st, cal, today, 1, "full sweep again, no change") != 0 ||
		   sweep(st, cal, today, 0, "daily sweep, same day") != 0) {
		goto out;
	}
	rc = 0;
out:
	calendar_free(cal);
	procdef_unload_all();
	store_close(st);
	free(err);
	return rc;
}
