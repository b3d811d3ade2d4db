/*
 * The demo's hall windows, slot templates, bookings and queue: windows of
 * 市场监督管理局 (amr) and of 政务服务中心 (gsc, the city's service centre,
 * whose 综合窗口 take items of several departments), a booking each for
 * chen and huaxin on the next working day, and a few numbers in the
 * centre's queue today so the calling screen has something to show.
 * Seeded by hall_demo_seed in its transaction, once.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "core/account.h"
#include "core/calendar.h"
#include "core/dept.h"
#include "core/log.h"

#include <string.h>
#include <time.h>

struct demo_window {
	const char *dept, *code, *name;
	const char *items[6];
	int cap;   /* people a 30-minute slot, mornings and afternoons of Monday to Friday */
};

static const struct demo_window windows[] = {
	{ "amr", "A01", "企业开办综合窗口", { "amr-qysl", NULL }, 2 },
	{ "amr", "A02", "食品经营许可窗口", { "amr-spjy", "amr-qysl", NULL }, 1 },
	{ "gsc", "G01", "综合受理窗口一", { "psb-sfzhl", "mca-dbsq", "mca-jhdj", "edu-ywrx", NULL }, 3 },
	{ "gsc", "G02", "综合受理窗口二", { "psb-sfzhl", "hrss-syj", "edu-ywrx", NULL }, 2 },
	{ "gsc", "G03", "税务与社保窗口", { "tax-fply", "hrss-syj", NULL }, 2 },
	{ "gsc", "G04", "工程建设窗口", { "housing-sgxk", "health-ylzy", NULL }, 1 },
};

static const char sql_window[] =
	"INSERT INTO hall_windows (dept_id, code, name, active, updated_at) VALUES ($1, $2, $3, 1, $4) RETURNING id";
static const char sql_item[] = "INSERT INTO hall_window_items (window_id, item_code) VALUES ($1, $2)";
static const char sql_slot[] = "INSERT INTO hall_window_slots (window_id, weekday, start_min, end_min, step_min, "
			       "capacity) VALUES ($1, $2, $3, $4, 30, $5)";
static const char sql_usage[] = "INSERT INTO hall_slot_usage (window_id, day, start_min, booked) VALUES ($1, $2, $3, 1)";
static const char sql_appt[] =
	"INSERT INTO hall_appointments (code, user_id, item_code, dept_id, window_id, day, start_min, end_min, "
	"starts_at, ends_at, status, created_at, updated_at) "
	"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $11)";
static const char sql_seq[] = "INSERT INTO hall_queue_seq (dept_id, day, prefix, last_seq) VALUES ($1, $2, $3, $4)";
static const char sql_ticket[] =
	"INSERT INTO hall_queue_tickets (dept_id, day, number, priority, seq, item_code, status, window_id, calls, "
	"called_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

static int64_t local_at(cal_day day, int min)
{
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = min / 60;
	tm.tm_min = min % 60;
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

/* Books login's slot at window (index into windows) for item on day at min. */
static int book(struct store *st, const char *login, const int64_t *wid, const int64_t *dept, int w,
		const char *item, cal_day day, int min)
{
	int64_t uid = 0;
	if (account_find(st, login, &uid) != 0)
		return 0;   /* the demo accounts are optional here */
	char code[10];
	hall_appoint_code(code);
	int64_t now = (int64_t)time(NULL);
	struct sval u[] = { SVI(wid[w]), SVI(day), SVI(min) };
	struct sval v[] = { SVT(code), SVI(uid), SVT(item), SVI(dept[w]), SVI(wid[w]), SVI(day), SVI(min),
			    SVI(min + 30), SVI(local_at(day, min)), SVI(local_at(day, min + 30)), SVI(now) };
	if (store_exec(st, sql_usage, u, 3, NULL) != STORE_OK || store_exec(st, sql_appt, v, 11, NULL) != STORE_OK)
		return -1;
	return 0;
}

int hall_demo_appoint(struct store *st)
{
	int64_t n = 0;
	if (store_query_int(st, "SELECT COUNT(*) FROM hall_windows", NULL, 0, &n) != STORE_OK)
		return -1;
	if (n > 0)
		return 0;
	size_t nw = sizeof windows / sizeof windows[0];
	int64_t wid[sizeof windows / sizeof windows[0]], dept[sizeof windows / sizeof windows[0]];
	int64_t now = (int64_t)time(NULL);
	for (size_t i = 0; i < nw; i++) {
		const struct demo_window *w = &windows[i];
		if (dept_find_code(st, w->dept, &dept[i]) != 0) {
			log_error("demo: hall window %s: no department %s", w->code, w->dept);
			return -1;
		}
		struct sval v[] = { SVI(dept[i]), SVT(w->code), SVT(w->name), SVI(now) };
		if (store_query_int(st, sql_window, v, 4, &wid[i]) != STORE_OK)
			return -1;
		for (int k = 0; w->items[k]; k++) {
			struct sval iv[] = { SVI(wid[i]), SVT(w->items[k]) };
			if (store_exec(st, sql_item, iv, 2, NULL) != STORE_OK)
				return -1;
		}
		for (int wd = 1; wd <= 5; wd++) {
			struct sval am[] = { SVI(wid[i]), SVI(wd), SVI(9 * 60), SVI(12 * 60), SVI(w->cap) };
			struct sval pm[] = { SVI(wid[i]), SVI(wd), SVI(13 * 60 + 30), SVI(17 * 60), SVI(w->cap) };
			if (store_exec(st, sql_slot, am, 5, NULL) != STORE_OK ||
			    store_exec(st, sql_slot, pm, 5, NULL) != STORE_OK)
				return -1;
		}
	}
	/* Bookings on the next working day after today. */
	struct calendar *cal = NULL;
	if (calendar_load(st, &cal) != 0)
		return -1;
	cal_day today = cal_day_of(time(NULL)), next = today + 1;
	while (!calendar_is_workday(cal, next) && next < today + 60)
		next++;
	calendar_free(cal);
	if (book(st, "chen", wid, dept, 2, "psb-sfzhl", next, 9 * 60 + 30) != 0 ||
	    book(st, "huaxin", wid, dept, 0, "amr-qysl", next, 10 * 60) != 0)
		return -1;
	/* The service centre's queue today: A001 at 综合受理窗口一, three waiting. */
	static const struct {
		const char *number, *item, *status;
		int priority, seq, window;
	} tickets[] = {
		{ "A001", "psb-sfzhl", "called", 0, 1, 2 },
		{ "A002", "hrss-syj", "waiting", 0, 2, -1 },
		{ "A003", "psb-sfzhl", "waiting", 0, 3, -1 },
		{ "A004", "tax-fply", "waiting", 0, 4, -1 },
	};
	for (size_t i = 0; i < sizeof tickets / sizeof tickets[0]; i++) {
		int called = strcmp(tickets[i].status, "called") == 0;
		struct sval v[] = { SVI(dept[2]), SVI(today), SVT(tickets[i].number), SVI(tickets[i].priority),
				    SVI(tickets[i].seq), SVT(tickets[i].item), SVT(tickets[i].status),
				    tickets[i].window >= 0 ? SVI(wid[tickets[i].window]) : SVN, SVI(called ? 1 : 0),
				    called ? SVI(now) : SVN, SVI(now) };
		if (store_exec(st, sql_ticket, v, 11, NULL) != STORE_OK)
			return -1;
	}
	struct sval sv[] = { SVI(dept[2]), SVI(today), SVT("A"), SVI(4) };
	if (store_exec(st, sql_seq, sv, 4, NULL) != STORE_OK)
		return -1;
	return 0;
}
