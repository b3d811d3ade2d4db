/*
 * appoint: appointments (预约) and the hall queue (取号、叫号) of the
 * service hall.
 *
 *   /admin/hall/windows[/{id}|/new]       windows (窗口) of a department's hall, the items
 *                                         each serves and its slot templates (dept admins)
 *   /hall/items/{code}/appoint            the next 10 working days' free slots; POST books
 *   /hall/appointments                    我的预约; POST .../{id}/reschedule, .../{id}/cancel
 *   /hall/queue/take                      the kiosk: a walk-in number (A001 ...) for an item,
 *                                         or a priority number (P001 ...) for a booking
 *   /hall/queue/counter?window=ID         the staff's counter: 叫下一位, 重呼, 过号, 完成
 *   /hall/queue/screen?dept=ID            the calling screen (叫号屏) for a TV; web/queue.js
 *                                         polls /api/v1/hall/queue/screen every 2 s
 *   /api/v1/hall/...                      the same as JSON
 *
 * Slots are not rows: a slot is a window, a working day and a start time
 * that the window's template produces ("W-YYYYMMDD-HHMM", e.g.
 * "3-20261123-0930").  Templates say, per weekday (1 = Monday ... 7 =
 * Sunday), from when to when, every how many minutes, how many people a
 * slot; an adjusted working day (调休) on a weekend with no template of its
 * own uses Monday's.  Slots exist only on working days of the calendar
 * (calendar_load), from today up to the 10th working day.
 *
 * Capacity: hall_slot_usage holds the places taken per slot; a booking
 * takes one with a conditional UPDATE (booked < capacity) inside the
 * request's transaction, so of two people racing for the last place one
 * gets it and the other 409 APPT_SLOT_FULL (SQLite serialises the writers;
 * on PostgreSQL the UPDATE's row lock does).  One active booking per person
 * and item is also a partial unique index.
 *
 * Queue numbers are per department (its hall) and day, taken from
 * hall_queue_seq with an upsert.  A window calls the next waiting number of
 * an item it serves: priority (booked) numbers first, then by number;
 * calling the next one completes the one being called.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"
#include "core/account.h"
#include "core/audit.h"
#include "core/calendar.h"
#include "core/crypto.h"
#include "core/desk.h"
#include "core/log.h"
#include "core/notify.h"
#include "core/xalloc.h"
#include "engines/case/procdef.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define APPT_DAYS 10          /* working days offered, today included */
#define MY_MAX 50
#define SCREEN_WAITING 8
#define SCREEN_RECENT 6
#define WINDOW_ITEMS_MAX 50
#define SCHEDULE_MAX 28       /* template lines */
#define CODE_LEN 9            /* booking code: 8 characters and a check character */

enum stmt {
	S_ITEM_WINDOWS, S_ITEM_TPLS, S_ITEM_USAGE, S_WIN_FOR_ITEM, S_WIN_TPLS,
	S_USAGE_INIT, S_USAGE_TAKE, S_USAGE_FREE,
	S_APPT_MISSED, S_APPT_ACTIVE, S_CODE_USED, S_APPT_INSERT, S_APPT_GET, S_APPT_BY_CODE, S_APPT_MINE,
	S_APPT_MOVE, S_APPT_STATUS, S_DESK_APPTS,
	S_WIN_LIST, S_WIN_GET, S_WIN_ITEMS, S_WIN_CODE_TAKEN, S_WIN_INSERT, S_WIN_UPDATE, S_WIN_ITEMS_DEL,
	S_WIN_ITEM_ADD, S_WIN_SLOTS_DEL, S_WIN_SLOT_ADD, S_ITEM_EXISTS, S_ADMIN_DEPTS,
	S_DEPT_NAME, S_Q_ITEMS, S_Q_ITEM_HERE, S_Q_SEQ, S_Q_INSERT, S_Q_AHEAD, S_Q_HALLS, S_Q_CURRENT,
	S_Q_NEXT, S_Q_CALL, S_Q_RECALL, S_Q_FINISH, S_Q_SCREEN_WIN, S_Q_WAITING, S_Q_WAIT_COUNT, S_Q_RECENT,
	S_Q_WIN_WAITING, S_STAFF_WINDOWS, S_DESK_QUEUE,
	S__MAX
};

#define APPT_COLS "SELECT a.id, a.code, a.user_id, a.item_code, a.dept_id, a.window_id, a.day, a.start_min, " \
	"a.end_min, a.starts_at, a.ends_at, a.status, i.name, w.code, w.name, d.name FROM hall_appointments a " \
	"JOIN hall_windows w ON w.id = a.window_id JOIN departments d ON d.id = a.dept_id " \
	"LEFT JOIN hall_items i ON i.code = a.item_code "

static const char *const sql[S__MAX] = {
	[S_ITEM_WINDOWS] = "SELECT w.id, w.code, w.name, w.dept_id, d.name FROM hall_windows w "
			   "JOIN hall_window_items wi ON wi.window_id = w.id JOIN departments d ON d.id = w.dept_id "
			   "WHERE wi.item_code = $1 AND w.active = 1 ORDER BY w.dept_id, w.code, w.id",
	[S_ITEM_TPLS] = "SELECT s.window_id, s.weekday, s.start_min, s.end_min, s.step_min, s.capacity "
			"FROM hall_window_slots s JOIN hall_window_items wi ON wi.window_id = s.window_id "
			"JOIN hall_windows w ON w.id = s.window_id WHERE wi.item_code = $1 AND w.active = 1 "
			"ORDER BY s.window_id, s.weekday, s.start_min",
	[S_ITEM_USAGE] = "SELECT u.window_id, u.day, u.start_min, u.booked FROM hall_slot_usage u "
			 "JOIN hall_window_items wi ON wi.window_id = u.window_id "
			 "WHERE wi.item_code = $1 AND u.day >= $2 AND u.day <= $3",
	[S_WIN_FOR_ITEM] = "SELECT w.dept_id, w.code, w.name, d.name FROM hall_windows w "
			   "JOIN hall_window_items wi ON wi.window_id = w.id JOIN departments d ON d.id = w.dept_id "
			   "WHERE w.id = $1 AND wi.item_code = $2 AND w.active = 1",
	[S_WIN_TPLS] = "SELECT window_id, weekday, start_min, end_min, step_min, capacity FROM hall_window_slots "
		       "WHERE window_id = $1 ORDER BY weekday, start_min",
	[S_USAGE_INIT] = "INSERT INTO hall_slot_usage (window_id, day, start_min, booked) VALUES ($1, $2, $3, 0) "
			 "ON CONFLICT (window_id, day, start_min) DO NOTHING",
	[S_USAGE_TAKE] = "UPDATE hall_slot_usage SET booked = booked + 1 "
			 "WHERE window_id = $1 AND day = $2 AND start_min = $3 AND booked < $4",
	[S_USAGE_FREE] = "UPDATE hall_slot_usage SET booked = booked - 1 "
			 "WHERE window_id = $1 AND day = $2 AND start_min = $3 AND booked > 0",
	[S_APPT_MISSED] = "UPDATE hall_appointments SET status = 'missed', updated_at = $3 "
			  "WHERE user_id = $1 AND item_code = $2 AND status = 'booked' AND ends_at <= $3",
	[S_APPT_ACTIVE] = "SELECT id FROM hall_appointments WHERE user_id = $1 AND item_code = $2 AND status = 'booked'",
	[S_CODE_USED] = "SELECT COUNT(*) FROM hall_appointments WHERE code = $1",
	[S_APPT_INSERT] = "INSERT INTO hall_appointments (code, user_id, item_code, dept_id, window_id, day, start_min, "
			  "end_min, starts_at, ends_at, status, created_at, updated_at) "
			  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $11) RETURNING id",
	[S_APPT_GET] = APPT_COLS "WHERE a.id = $1",
	[S_APPT_BY_CODE] = APPT_COLS "WHERE a.code = $1",
	[S_APPT_MINE] = APPT_COLS "WHERE a.user_id = $1 ORDER BY a.starts_at DESC, a.id DESC LIMIT $2",
	[S_APPT_MOVE] = "UPDATE hall_appointments SET window_id = $2, dept_id = $3, day = $4, start_min = $5, "
			"end_min = $6, starts_at = $7, ends_at = $8, updated_at = $9 WHERE id = $1 AND status = 'booked'",
	[S_APPT_STATUS] = "UPDATE hall_appointments SET status = $2, ticket_id = $3, updated_at = $4 "
			  "WHERE id = $1 AND status = 'booked'",
	[S_DESK_APPTS] = "SELECT a.id, a.day, a.start_min, i.name, w.name, d.name FROM hall_appointments a "
			 "JOIN hall_windows w ON w.id = a.window_id JOIN departments d ON d.id = a.dept_id "
			 "LEFT JOIN hall_items i ON i.code = a.item_code "
			 "WHERE a.user_id = $1 AND a.status = 'booked' AND a.ends_at > $2 ORDER BY a.starts_at LIMIT 5",
	[S_WIN_LIST] = "SELECT w.id, w.dept_id, d.name, w.code, w.name, w.active, "
		       "(SELECT COUNT(*) FROM hall_window_items wi WHERE wi.window_id = w.id) "
		       "FROM hall_windows w JOIN departments d ON d.id = w.dept_id "
		       "WHERE $2 = 1 OR w.dept_id IN (SELECT dept_id FROM user_roles WHERE user_id = $1 "
		       "AND role = 'dept_admin') ORDER BY w.dept_id, w.code, w.id LIMIT 500",
	[S_WIN_GET] = "SELECT w.id, w.dept_id, w.code, w.name, w.active, d.name FROM hall_windows w "
		      "JOIN departments d ON d.id = w.dept_id WHERE w.id = $1",
	[S_WIN_ITEMS] = "SELECT item_code FROM hall_window_items WHERE window_id = $1 ORDER BY item_code",
	[S_WIN_CODE_TAKEN] = "SELECT COUNT(*) FROM hall_windows WHERE dept_id = $1 AND code = $2 AND id <> $3",
	[S_WIN_INSERT] = "INSERT INTO hall_windows (dept_id, code, name, active, updated_at) "
			 "VALUES ($1, $2, $3, $4, $5) RETURNING id",
	[S_WIN_UPDATE] = "UPDATE hall_windows SET code = $2, name = $3, active = $4, updated_at = $5 WHERE id = $1",
	[S_WIN_ITEMS_DEL] = "DELETE FROM hall_window_items WHERE window_id = $1",
	[S_WIN_ITEM_ADD] = "INSERT INTO hall_window_items (window_id, item_code) VALUES ($1, $2) "
			   "ON CONFLICT (window_id, item_code) DO NOTHING",
	[S_WIN_SLOTS_DEL] = "DELETE FROM hall_window_slots WHERE window_id = $1",
	[S_WIN_SLOT_ADD] = "INSERT INTO hall_window_slots (window_id, weekday, start_min, end_min, step_min, capacity) "
			   "VALUES ($1, $2, $3, $4, $5, $6)",
	[S_ITEM_EXISTS] = "SELECT COUNT(*) FROM hall_items WHERE code = $1",
	[S_ADMIN_DEPTS] = "SELECT d.id, d.name FROM departments d WHERE $2 = 1 OR d.id IN "
			  "(SELECT dept_id FROM user_roles WHERE user_id = $1 AND role = 'dept_admin') ORDER BY d.id",
	[S_DEPT_NAME] = "SELECT name FROM departments WHERE id = $1",
	[S_Q_ITEMS] = "SELECT DISTINCT wi.item_code, i.name FROM hall_window_items wi "
		      "JOIN hall_windows w ON w.id = wi.window_id JOIN hall_items i ON i.code = wi.item_code "
		      "WHERE w.dept_id = $1 AND w.active = 1 AND i.status = 'published' ORDER BY wi.item_code",
	[S_Q_ITEM_HERE] = "SELECT COUNT(*) FROM hall_window_items wi JOIN hall_windows w ON w.id = wi.window_id "
			  "WHERE w.dept_id = $1 AND w.active = 1 AND wi.item_code = $2",
	[S_Q_SEQ] = "INSERT INTO hall_queue_seq (dept_id, day, prefix, last_seq) VALUES ($1, $2, $3, 1) "
		    "ON CONFLICT (dept_id, day, prefix) DO UPDATE SET last_seq = hall_queue_seq.last_seq + 1 "
		    "RETURNING last_seq",
	[S_Q_INSERT] = "INSERT INTO hall_queue_tickets (dept_id, day, number, priority, seq, item_code, appointment_id, "
		       "status, calls, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'waiting', 0, $8) RETURNING id",
	[S_Q_AHEAD] = "SELECT COUNT(*) FROM hall_queue_tickets WHERE dept_id = $1 AND day = $2 AND status = 'waiting' "
		      "AND (priority > $3 OR (priority = $3 AND seq < $4))",
	[S_Q_HALLS] = "SELECT DISTINCT d.id, d.name FROM departments d JOIN hall_windows w ON w.dept_id = d.id "
		      "WHERE w.active = 1 ORDER BY d.id",
	[S_Q_CURRENT] = "SELECT id, number, calls FROM hall_queue_tickets WHERE window_id = $1 AND day = $2 "
			"AND status = 'called' ORDER BY called_at DESC, id DESC LIMIT 1",
	[S_Q_NEXT] = "SELECT t.id, t.number FROM hall_queue_tickets t WHERE t.dept_id = $1 AND t.day = $2 "
		     "AND t.status = 'waiting' AND t.item_code IN (SELECT item_code FROM hall_window_items "
		     "WHERE window_id = $3) ORDER BY t.priority DESC, t.seq, t.id LIMIT 1",
	[S_Q_CALL] = "UPDATE hall_queue_tickets SET status = 'called', window_id = $2, calls = 1, called_at = $3 "
		     "WHERE id = $1 AND status = 'waiting'",
	[S_Q_RECALL] = "UPDATE hall_queue_tickets SET calls = calls + 1, called_at = $2 WHERE id = $1 AND status = 'called'",
	[S_Q_FINISH] = "UPDATE hall_queue_tickets SET status = $2, finished_at = $3 WHERE id = $1 AND status = 'called'",
	[S_Q_SCREEN_WIN] = "SELECT w.id, w.code, w.name, t.number, t.calls, t.called_at FROM hall_windows w "
			   "LEFT JOIN hall_queue_tickets t ON t.window_id = w.id AND t.day = $2 AND t.status = 'called' "
			   "WHERE w.dept_id = $1 AND w.active = 1 ORDER BY w.code, w.id, t.called_at DESC",
	[S_Q_WAITING] = "SELECT number FROM hall_queue_tickets WHERE dept_id = $1 AND day = $2 AND status = 'waiting' "
			"ORDER BY priority DESC, seq, id LIMIT $3",
	[S_Q_WAIT_COUNT] = "SELECT COUNT(*) FROM hall_queue_tickets WHERE dept_id = $1 AND day = $2 AND status = 'waiting'",
	[S_Q_RECENT] = "SELECT t.number, w.code, w.name, t.called_at FROM hall_queue_tickets t "
		       "JOIN hall_windows w ON w.id = t.window_id WHERE t.dept_id = $1 AND t.day = $2 "
		       "AND t.called_at IS NOT NULL ORDER BY t.called_at DESC, t.id DESC LIMIT $3",
	[S_Q_WIN_WAITING] = "SELECT COUNT(*) FROM hall_queue_tickets t WHERE t.dept_id = $1 AND t.day = $2 "
			    "AND t.status = 'waiting' AND t.item_code IN (SELECT item_code FROM hall_window_items "
			    "WHERE window_id = $3)",
	[S_STAFF_WINDOWS] = "SELECT w.id, w.code, w.name, d.name, w.dept_id FROM hall_windows w "
			    "JOIN departments d ON d.id = w.dept_id WHERE w.active = 1 AND ($2 = 1 OR w.dept_id IN "
			    "(SELECT dept_id FROM user_roles WHERE user_id = $1 AND role IN ('staff', 'dept_admin'))) "
			    "ORDER BY w.dept_id, w.code, w.id LIMIT 500",
	[S_DESK_QUEUE] = "SELECT w.dept_id, d.name, COUNT(*) FROM hall_queue_tickets t "
			 "JOIN hall_windows w ON w.dept_id = t.dept_id JOIN departments d ON d.id = w.dept_id "
			 "WHERE t.day = $2 AND t.status = 'waiting' AND w.id = (SELECT MIN(x.id) FROM hall_windows x "
			 "WHERE x.dept_id = t.dept_id) AND t.dept_id IN (SELECT dept_id FROM user_roles "
			 "WHERE user_id = $1 AND role IN ('staff', 'dept_admin')) GROUP BY w.dept_id, d.name",
};

/* ------------------------------------------------------------ helpers */

/* A failure answered with the field named: the form again on pages with one, JSON on the API. */
static void fail(struct req *r, int status, enum msg_id why, const char *field)
{
	struct input_error e;
	memset(&e, 0, sizeof e);
	e.status = status;
	e.msg = why;
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	resp_input_error(r, &e);
}

static void fail_detail(struct req *r, int status, enum msg_id why, const char *field, const char *detail)
{
	struct input_error e;
	memset(&e, 0, sizeof e);
	e.status = status;
	e.msg = why;
	snprintf(e.field, sizeof e.field, "%s", field ? field : "");
	snprintf(e.detail, sizeof e.detail, "%s", detail ? detail : "");
	resp_input_error(r, &e);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static cal_day today(void)
{
	return cal_day_of(time(NULL));
}

/* The Unix time of minute min of day in the server's time zone. */
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

static const char *hhmm(struct req *r, int min)
{
	return arena_printf(r->arena, "%02d:%02d", min / 60, min % 60);
}

/* "11月23日 周一" */
static const char *day_label(struct req *r, cal_day day)
{
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	return arena_printf(r->arena, "%d月%d日 %s", m, d, cal_weekday_label(day));
}

static const char *day_iso(struct req *r, cal_day day)
{
	char s[11];
	cal_day_format(day, s);
	return arena_strdup(r->arena, s);
}

/* "W-YYYYMMDD-HHMM" */
static const char *slot_key(struct req *r, int64_t window, cal_day day, int min)
{
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	return arena_printf(r->arena, "%lld-%04d%02d%02d-%02d%02d", (long long)window, y, m, d, min / 60, min % 60);
}

static int digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Parses a slot key; 0 or -1. */
static int slot_parse(const char *s, int64_t *window, cal_day *day, int *min)
{
	if (s == NULL)
		return -1;
	char *end = NULL;
	long long w = strtoll(s, &end, 10);
	if (end == s || w <= 0 || *end != '-' || strlen(end) != 14 || end[9] != '-')
		return -1;
	int y, m, d, hh, mm;
	if (digits(end + 1, 4, &y) || digits(end + 5, 2, &m) || digits(end + 7, 2, &d) ||
	    digits(end + 10, 2, &hh) || digits(end + 12, 2, &mm))
		return -1;
	/* digits() bounds y to 4 digits and m, d to 2; the buffer has room to spare. */
	char iso[32];
	snprintf(iso, sizeof iso, "%04d-%02d-%02d", y, m, d);
	if (cal_day_parse(iso, day) != 0 || hh > 23 || mm > 59)
		return -1;
	*window = w;
	*min = hh * 60 + mm;
	return 0;
}

/* One template line of a window. */
struct tpl {
	int64_t window;
	int weekday, start, end, step, cap;
};

static struct tpl *tpl_rows(struct req *r, struct store_res *res, int *n)
{
	*n = store_res_rows(res);
	struct tpl *t = arena_alloc(r->arena, sizeof *t * (size_t)(*n + 1));
	for (int i = 0; i < *n; i++) {
		t[i].window = store_res_int(res, i, 0);
		t[i].weekday = (int)store_res_int(res, i, 1);
		t[i].start = (int)store_res_int(res, i, 2);
		t[i].end = (int)store_res_int(res, i, 3);
		t[i].step = (int)store_res_int(res, i, 4);
		t[i].cap = (int)store_res_int(res, i, 5);
	}
	return t;
}

/* The template weekday a working day uses: its own, or Monday's for a weekend 调休 day without one. */
static int tpl_weekday(const struct tpl *t, int n, int64_t window, cal_day day)
{
	int wd = cal_weekday(day) + 1;
	for (int i = 0; i < n; i++)
		if (t[i].window == window && t[i].weekday == wd)
			return wd;
	return wd >= 6 ? 1 : wd;
}

/* The working days offered: today and on, APPT_DAYS of them; returns how many (≤ APPT_DAYS). */
static int offered_days(const struct calendar *cal, cal_day from, cal_day out[APPT_DAYS])
{
	int n = 0;
	for (cal_day d = from; n < APPT_DAYS && d < from + 120; d++)
		if (calendar_is_workday(cal, d))
			out[n++] = d;
	return n;
}

/* A checked slot of an item. */
struct slot {
	int64_t window, dept;
	cal_day day;
	int start, end, cap;
	int64_t starts_at, ends_at;
	const char *window_code, *window_name, *dept_name;
};

/*
 * Checks that key is a bookable slot of item_code: a window serving the
 * item, a working day within the offered days, a start its template makes,
 * not past.  0 with *s, or -1 after answering (400 naming field, or 500).
 */
static int slot_check(struct req *r, const char *item_code, const char *key, const char *field, struct slot *s)
{
	memset(s, 0, sizeof *s);
	if (slot_parse(key, &s->window, &s->day, &s->start) != 0) {
		fail(r, 400, MSG_APPT_SLOT_BAD, field);
		return -1;
	}
	struct store_res *res = NULL;
	struct sval v[] = { SVI(s->window), SVT(item_code) };
	if (store_query(r->st, sql[S_WIN_FOR_ITEM], v, 2, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (store_res_rows(res) != 1) {
		store_res_free(res);
		fail(r, 400, MSG_APPT_SLOT_UNKNOWN, field);
		return -1;
	}
	s->dept = store_res_int(res, 0, 0);
	s->window_code = arena_strdup(r->arena, store_res_text(res, 0, 1));
	s->window_name = arena_strdup(r->arena, store_res_text(res, 0, 2));
	s->dept_name = arena_strdup(r->arena, store_res_text(res, 0, 3));
	store_res_free(res);

	struct calendar *cal = NULL;
	if (calendar_load(r->st, &cal) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	cal_day days[APPT_DAYS];
	int nd = offered_days(cal, today(), days);
	int workday = calendar_is_workday(cal, s->day);
	calendar_free(cal);
	if (!workday) {
		fail(r, 400, MSG_APPT_NOT_WORKDAY, field);
		return -1;
	}
	s->starts_at = local_at(s->day, s->start);
	if (s->starts_at <= now_s()) {
		fail(r, 400, MSG_APPT_SLOT_PAST, field);
		return -1;
	}
	if (nd == 0 || s->day > days[nd - 1]) {
		fail(r, 400, MSG_APPT_SLOT_TOO_FAR, field);
		return -1;
	}
	struct sval w[] = { SVI(s->window) };
	if (store_query(r->st, sql[S_WIN_TPLS], w, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	int n = 0;
	struct tpl *t = tpl_rows(r, res, &n);
	store_res_free(res);
	int wd = tpl_weekday(t, n, s->window, s->day);
	for (int i = 0; i < n; i++) {
		if (t[i].weekday != wd || t[i].step <= 0 || s->start < t[i].start ||
		    (s->start - t[i].start) % t[i].step != 0 || s->start + t[i].step > t[i].end)
			continue;
		s->end = s->start + t[i].step;
		s->cap = t[i].cap;
		s->ends_at = local_at(s->day, s->end);
		return 0;
	}
	fail(r, 400, MSG_APPT_SLOT_UNKNOWN, field);
	return -1;
}

/* Takes a place in s; 0, 1 when full, -1 on a store failure. */
static int place_take(struct req *r, const struct slot *s)
{
	struct sval v[] = { SVI(s->window), SVI(s->day), SVI(s->start), SVI(s->cap) };
	int64_t changes = 0;
	if (store_exec(r->st, sql[S_USAGE_INIT], v, 3, NULL) != STORE_OK ||
	    store_exec(r->st, sql[S_USAGE_TAKE], v, 4, &changes) != STORE_OK)
		return -1;
	return changes == 1 ? 0 : 1;
}

static int place_free(struct req *r, int64_t window, int64_t day, int64_t start)
{
	struct sval v[] = { SVI(window), SVI(day), SVI(start) };
	return store_exec(r->st, sql[S_USAGE_FREE], v, 3, NULL) == STORE_OK ? 0 : -1;
}

/*
 * The offered slots of an item: [{date, label, windows:[{id, code, name, dept_name,
 * slots:[{slot, start, end, free, full, checked}]}]}] with only days that have
 * slots; current (may be NULL) is checked.  NULL on a store failure.
 */
static json_t *item_slots(struct req *r, const char *item_code, const char *current)
{
	struct calendar *cal = NULL;
	if (calendar_load(r->st, &cal) != 0)
		return NULL;
	cal_day days[APPT_DAYS];
	int nd = offered_days(cal, today(), days);
	calendar_free(cal);
	struct store_res *wres = NULL, *tres = NULL, *ures = NULL;
	struct sval v[] = { SVT(item_code), SVI(nd ? days[0] : 0), SVI(nd ? days[nd - 1] : 0) };
	if (store_query(r->st, sql[S_ITEM_WINDOWS], v, 1, &wres) != STORE_OK ||
	    store_query(r->st, sql[S_ITEM_TPLS], v, 1, &tres) != STORE_OK ||
	    store_query(r->st, sql[S_ITEM_USAGE], v, 3, &ures) != STORE_OK) {
		store_res_free(wres);
		store_res_free(tres);
		return NULL;
	}
	int nt = 0;
	struct tpl *t = tpl_rows(r, tres, &nt);
	store_res_free(tres);
	int64_t now = now_s();
	json_t *out = json_array();
	for (int k = 0; k < nd; k++) {
		json_t *wins = json_array();
		for (int w = 0; w < store_res_rows(wres); w++) {
			int64_t wid = store_res_int(wres, w, 0);
			int wd = tpl_weekday(t, nt, wid, days[k]);
			json_t *slots = json_array();
			for (int i = 0; i < nt; i++) {
				if (t[i].window != wid || t[i].weekday != wd || t[i].step <= 0)
					continue;
				for (int m = t[i].start; m + t[i].step <= t[i].end; m += t[i].step) {
					if (local_at(days[k], m) <= now)
						continue;
					int64_t booked = 0;
					for (int u = 0; u < store_res_rows(ures); u++)
						if (store_res_int(ures, u, 0) == wid && store_res_int(ures, u, 1) == days[k] &&
						    store_res_int(ures, u, 2) == m)
							booked = store_res_int(ures, u, 3);
					int64_t avail = t[i].cap - booked;
					if (avail < 0)
						avail = 0;
					const char *key = slot_key(r, wid, days[k], m);
					json_array_append_new(slots, json_pack("{s:s,s:s,s:s,s:I,s:b,s:b}", "slot", key,
									       "start", hhmm(r, m), "end",
									       hhmm(r, m + t[i].step), "free",
									       (json_int_t)avail, "full", avail == 0,
									       "checked", current && strcmp(current, key) == 0));
				}
			}
			if (json_array_size(slots) == 0) {
				json_decref(slots);
				continue;
			}
			json_array_append_new(wins, json_pack("{s:I,s:s,s:s,s:s,s:o}", "id", (json_int_t)wid, "code",
							      store_res_text(wres, w, 1), "name", store_res_text(wres, w, 2),
							      "dept_name", store_res_text(wres, w, 4), "slots", slots));
		}
		if (json_array_size(wins) == 0) {
			json_decref(wins);
			continue;
		}
		json_array_append_new(out, json_pack("{s:s,s:s,s:o}", "date", day_iso(r, days[k]), "label",
						     day_label(r, days[k]), "windows", wins));
	}
	store_res_free(wres);
	store_res_free(ures);
	return out;
}

/* Appends an audit entry in r's transaction; detail (stolen, may be NULL). 0 or -1. */
static int audit(struct req *r, const char *action, const char *object, int64_t dept, json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	struct audit_entry e = { r->who.user_id, r->who.user_id ? r->who.login : "anonymous", action, object, dept,
				 r->ip, d };
	int rc = audit_append(r->st, &e);
	free(d);
	return rc;
}

/* A booking code: 8 characters of an unambiguous set and a check character (MOD 31 weighted). */
void hall_appoint_code(char out[10])
{
	static const char set[] = "23456789ABCDEFGHJKLMNPQRTUVWXYZ";   /* 31: no 0 1 I O S */
	unsigned sum = 0;
	for (int i = 0; i < CODE_LEN - 1; i++) {
		uint32_t k = random_uniform(31);
		out[i] = set[k];
		sum += k * (unsigned)(i + 2);
	}
	out[CODE_LEN - 1] = set[sum % 31];
	out[CODE_LEN] = '\0';
}

/* ------------------------------------------------------ appointments */

static const char *status_label(const char *s)
{
	if (strcmp(s, "booked") == 0)
		return "已预约";
	if (strcmp(s, "cancelled") == 0)
		return "已取消";
	if (strcmp(s, "checked_in") == 0)
		return "已取号";
	if (strcmp(s, "missed") == 0)
		return "已过期";
	return s;
}

/* An appointment row (APPT_COLS) as JSON for its owner. */
static json_t *appt_json(struct req *r, struct store_res *res, int i)
{
	cal_day day = (cal_day)store_res_int(res, i, 6);
	int start = (int)store_res_int(res, i, 7), end = (int)store_res_int(res, i, 8);
	const char *status = store_res_text(res, i, 11);
	int booked = strcmp(status, "booked") == 0;
	int changeable = booked && store_res_int(res, i, 9) > now_s();
	if (booked && store_res_int(res, i, 10) <= now_s())
		status = "missed";
	const char *item_name = store_res_text(res, i, 12);
	return json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "id",
			 (json_int_t)store_res_int(res, i, 0), "code", store_res_text(res, i, 1), "item_code",
			 store_res_text(res, i, 3), "item_name", item_name ? item_name : store_res_text(res, i, 3),
			 "dept_id", (json_int_t)store_res_int(res, i, 4), "dept_name", store_res_text(res, i, 15),
			 "window_id", (json_int_t)store_res_int(res, i, 5), "window_code", store_res_text(res, i, 13),
			 "window_name", store_res_text(res, i, 14), "date", day_iso(r, day), "date_label",
			 day_label(r, day), "start", hhmm(r, start), "end", hhmm(r, end), "status", status,
			 "changeable", changeable, "status_label", status_label(status));
}

/* The appointment id of r's user; 0 with *out (APPT_COLS), or -1 after answering 404/500. */
static int appt_mine(struct req *r, int64_t id, struct store_res **out)
{
	*out = NULL;
	struct sval v[] = { SVI(id) };
	if (store_query(r->st, sql[S_APPT_GET], v, 1, out) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (store_res_rows(*out) != 1 || store_res_int(*out, 0, 2) != r->who.user_id) {
		store_res_free(*out);
		*out = NULL;
		resp_error(r, 404, MSG_APPT_NOT_FOUND, NULL);
		return -1;
	}
	return 0;
}

/* A booked appointment not yet started; answers 409 and returns -1 otherwise. */
static int appt_changeable(struct req *r, struct store_res *a)
{
	if (strcmp(store_res_text(a, 0, 11), "booked") != 0) {
		resp_error(r, 409, MSG_APPT_NOT_ACTIVE, NULL);
		return -1;
	}
	if (store_res_int(a, 0, 9) <= now_s()) {
		resp_error(r, 409, MSG_APPT_STARTED, NULL);
		return -1;
	}
	return 0;
}

static int appt_notify(struct req *r, int64_t user, int64_t id, enum msg_id title, const char *item,
		       const struct slot *s, const char *code, const char *what)
{
	const char *body = s ? arena_printf(r->arena, "%s：%s %s–%s，%s %s（%s）。预约码 %s，请在预约当天凭预约码到大厅取号。",
					    item, day_label(r, s->day), hhmm(r, s->start), hhmm(r, s->end),
					    s->dept_name, s->window_name, s->window_code, code)
			     : arena_printf(r->arena, "%s：预约码 %s 的预约已取消。", item, code);
	const char *dedup = arena_printf(r->arena, "appt:%lld:%s:%lld", (long long)id, what, (long long)now_s());
	return notify_user(r->st, user, "hall.appointment", msg(title), body, "/hall/appointments", dedup);
}

/* Books item_code at slot key for r's user in r's transaction: the new id, or -1 after answering. */
static int64_t book(struct req *r, const char *item_code, const char *key, const char **code_out)
{
	json_t *item = hall_item_json(r->st, 0, item_code);
	if (item == NULL || strcmp(hall_jstr0(item, "status"), "published") != 0) {
		json_decref(item);
		resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
		return -1;
	}
	const char *item_name = arena_strdup(r->arena, hall_jstr0(item, "name"));
	json_decref(item);
	int64_t now = now_s(), existing = 0;
	struct sval mv[] = { SVI(r->who.user_id), SVT(item_code), SVI(now) };
	int q;
	if (store_exec(r->st, sql[S_APPT_MISSED], mv, 3, NULL) != STORE_OK ||
	    (q = store_query_int(r->st, sql[S_APPT_ACTIVE], mv, 2, &existing)) == STORE_ERR) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (q == STORE_OK) {
		fail(r, 409, MSG_APPT_ALREADY, "slot");
		return -1;
	}
	struct slot s;
	if (slot_check(r, item_code, key, "slot", &s) != 0)
		return -1;
	int rc = place_take(r, &s);
	if (rc != 0) {
		if (rc < 0)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		else
			fail(r, 409, MSG_APPT_SLOT_FULL, "slot");
		return -1;
	}
	char code[CODE_LEN + 1];
	for (int tries = 0;; tries++) {
		int64_t used = 0;
		hall_appoint_code(code);
		struct sval cv[] = { SVT(code) };
		if (store_query_int(r->st, sql[S_CODE_USED], cv, 1, &used) != STORE_OK || tries > 8) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		if (used == 0)
			break;
	}
	int64_t id = 0;
	struct sval iv[] = { SVT(code), SVI(r->who.user_id), SVT(item_code), SVI(s.dept), SVI(s.window),
			     SVI(s.day), SVI(s.start), SVI(s.end), SVI(s.starts_at), SVI(s.ends_at), SVI(now) };
	int irc = store_query_int(r->st, sql[S_APPT_INSERT], iv, 11, &id);
	if (irc == STORE_CONSTRAINT) {
		fail(r, 409, MSG_APPT_ALREADY, "slot");
		return -1;
	}
	char obj[48];
	snprintf(obj, sizeof obj, "hall_appointment:%lld", (long long)id);
	if (irc != STORE_OK ||
	    audit(r, "hall.appointment_book", obj, s.dept,
		  json_pack("{s:s,s:s}", "item", item_code, "slot", key)) != 0 ||
	    appt_notify(r, r->who.user_id, id, MSG_APPT_NOTIFY_BOOKED, item_name, &s, code, "book") != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (code_out)
		*code_out = arena_strdup(r->arena, code);
	return id;
}

/* Moves appointment id to slot key: 0, or -1 after answering. */
static int reschedule(struct req *r, int64_t id, const char *key)
{
	struct store_res *a = NULL;
	if (appt_mine(r, id, &a) != 0)
		return -1;
	int rc = -1;
	if (appt_changeable(r, a) != 0)
		goto out;
	const char *item_code = arena_strdup(r->arena, store_res_text(a, 0, 3));
	struct slot s;
	if (slot_check(r, item_code, key, "slot", &s) != 0)
		goto out;
	if (s.window == store_res_int(a, 0, 5) && s.day == store_res_int(a, 0, 6) && s.start == store_res_int(a, 0, 7)) {
		fail(r, 400, MSG_APPT_SAME_SLOT, "slot");
		goto out;
	}
	int t = place_take(r, &s);
	if (t != 0) {
		if (t < 0)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		else
			fail(r, 409, MSG_APPT_SLOT_FULL, "slot");
		goto out;
	}
	struct sval v[] = { SVI(id), SVI(s.window), SVI(s.dept), SVI(s.day), SVI(s.start), SVI(s.end),
			    SVI(s.starts_at), SVI(s.ends_at), SVI(now_s()) };
	char obj[48];
	snprintf(obj, sizeof obj, "hall_appointment:%lld", (long long)id);
	const char *name = store_res_text(a, 0, 12) ? store_res_text(a, 0, 12) : item_code;
	if (place_free(r, store_res_int(a, 0, 5), store_res_int(a, 0, 6), store_res_int(a, 0, 7)) != 0 ||
	    store_exec(r->st, sql[S_APPT_MOVE], v, 9, NULL) != STORE_OK ||
	    audit(r, "hall.appointment_move", obj, s.dept, json_pack("{s:s,s:s}", "item", item_code, "slot", key)) ||
	    appt_notify(r, r->who.user_id, id, MSG_APPT_NOTIFY_MOVED, name, &s, store_res_text(a, 0, 1), "move")) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	rc = 0;
out:
	store_res_free(a);
	return rc;
}

/* Cancels appointment id: 0, or -1 after answering. */
static int cancel(struct req *r, int64_t id)
{
	struct store_res *a = NULL;
	if (appt_mine(r, id, &a) != 0)
		return -1;
	int rc = -1;
	if (appt_changeable(r, a) != 0)
		goto out;
	struct sval v[] = { SVI(id), SVT("cancelled"), SVN, SVI(now_s()) };
	char obj[48];
	snprintf(obj, sizeof obj, "hall_appointment:%lld", (long long)id);
	const char *name = store_res_text(a, 0, 12) ? store_res_text(a, 0, 12) : store_res_text(a, 0, 3);
	if (place_free(r, store_res_int(a, 0, 5), store_res_int(a, 0, 6), store_res_int(a, 0, 7)) != 0 ||
	    store_exec(r->st, sql[S_APPT_STATUS], v, 4, NULL) != STORE_OK ||
	    audit(r, "hall.appointment_cancel", obj, store_res_int(a, 0, 4),
		  json_pack("{s:s}", "item", store_res_text(a, 0, 3))) ||
	    appt_notify(r, r->who.user_id, id, MSG_APPT_NOTIFY_CANCELLED, name, NULL, store_res_text(a, 0, 1),
			"cancel")) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		goto out;
	}
	rc = 0;
out:
	store_res_free(a);
	return rc;
}

/* The item of the booking page, published; answers 404 and returns NULL otherwise. */
static json_t *published_item(struct req *r, const char *code)
{
	json_t *item = hall_item_json(r->st, 0, code);
	if (item == NULL || strcmp(hall_jstr0(item, "status"), "published") != 0) {
		json_decref(item);
		resp_error(r, 404, MSG_HALL_ITEM_NOT_FOUND, NULL);
		return NULL;
	}
	return item;
}

/* The booking page's context: title, item, days, has_slots, action, idem (+ appt when rescheduling). */
static int appoint_ctx(struct req *r, json_t *ctx, json_t *item, const char *action, const char *current)
{
	json_t *days = item_slots(r, hall_jstr0(item, "code"), current);
	if (days == NULL)
		return -1;
	json_object_set_new(ctx, "item", json_pack("{s:s,s:s,s:s}", "code", hall_jstr0(item, "code"), "name",
						   hall_jstr0(item, "name"), "dept_name", hall_jstr0(item, "dept_name")));
	json_object_set_new(ctx, "has_slots", json_boolean(json_array_size(days) > 0));
	json_t *first = json_array_get(days, 0);
	if (first)
		json_object_set_new(first, "open", json_true());
	json_object_set_new(ctx, "days", days);
	json_object_set_new(ctx, "action", json_string(action));
	json_object_set_new(ctx, "days_offered", json_integer(APPT_DAYS));
	if (json_object_get(ctx, "idem") == NULL) {
		char idem[33];
		random_hex(idem, 16);
		json_object_set_new(ctx, "idem", json_string(idem));
	}
	return 0;
}

/* GET /hall/items/{code}/appoint */
static void page_appoint(struct req *r)
{
	json_t *item = published_item(r, req_param(r, "code"));
	if (item == NULL)
		return;
	json_t *ctx = json_pack("{s:s}", "title", arena_printf(r->arena, "预约办理：%s", hall_jstr0(item, "name")));
	const char *action = arena_printf(r->arena, "/hall/items/%s/appoint", hall_jstr0(item, "code"));
	if (appoint_ctx(r, ctx, item, action, NULL) != 0) {
		json_decref(ctx);
		resp_error(r, 500, MSG_HTTP_500, NULL);
	} else {
		resp_page(r, 200, "hall/appoint", ctx);
	}
	json_decref(item);
}

/* The booking form again after an error (form_fill of the POST routes). */
static void appoint_fill(struct req *r, json_t *ctx)
{
	const char *code = req_param(r, "code");
	json_t *item = NULL;
	const char *action = NULL;
	if (code != NULL) {
		item = hall_item_json(r->st, 0, code);
		action = arena_printf(r->arena, "/hall/items/%s/appoint", code);
	} else {
		int64_t id = 0;
		const char *p = req_param(r, "id");
		id = p ? strtoll(p, NULL, 10) : 0;
		struct store_res *res = NULL;
		struct sval v[] = { SVI(id) };
		if (store_query(r->st, sql[S_APPT_GET], v, 1, &res) == STORE_OK && store_res_rows(res) == 1 &&
		    store_res_int(res, 0, 2) == r->who.user_id) {
			item = hall_item_json(r->st, 0, store_res_text(res, 0, 3));
			json_object_set_new(ctx, "appt", appt_json(r, res, 0));
			action = arena_printf(r->arena, "/hall/appointments/%lld/reschedule", (long long)id);
		}
		store_res_free(res);
	}
	if (item == NULL)
		return;
	json_object_set_new(ctx, "title", json_string(arena_printf(r->arena, "%s：%s",
								    code ? "预约办理" : "改约", hall_jstr0(item, "name"))));
	if (appoint_ctx(r, ctx, item, action, req_in_str(r, "slot")) != 0)
		log_error("appoint: slots of %s could not be read", hall_jstr0(item, "code"));
	json_decref(item);
}

/* POST /hall/items/{code}/appoint */
static void do_appoint(struct req *r)
{
	const char *code = NULL;
	if (book(r, req_param(r, "code"), req_in_str(r, "slot"), &code) < 0)
		return;
	notify_kick();
	resp_redirect(r, arena_printf(r->arena, "/hall/appointments?done=booked&code=%s", code));
}

/* The user's appointments, newest first; NULL after answering 500. */
static json_t *my_appointments(struct req *r)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id), SVI(MY_MAX) };
	if (store_query(r->st, sql[S_APPT_MINE], v, 2, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return NULL;
	}
	json_t *items = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(items, appt_json(r, res, i));
	store_res_free(res);
	return items;
}

/* GET /hall/appointments  ctx: items [appt_json], done, code */
static void page_my(struct req *r)
{
	json_t *items = my_appointments(r);
	if (items == NULL)
		return;
	const char *done = req_in_str(r, "done");
	const char *text = NULL;
	if (done && strcmp(done, "booked") == 0)
		text = "预约成功。";
	else if (done && strcmp(done, "moved") == 0)
		text = "已改约到新的时段。";
	else if (done && strcmp(done, "cancelled") == 0)
		text = "预约已取消。";
	json_t *ctx = json_pack("{s:s,s:o}", "title", "我的预约", "items", items);
	if (text)
		json_object_set_new(ctx, "done", json_string(text));
	if (req_in_str(r, "code") && text)
		json_object_set_new(ctx, "code", json_string(req_in_str(r, "code")));
	resp_page(r, 200, "hall/appointments", ctx);
}

static int path_id(struct req *r, int64_t *id)
{
	return req_param_id(r, "id", id);
}

/* GET /hall/appointments/{id}/reschedule */
static void page_reschedule(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0)
		return;
	struct store_res *a = NULL;
	if (appt_mine(r, id, &a) != 0)
		return;
	if (appt_changeable(r, a) != 0) {
		store_res_free(a);
		return;
	}
	json_t *item = hall_item_json(r->st, 0, store_res_text(a, 0, 3));
	json_t *ctx = json_pack("{s:s,s:o}", "title", arena_printf(r->arena, "改约：%s", hall_jstr0(item, "name")),
				"appt", appt_json(r, a, 0));
	const char *action = arena_printf(r->arena, "/hall/appointments/%lld/reschedule", (long long)id);
	store_res_free(a);
	if (item == NULL || appoint_ctx(r, ctx, item, action, NULL) != 0) {
		json_decref(ctx);
		resp_error(r, 500, MSG_HTTP_500, NULL);
	} else {
		resp_page(r, 200, "hall/appoint", ctx);
	}
	json_decref(item);
}

/* POST /hall/appointments/{id}/reschedule */
static void do_reschedule(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0 || reschedule(r, id, req_in_str(r, "slot")) != 0)
		return;
	notify_kick();
	resp_redirect(r, "/hall/appointments?done=moved");
}

/* POST /hall/appointments/{id}/cancel */
static void do_cancel(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0 || cancel(r, id) != 0)
		return;
	notify_kick();
	resp_redirect(r, "/hall/appointments?done=cancelled");
}

/* One appointment of r's user as JSON (after a write), or NULL. */
static json_t *appt_by_id(struct req *r, int64_t id)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(id) };
	json_t *o = NULL;
	if (store_query(r->st, sql[S_APPT_GET], v, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		o = appt_json(r, res, 0);
	store_res_free(res);
	return o;
}

/* GET /api/v1/hall/items/{code}/slots */
static void api_slots(struct req *r)
{
	json_t *item = published_item(r, req_param(r, "code"));
	if (item == NULL)
		return;
	json_t *days = item_slots(r, hall_jstr0(item, "code"), NULL);
	if (days == NULL) {
		json_decref(item);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	size_t i, k;
	json_t *d, *w;
	json_array_foreach(days, i, d) {
		json_array_foreach(json_object_get(d, "windows"), k, w) {
			size_t j;
			json_t *s;
			json_array_foreach(json_object_get(w, "slots"), j, s)
				json_object_del(s, "checked");
		}
	}
	resp_json(r, 200, json_pack("{s:s,s:s,s:o}", "item", hall_jstr0(item, "code"), "item_name", hall_jstr0(item, "name"),
				     "days", days));
	json_decref(item);
}

/* POST /api/v1/hall/appointments {item, slot} */
static void api_book(struct req *r)
{
	int64_t id = book(r, req_in_str(r, "item"), req_in_str(r, "slot"), NULL);
	if (id < 0)
		return;
	json_t *a = appt_by_id(r, id);
	if (a == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	notify_kick();
	r->location = arena_printf(r->arena, "/api/v1/hall/appointments/%lld", (long long)id);
	resp_json(r, 201, a);
}

/* GET /api/v1/hall/appointments */
static void api_my(struct req *r)
{
	json_t *items = my_appointments(r);
	if (items == NULL)
		return;
	resp_json(r, 200, json_pack("{s:o,s:n}", "items", items, "next"));
}

/* POST /api/v1/hall/appointments/{id}/reschedule {slot} */
static void api_reschedule(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0 || reschedule(r, id, req_in_str(r, "slot")) != 0)
		return;
	notify_kick();
	resp_json(r, 200, appt_by_id(r, id));
}

/* POST /api/v1/hall/appointments/{id}/cancel */
static void api_cancel(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0 || cancel(r, id) != 0)
		return;
	notify_kick();
	resp_json(r, 200, appt_by_id(r, id));
}

/* -------------------------------------------------------------- windows */

static int can_admin(struct req *r, int64_t dept)
{
	if (r->who.user_id == 0 || r->who.half || dept <= 0)
		return 0;
	if (r->who.roles & ROLEBIT_PLATFORM_ADMIN)
		return 1;
	return account_has_role(r->st, r->who.user_id, dept, "dept_admin") == 1;
}

static int platform(struct req *r)
{
	return (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
}

/* The departments r's user administers: [{id, name, selected}]. */
static json_t *admin_depts(struct req *r, int64_t selected)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id), SVI(platform(r)) };
	if (store_query(r->st, sql[S_ADMIN_DEPTS], v, 2, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(out, json_pack("{s:I,s:s,s:b}", "id", (json_int_t)store_res_int(res, i, 0), "name",
						     store_res_text(res, i, 1),
						     "selected", store_res_int(res, i, 0) == selected));
	store_res_free(res);
	return out;
}

static const char *const weekday_names[] = { "", "周一", "周二", "周三", "周四", "周五", "周六", "周日" };

/* Parses "HH:MM" into minutes; -1 when bad. */
static int parse_hhmm(const char *s, size_t n)
{
	int h, m;
	if (n != 5 || s[2] != ':' || digits(s, 2, &h) || digits(s + 3, 2, &m) || h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r'))
		(*n)--;
}

/*
 * The schedule text of a window: one line "星期 | HH:MM-HH:MM | 每段分钟 | 每段人数",
 * 星期 as 1-5, 1,3,5 or 6 (1 = 周一 ... 7 = 周日); blank lines and "#" lines skipped.
 * 0 with the rows appended to out (arena), or -1 with why ("第 N 行：...").
 */
static int schedule_parse(struct req *r, const char *text, struct tpl *out, int *n, char why[160])
{
	*n = 0;
	int line = 0;
	for (const char *p = text ? text : ""; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *l = p;
		p = nl ? nl + 1 : p + len;
		line++;
		trim(&l, &len);
		if (len == 0 || *l == '#')
			continue;
		const char *part[5];
		size_t plen[5];
		int np = 0;
		for (const char *q = l, *e = l + len; np < 5;) {
			const char *bar = memchr(q, '|', (size_t)(e - q));
			part[np] = q;
			plen[np] = bar ? (size_t)(bar - q) : (size_t)(e - q);
			trim(&part[np], &plen[np]);
			np++;
			if (!bar)
				break;
			q = bar + 1;
		}
		if (np != 4) {
			snprintf(why, 160, "第 %d 行：须为“星期 | 开始-结束 | 每段分钟 | 每段人数”四部分", line);
			return -1;
		}
		int days[8] = { 0 };
		const char *d = part[0];
		size_t dl = plen[0];
		for (size_t i = 0; i < dl;) {
			if (d[i] < '1' || d[i] > '7')
				goto bad_days;
			int a = d[i] - '0', b = a;
			i++;
			if (i < dl && d[i] == '-') {
				if (i + 1 >= dl || d[i + 1] < '1' || d[i + 1] > '7')
					goto bad_days;
				b = d[i + 1] - '0';
				i += 2;
			}
			if (b < a)
				goto bad_days;
			for (int k = a; k <= b; k++)
				days[k] = 1;
			if (i < dl && d[i] != ',')
				goto bad_days;
			if (i < dl)
				i++;
		}
		const char *dash = memchr(part[1], '-', plen[1]);
		int start = dash ? parse_hhmm(part[1], (size_t)(dash - part[1])) : -1;
		int end = dash ? parse_hhmm(dash + 1, plen[1] - (size_t)(dash - part[1]) - 1) : -1;
		if (start < 0 || end < 0 || end <= start) {
			snprintf(why, 160, "第 %d 行：时间须为“09:00-12:00”的形式，结束晚于开始", line);
			return -1;
		}
		char num[16];
		int step = 0, cap = 0;
		snprintf(num, sizeof num, "%.*s", (int)(plen[2] < 15 ? plen[2] : 15), part[2]);
		char *endp = NULL;
		long v = strtol(num, &endp, 10);
		if (endp == num || *endp || v < 5 || v > 240 || v > end - start) {
			snprintf(why, 160, "第 %d 行：每段分钟须为 5–240 的整数，且不长于整个时间段", line);
			return -1;
		}
		step = (int)v;
		snprintf(num, sizeof num, "%.*s", (int)(plen[3] < 15 ? plen[3] : 15), part[3]);
		v = strtol(num, &endp, 10);
		if (endp == num || *endp || v < 1 || v > 500) {
			snprintf(why, 160, "第 %d 行：每段人数须为 1–500 的整数", line);
			return -1;
		}
		cap = (int)v;
		for (int k = 1; k <= 7; k++) {
			if (!days[k])
				continue;
			if (*n >= SCHEDULE_MAX) {
				snprintf(why, 160, "第 %d 行：时段设置最多 %d 段（按星期计）", line, SCHEDULE_MAX);
				return -1;
			}
			for (int j = 0; j < *n; j++)
				if (out[j].weekday == k && start < out[j].end && out[j].start < end) {
					snprintf(why, 160, "第 %d 行：%s的时间段与前面的重叠", line, weekday_names[k]);
					return -1;
				}
			struct tpl t = { 0, k, start, end, step, cap };
			out[(*n)++] = t;
		}
		continue;
bad_days:
		snprintf(why, 160, "第 %d 行：星期须写成 1-5、1,3,5 或 6（1 为周一，7 为周日）", line);
		return -1;
	}
	(void)r;
	return 0;
}

/* The schedule back as text: consecutive weekdays with the same line folded ("1-5 | ..."). */
static char *schedule_text(struct req *r, int64_t window)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(window) };
	if (store_query(r->st, sql[S_WIN_TPLS], v, 1, &res) != STORE_OK)
		return arena_strdup(r->arena, "");
	int n = 0;
	struct tpl *t = tpl_rows(r, res, &n);
	store_res_free(res);
	struct buf b = BUF_INIT(64u << 10);
	char *used = arena_alloc(r->arena, (size_t)n + 1);
	for (int i = 0; i < n; i++) {
		if (used[i])
			continue;
		int wd[8] = { 0 };
		for (int j = i; j < n; j++)
			if (!used[j] && t[j].start == t[i].start && t[j].end == t[i].end && t[j].step == t[i].step &&
			    t[j].cap == t[i].cap) {
				wd[t[j].weekday] = 1;
				used[j] = 1;
			}
		int first = 1;
		for (int k = 1; k <= 7; k++) {
			if (!wd[k])
				continue;
			int e = k;
			while (e + 1 <= 7 && wd[e + 1])
				e++;
			buf_addf(&b, first ? "%d" : ",%d", k);
			if (e > k)
				buf_addf(&b, "-%d", e);
			first = 0;
			k = e;
		}
		buf_addf(&b, " | %02d:%02d-%02d:%02d | %d | %d\n", t[i].start / 60, t[i].start % 60, t[i].end / 60,
			 t[i].end % 60, t[i].step, t[i].cap);
	}
	char *s = arena_strndup(r->arena, b.data ? b.data : "", b.len);
	buf_release(&b);
	return s;
}

/* The item codes of a text ("a b,c" or one a line), checked; 0 with *out (arena array, NULL-ended)
 * or -1 with why. */
static int items_parse(struct req *r, const char *text, const char ***out, char why[160])
{
	const char **codes = arena_alloc(r->arena, sizeof *codes * (WINDOW_ITEMS_MAX + 1));
	int n = 0;
	for (const char *p = text ? text : ""; *p;) {
		while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\r' || *p == '\t' || (unsigned char)*p == 0xE3)
			p += (unsigned char)*p == 0xE3 ? 3 : 1;   /* "、" is E3 80 81 */
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != ' ' && *p != ',' && *p != '\n' && *p != '\r' && *p != '\t' && (unsigned char)*p != 0xE3)
			p++;
		char *code = arena_strndup(r->arena, s, (size_t)(p - s));
		int64_t c = 0;
		struct sval v[] = { SVT(code) };
		if (store_query_int(r->st, sql[S_ITEM_EXISTS], v, 1, &c) != STORE_OK || c == 0) {
			snprintf(why, 160, "没有编码为“%.64s”的事项", code);
			return -1;
		}
		if (n >= WINDOW_ITEMS_MAX) {
			snprintf(why, 160, "一个窗口最多办理 %d 个事项", WINDOW_ITEMS_MAX);
			return -1;
		}
		codes[n++] = code;
	}
	codes[n] = NULL;
	*out = codes;
	return 0;
}

/* GET /admin/hall/windows  ctx: windows [{id, dept_name, code, name, active, items}], depts */
static void page_windows(struct req *r)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id), SVI(platform(r)) };
	if (store_query(r->st, sql[S_WIN_LIST], v, 2, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *wins = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(wins, json_pack("{s:I,s:I,s:s,s:s,s:s,s:b,s:I}", "id",
						      (json_int_t)store_res_int(res, i, 0), "dept_id",
						      (json_int_t)store_res_int(res, i, 1), "dept_name",
						      store_res_text(res, i, 2), "code", store_res_text(res, i, 3), "name",
						      store_res_text(res, i, 4), "active", store_res_int(res, i, 5) != 0,
						      "items", (json_int_t)store_res_int(res, i, 6)));
	store_res_free(res);
	json_t *ctx = json_pack("{s:s,s:o}", "title", "大厅窗口", "windows", wins);
	if (req_in_str(r, "saved"))
		json_object_set_new(ctx, "saved", json_true());
	resp_page(r, 200, "hall/appoint_windows", ctx);
}

/* The window form's context: depts, is_new, action (+ values when given). */
static void window_form_fill(struct req *r, json_t *ctx)
{
	const char *p = req_param(r, "id");
	int64_t id = p ? strtoll(p, NULL, 10) : 0;
	json_t *values = json_object_get(ctx, "values");
	json_t *depts = admin_depts(r, values ? hall_jint(values, "dept_id") : 0);
	json_object_set_new(ctx, "depts", depts ? depts : json_array());
	json_object_set_new(ctx, "is_new", json_boolean(id == 0));
	json_object_set_new(ctx, "action", json_string(id ? arena_printf(r->arena, "/admin/hall/windows/%lld",
									 (long long)id)
							   : "/admin/hall/windows"));
	json_object_set_new(ctx, "title", json_string(id ? "编辑窗口" : "新增窗口"));
	if (values && json_object_get(values, "active") == NULL && json_object_get(ctx, "error") != NULL)
		json_object_set_new(values, "active", json_false());
	if (id) {
		struct store_res *res = NULL;
		struct sval v[] = { SVI(id) };
		if (store_query(r->st, sql[S_WIN_GET], v, 1, &res) == STORE_OK && store_res_rows(res) == 1)
			json_object_set_new(ctx, "dept_name", json_string(store_res_text(res, 0, 5)));
		store_res_free(res);
	}
}

/* GET /admin/hall/windows/new */
static void page_window_new(struct req *r)
{
	json_t *ctx = json_pack("{s:{s:b,s:s}}", "values", "active", 1, "schedule",
				"1-5 | 09:00-12:00 | 30 | 2\n1-5 | 13:30-17:00 | 30 | 2\n");
	window_form_fill(r, ctx);
	resp_page(r, 200, "hall/appoint_window_form", ctx);
}

/* GET /admin/hall/windows/{id} */
static void page_window_edit(struct req *r)
{
	int64_t id;
	if (path_id(r, &id) != 0)
		return;
	struct store_res *res = NULL, *ires = NULL;
	struct sval v[] = { SVI(id) };
	if (store_query(r->st, sql[S_WIN_GET], v, 1, &res) != STORE_OK ||
	    store_query(r->st, sql[S_WIN_ITEMS], v, 1, &ires) != STORE_OK) {
		store_res_free(res);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	if (store_res_rows(res) != 1 || !can_admin(r, store_res_int(res, 0, 1))) {
		store_res_free(res);
		store_res_free(ires);
		resp_error(r, 404, MSG_APPT_WINDOW_NOT_FOUND, NULL);
		return;
	}
	struct buf b = BUF_INIT(64u << 10);
	for (int i = 0; i < store_res_rows(ires); i++)
		buf_addf(&b, "%s\n", store_res_text(ires, i, 0));
	json_t *values = json_pack("{s:I,s:s,s:s,s:b,s:s#,s:s}", "dept_id", (json_int_t)store_res_int(res, 0, 1), "code",
				   store_res_text(res, 0, 2), "name", store_res_text(res, 0, 3), "active",
				   store_res_int(res, 0, 4) != 0, "items", b.data ? b.data : "", b.len, "schedule",
				   schedule_text(r, id));
	buf_release(&b);
	store_res_free(res);
	store_res_free(ires);
	json_t *ctx = json_pack("{s:o}", "values", values);
	if (req_in_str(r, "saved"))
		json_object_set_new(ctx, "saved", json_true());
	window_form_fill(r, ctx);
	resp_page(r, 200, "hall/appoint_window_form", ctx);
}

/* Saves a window from the form (id 0 creates): 0 with *out, or -1 after answering. */
static int window_save(struct req *r, int64_t id, int64_t *out)
{
	int64_t dept = req_in_int(r, "dept_id", 0);
	if (id) {
		struct store_res *res = NULL;
		struct sval v[] = { SVI(id) };
		if (store_query(r->st, sql[S_WIN_GET], v, 1, &res) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		int64_t cur = store_res_rows(res) == 1 ? store_res_int(res, 0, 1) : 0;
		store_res_free(res);
		if (cur == 0 || !can_admin(r, cur)) {
			resp_error(r, 404, MSG_APPT_WINDOW_NOT_FOUND, NULL);
			return -1;
		}
		dept = cur;   /* a window stays in its department: its bookings and numbers belong there */
	} else if (!can_admin(r, dept)) {
		resp_error(r, 403, MSG_NOT_YOUR_DEPT, "dept_id");
		return -1;
	}
	const char *code = req_in_str(r, "code");
	int64_t taken = 0;
	struct sval tv[] = { SVI(dept), SVT(code), SVI(id) };
	if (store_query_int(r->st, sql[S_WIN_CODE_TAKEN], tv, 3, &taken) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (taken) {
		fail(r, 409, MSG_APPT_WINDOW_CODE_TAKEN, "code");
		return -1;
	}
	char why[160];
	const char **codes = NULL;
	if (items_parse(r, req_in_str(r, "items"), &codes, why) != 0) {
		fail_detail(r, 400, MSG_APPT_WINDOW_ITEMS_BAD, "items", why);
		return -1;
	}
	struct tpl tpls[SCHEDULE_MAX];
	int nt = 0;
	if (schedule_parse(r, req_in_str(r, "schedule"), tpls, &nt, why) != 0) {
		fail_detail(r, 400, MSG_APPT_SCHEDULE_BAD, "schedule", why);
		return -1;
	}
	int active = req_in_bool(r, "active");
	int64_t now = now_s();
	if (id == 0) {
		struct sval v[] = { SVI(dept), SVT(code), SVT(req_in_str(r, "name")), SVI(active), SVI(now) };
		if (store_query_int(r->st, sql[S_WIN_INSERT], v, 5, &id) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	} else {
		struct sval v[] = { SVI(id), SVT(code), SVT(req_in_str(r, "name")), SVI(active), SVI(now) };
		if (store_exec(r->st, sql[S_WIN_UPDATE], v, 5, NULL) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	struct sval wv[] = { SVI(id) };
	if (store_exec(r->st, sql[S_WIN_ITEMS_DEL], wv, 1, NULL) != STORE_OK ||
	    store_exec(r->st, sql[S_WIN_SLOTS_DEL], wv, 1, NULL) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	for (int i = 0; codes[i]; i++) {
		struct sval v[] = { SVI(id), SVT(codes[i]) };
		if (store_exec(r->st, sql[S_WIN_ITEM_ADD], v, 2, NULL) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	for (int i = 0; i < nt; i++) {
		struct sval v[] = { SVI(id), SVI(tpls[i].weekday), SVI(tpls[i].start), SVI(tpls[i].end),
				    SVI(tpls[i].step), SVI(tpls[i].cap) };
		if (store_exec(r->st, sql[S_WIN_SLOT_ADD], v, 6, NULL) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	char obj[40];
	snprintf(obj, sizeof obj, "hall_window:%lld", (long long)id);
	if (audit(r, "hall.window_save", obj, dept, json_pack("{s:s,s:b}", "code", code, "active", active)) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	*out = id;
	return 0;
}

/* POST /admin/hall/windows */
static void do_window_new(struct req *r)
{
	int64_t id = 0;
	if (window_save(r, 0, &id) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/hall/windows/%lld?saved=1", (long long)id));
}

/* POST /admin/hall/windows/{id} */
static void do_window_edit(struct req *r)
{
	int64_t id = 0, out = 0;
	if (path_id(r, &id) == 0 && window_save(r, id, &out) == 0)
		resp_redirect(r, arena_printf(r->arena, "/admin/hall/windows/%lld?saved=1", (long long)id));
}

/* ---------------------------------------------------------------- queue */

static const char *dept_name(struct req *r, int64_t dept)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(dept) };
	const char *name = NULL;
	if (store_query(r->st, sql[S_DEPT_NAME], v, 1, &res) == STORE_OK && store_res_rows(res) == 1)
		name = arena_strdup(r->arena, store_res_text(res, 0, 0));
	store_res_free(res);
	return name;
}

/* The halls with windows: [{id, name}], or NULL. */
static json_t *halls(struct req *r)
{
	struct store_res *res = NULL;
	if (store_query(r->st, sql[S_Q_HALLS], NULL, 0, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(out, json_pack("{s:I,s:s}", "id", (json_int_t)store_res_int(res, i, 0), "name",
						     store_res_text(res, i, 1)));
	store_res_free(res);
	return out;
}

/* The kiosk's context for dept: dept{id,name}, items [{code,name}]; or halls when dept is 0. */
static int kiosk_ctx(struct req *r, json_t *ctx, int64_t dept)
{
	json_object_set_new(ctx, "title", json_string("取号"));
	if (dept == 0) {
		json_t *h = halls(r);
		if (h == NULL)
			return -1;
		json_object_set_new(ctx, "halls", h);
		return 0;
	}
	const char *name = dept_name(r, dept);
	if (name == NULL)
		return 1;
	struct store_res *res = NULL;
	struct sval v[] = { SVI(dept) };
	if (store_query(r->st, sql[S_Q_ITEMS], v, 1, &res) != STORE_OK)
		return -1;
	json_t *items = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(items, json_pack("{s:s,s:s}", "code", store_res_text(res, i, 0), "name",
						       store_res_text(res, i, 1)));
	store_res_free(res);
	json_object_set_new(ctx, "dept", json_pack("{s:I,s:s}", "id", (json_int_t)dept, "name", name));
	json_object_set_new(ctx, "items", items);
	json_object_set_new(ctx, "title", json_string(arena_printf(r->arena, "取号：%s", name)));
	return 0;
}

/* GET /hall/queue/take?dept=ID */
static void page_take(struct req *r)
{
	json_t *ctx = json_object();
	int rc = kiosk_ctx(r, ctx, req_in_int(r, "dept", 0));
	if (rc != 0) {
		json_decref(ctx);
		if (rc > 0)
			resp_error(r, 404, MSG_QUEUE_DEPT_NOT_FOUND, "dept");
		else
			resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_page(r, 200, "hall/queue_take", ctx);
}

static void take_fill(struct req *r, json_t *ctx)
{
	if (kiosk_ctx(r, ctx, req_in_int(r, "dept", 0)) != 0)
		json_object_set_new(ctx, "halls", json_array());
}

/*
 * Takes a number: for a booking code (priority, in the booking's hall, on its
 * day, before its slot ends) or for an item at a hall.  0 with *ticket
 * {id, number, dept_id, dept_name, item_code, item_name, priority, ahead, date},
 * or -1 after answering.
 */
static int take(struct req *r, json_t **ticket)
{
	const char *code = req_in_str(r, "appointment");
	const char *item = req_in_str(r, "item");
	int64_t dept = req_in_int(r, "dept", 0), appt = 0;
	cal_day day = today();
	int64_t now = now_s();
	int priority = 0;
	if (code != NULL && *code) {
		char up[CODE_LEN + 1];
		size_t n = strlen(code);
		if (n != CODE_LEN) {
			fail(r, 400, MSG_QUEUE_APPT_UNKNOWN, "appointment");
			return -1;
		}
		for (size_t i = 0; i <= n; i++)
			up[i] = (char)((code[i] >= 'a' && code[i] <= 'z') ? code[i] - 32 : code[i]);
		struct store_res *a = NULL;
		struct sval v[] = { SVT(up) };
		if (store_query(r->st, sql[S_APPT_BY_CODE], v, 1, &a) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		enum msg_id why = 0;
		int status = 0;
		if (store_res_rows(a) != 1 || (dept != 0 && store_res_int(a, 0, 4) != dept))
			why = MSG_QUEUE_APPT_UNKNOWN, status = 400;
		else if (strcmp(store_res_text(a, 0, 11), "booked") != 0)
			why = MSG_QUEUE_APPT_USED, status = 409;
		else if (store_res_int(a, 0, 6) != day)
			why = MSG_QUEUE_APPT_NOT_TODAY, status = 409;
		else if (store_res_int(a, 0, 10) <= now)
			why = MSG_QUEUE_APPT_OVER, status = 409;
		if (status) {
			store_res_free(a);
			fail(r, status, why, "appointment");
			return -1;
		}
		appt = store_res_int(a, 0, 0);
		dept = store_res_int(a, 0, 4);
		item = arena_strdup(r->arena, store_res_text(a, 0, 3));
		priority = 1;
		store_res_free(a);
	} else {
		if (dept == 0) {
			fail(r, 400, MSG_QUEUE_DEPT_NOT_FOUND, "dept");
			return -1;
		}
		if (item == NULL || *item == '\0') {
			fail(r, 400, MSG_QUEUE_CHOOSE, "item");
			return -1;
		}
		int64_t here = 0;
		struct sval v[] = { SVI(dept), SVT(item) };
		if (store_query_int(r->st, sql[S_Q_ITEM_HERE], v, 2, &here) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
		if (here == 0) {
			fail(r, dept_name(r, dept) ? 400 : 404,
			     dept_name(r, dept) ? MSG_QUEUE_ITEM_NOT_HERE : MSG_QUEUE_DEPT_NOT_FOUND,
			     dept_name(r, dept) ? "item" : "dept");
			return -1;
		}
	}
	const char *prefix = priority ? "P" : "A";
	int64_t seq = 0, id = 0;
	struct sval sv[] = { SVI(dept), SVI(day), SVT(prefix) };
	if (store_query_int(r->st, sql[S_Q_SEQ], sv, 3, &seq) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	const char *number = arena_printf(r->arena, "%s%03lld", prefix, (long long)seq);
	struct sval iv[] = { SVI(dept), SVI(day), SVT(number), SVI(priority), SVI(seq), SVT(item),
			     appt ? SVI(appt) : SVN, SVI(now) };
	int64_t ahead = 0;
	struct sval av[] = { SVI(dept), SVI(day), SVI(priority), SVI(seq) };
	if (store_query_int(r->st, sql[S_Q_INSERT], iv, 8, &id) != STORE_OK ||
	    store_query_int(r->st, sql[S_Q_AHEAD], av, 4, &ahead) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (appt) {
		struct sval v[] = { SVI(appt), SVT("checked_in"), SVI(id), SVI(now) };
		if (store_exec(r->st, sql[S_APPT_STATUS], v, 4, NULL) != STORE_OK) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return -1;
		}
	}
	char obj[40];
	snprintf(obj, sizeof obj, "hall_ticket:%lld", (long long)id);
	if (audit(r, "hall.queue_take", obj, dept, json_pack("{s:s,s:s}", "number", number, "item", item)) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	json_t *it = hall_item_json(r->st, 0, item);
	*ticket = json_pack("{s:I,s:s,s:I,s:s,s:s,s:s,s:b,s:I,s:s,s:s}", "id", (json_int_t)id, "number", number,
			    "dept_id", (json_int_t)dept, "dept_name", dept_name(r, dept) ? dept_name(r, dept) : "",
			    "item_code", item, "item_name", it ? hall_jstr0(it, "name") : item, "priority", priority,
			    "ahead", (json_int_t)ahead, "date", day_iso(r, day), "taken_at", hhmm(r, (int)((now - local_at(day, 0)) / 60)));
	json_decref(it);
	return 0;
}

/* POST /hall/queue/take: the slip */
static void do_take(struct req *r)
{
	json_t *t = NULL;
	if (take(r, &t) != 0)
		return;
	json_t *ctx = json_pack("{s:s,s:o}", "title", "取号成功", "ticket", t);
	resp_page(r, 200, "hall/queue_ticket", ctx);
}

/* POST /api/v1/hall/queue/take */
static void api_take(struct req *r)
{
	json_t *t = NULL;
	if (take(r, &t) == 0)
		resp_json(r, 201, t);
}

/* The screen of a hall: {dept, date, windows [{id, code, name, number, calls, called_at}],
 * recent [{number, window_code, window_name}], waiting [numbers], waiting_count, stamp}; NULL on failure. */
static json_t *screen_json(struct req *r, int64_t dept, const char *name)
{
	cal_day day = today();
	struct store_res *w = NULL, *wt = NULL, *rc = NULL;
	struct sval v[] = { SVI(dept), SVI(day), SVI(SCREEN_WAITING) };
	struct sval rv[] = { SVI(dept), SVI(day), SVI(SCREEN_RECENT) };
	int64_t count = 0;
	if (store_query(r->st, sql[S_Q_SCREEN_WIN], v, 2, &w) != STORE_OK ||
	    store_query(r->st, sql[S_Q_WAITING], v, 3, &wt) != STORE_OK ||
	    store_query(r->st, sql[S_Q_RECENT], rv, 3, &rc) != STORE_OK ||
	    store_query_int(r->st, sql[S_Q_WAIT_COUNT], v, 2, &count) != STORE_OK) {
		store_res_free(w);
		store_res_free(wt);
		store_res_free(rc);
		return NULL;
	}
	json_t *wins = json_array();
	int64_t last = 0, stamp = 0;
	for (int i = 0; i < store_res_rows(w); i++) {
		int64_t id = store_res_int(w, i, 0);
		if (id == last)
			continue;
		last = id;
		int has = !store_res_isnull(w, i, 3);
		int64_t at = store_res_int(w, i, 5);
		if (at > stamp)
			stamp = at;
		json_t *o = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "code", store_res_text(w, i, 1), "name",
				      store_res_text(w, i, 2));
		json_object_set_new(o, "number", has ? json_string(store_res_text(w, i, 3)) : json_null());
		json_object_set_new(o, "calls", json_integer(has ? store_res_int(w, i, 4) : 0));
		json_object_set_new(o, "called_at", json_integer(has ? at : 0));
		json_array_append_new(wins, o);
	}
	json_t *waiting = json_array();
	for (int i = 0; i < store_res_rows(wt); i++)
		json_array_append_new(waiting, json_string(store_res_text(wt, i, 0)));
	json_t *recent = json_array();
	for (int i = 0; i < store_res_rows(rc); i++)
		json_array_append_new(recent, json_pack("{s:s,s:s,s:s}", "number", store_res_text(rc, i, 0),
							"window_code", store_res_text(rc, i, 1), "window_name",
							store_res_text(rc, i, 2)));
	store_res_free(w);
	store_res_free(wt);
	store_res_free(rc);
	return json_pack("{s:{s:I,s:s},s:s,s:s,s:o,s:o,s:o,s:I,s:I}", "dept", "id", (json_int_t)dept, "name", name,
			 "date", day_iso(r, day), "date_label", day_label(r, day), "windows", wins, "recent", recent,
			 "waiting", waiting, "waiting_count", (json_int_t)count, "stamp", (json_int_t)stamp);
}

/* GET /hall/queue/screen?dept=ID (without dept: the halls to choose from) */
static void page_screen(struct req *r)
{
	int64_t dept = req_in_int(r, "dept", 0);
	if (dept == 0) {
		json_t *h = halls(r);
		if (h == NULL) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		resp_page(r, 200, "hall/queue_screen", json_pack("{s:s,s:o}", "title", "叫号屏", "halls", h));
		return;
	}
	const char *name = dept_name(r, dept);
	if (name == NULL) {
		resp_error(r, 404, MSG_QUEUE_DEPT_NOT_FOUND, "dept");
		return;
	}
	json_t *s = screen_json(r, dept, name);
	if (s == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:o,s:i,s:s,s:b}", "title", arena_printf(r->arena, "叫号屏：%s", name), "screen", s,
				"refresh_seconds", 10, "api", arena_printf(r->arena, "/api/v1/hall/queue/screen?dept=%lld",
									 (long long)dept), "screen_page", 1);
	resp_page(r, 200, "hall/queue_screen", ctx);
}

/* GET /api/v1/hall/queue/screen?dept=ID */
static void api_screen(struct req *r)
{
	int64_t dept = req_in_int(r, "dept", 0);
	const char *name = dept_name(r, dept);
	if (name == NULL) {
		resp_error(r, 404, MSG_QUEUE_DEPT_NOT_FOUND, "dept");
		return;
	}
	json_t *s = screen_json(r, dept, name);
	if (s == NULL)
		resp_error(r, 500, MSG_HTTP_500, NULL);
	else
		resp_json(r, 200, s);
}

/* A window r's user may work at: 0 with *dept (and *name), or -1 after answering. */
static int counter_window(struct req *r, int64_t window, int64_t *dept, json_t **win)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(window) };
	if (store_query(r->st, sql[S_WIN_GET], v, 1, &res) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	if (store_res_rows(res) != 1 || store_res_int(res, 0, 4) == 0) {
		store_res_free(res);
		fail(r, 404, MSG_APPT_WINDOW_NOT_FOUND, "window");
		return -1;
	}
	*dept = store_res_int(res, 0, 1);
	if ((hall_staff_roles(r, *dept) & (PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN)) == 0) {
		store_res_free(res);
		fail(r, 403, MSG_QUEUE_NOT_YOUR_WINDOW, "window");
		return -1;
	}
	if (win)
		*win = json_pack("{s:I,s:I,s:s,s:s,s:s}", "id", (json_int_t)window, "dept_id", (json_int_t)*dept, "code",
				 store_res_text(res, 0, 2), "name", store_res_text(res, 0, 3), "dept_name",
				 store_res_text(res, 0, 5));
	store_res_free(res);
	return 0;
}

static const char *const call_actions[] = { "next", "recall", "skip", "done", NULL };

/*
 * The counter's action at window: next (completes the current number and
 * calls the next waiting one the window serves: priority first, then by
 * number), recall (重呼), skip (过号), done (完成).  0 with *ticket (the number
 * now called, or JSON null when none waits), 1 when there was nothing to do
 * (*why), or -1 after answering.
 */
static int call(struct req *r, int64_t window, const char *action, json_t **ticket, enum msg_id *why)
{
	int64_t dept = 0;
	*ticket = NULL;
	if (counter_window(r, window, &dept, NULL) != 0)
		return -1;
	cal_day day = today();
	int64_t now = now_s();
	struct store_res *cur = NULL;
	struct sval cv[] = { SVI(window), SVI(day) };
	if (store_query(r->st, sql[S_Q_CURRENT], cv, 2, &cur) != STORE_OK) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	int64_t cur_id = store_res_rows(cur) ? store_res_int(cur, 0, 0) : 0;
	const char *cur_no = cur_id ? arena_strdup(r->arena, store_res_text(cur, 0, 1)) : NULL;
	int64_t cur_calls = cur_id ? store_res_int(cur, 0, 2) : 0;
	store_res_free(cur);
	const char *number = NULL;
	int64_t id = 0, calls = 0;
	int rc = -1;
	if (strcmp(action, "next") == 0) {
		if (cur_id) {
			struct sval fv[] = { SVI(cur_id), SVT("done"), SVI(now) };
			if (store_exec(r->st, sql[S_Q_FINISH], fv, 3, NULL) != STORE_OK)
				goto fail500;
		}
		for (int tries = 0; tries < 5 && id == 0; tries++) {
			struct store_res *nx = NULL;
			struct sval nv[] = { SVI(dept), SVI(day), SVI(window) };
			if (store_query(r->st, sql[S_Q_NEXT], nv, 3, &nx) != STORE_OK)
				goto fail500;
			if (store_res_rows(nx) == 0) {
				store_res_free(nx);
				break;
			}
			int64_t cand = store_res_int(nx, 0, 0);
			number = arena_strdup(r->arena, store_res_text(nx, 0, 1));
			store_res_free(nx);
			int64_t changes = 0;
			struct sval uv[] = { SVI(cand), SVI(window), SVI(now) };
			if (store_exec(r->st, sql[S_Q_CALL], uv, 3, &changes) != STORE_OK)
				goto fail500;
			if (changes == 1)
				id = cand, calls = 1;
		}
		if (id == 0) {
			*ticket = json_null();
			*why = MSG_QUEUE_EMPTY;
			rc = cur_id ? 0 : 1;
			goto audit;
		}
	} else {
		if (cur_id == 0) {
			*why = MSG_QUEUE_NONE_CALLED;
			return 1;
		}
		struct sval fv[] = { SVI(cur_id), SVT(strcmp(action, "skip") == 0 ? "skipped" : "done"), SVI(now) };
		struct sval rv[] = { SVI(cur_id), SVI(now) };
		if (strcmp(action, "recall") == 0) {
			if (store_exec(r->st, sql[S_Q_RECALL], rv, 2, NULL) != STORE_OK)
				goto fail500;
			id = cur_id, number = cur_no, calls = cur_calls + 1;
		} else if (store_exec(r->st, sql[S_Q_FINISH], fv, 3, NULL) != STORE_OK) {
			goto fail500;
		}
	}
	rc = 0;
audit:;
	char obj[40];
	snprintf(obj, sizeof obj, "hall_window:%lld", (long long)window);
	if (audit(r, "hall.queue_call", obj, dept,
		  json_pack("{s:s,s:s?,s:s?}", "action", action, "number", number, "previous", cur_no)) != 0)
		goto fail500;
	if (*ticket == NULL)
		*ticket = id ? json_pack("{s:I,s:s,s:I}", "id", (json_int_t)id, "number", number, "calls",
					 (json_int_t)calls)
			     : json_null();
	return rc;
fail500:
	json_decref(*ticket);
	*ticket = NULL;
	resp_error(r, 500, MSG_HTTP_500, NULL);
	return -1;
}

/* The windows r's user may work at: [{id, code, name, dept_name, href}], or NULL. */
static json_t *staff_windows(struct req *r)
{
	struct store_res *res = NULL;
	struct sval v[] = { SVI(r->who.user_id), SVI(0) };
	if (store_query(r->st, sql[S_STAFF_WINDOWS], v, 2, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(out, json_pack("{s:I,s:s,s:s,s:s,s:s,s:I}", "id", (json_int_t)store_res_int(res, i, 0),
						     "code", store_res_text(res, i, 1), "name", store_res_text(res, i, 2),
						     "dept_name", store_res_text(res, i, 3), "href",
						     arena_printf(r->arena, "/hall/queue/counter?window=%lld",
								  (long long)store_res_int(res, i, 0)),
						     "dept_id", (json_int_t)store_res_int(res, i, 4)));
	store_res_free(res);
	return out;
}

static const char *const call_notes[] = { "empty", "none", "called", "recalled", "skipped", "done", NULL };

/* GET /hall/queue/counter?window=ID  ctx: window, current, waiting_count, screen_href, note; or windows */
static void page_counter(struct req *r)
{
	int64_t window = req_in_int(r, "window", 0);
	if (window == 0) {
		json_t *w = staff_windows(r);
		if (w == NULL) {
			resp_error(r, 500, MSG_HTTP_500, NULL);
			return;
		}
		resp_page(r, 200, "hall/queue_counter", json_pack("{s:s,s:o}", "title", "窗口叫号", "windows", w));
		return;
	}
	int64_t dept = 0;
	json_t *win = NULL;
	if (counter_window(r, window, &dept, &win) != 0)
		return;
	cal_day day = today();
	struct store_res *cur = NULL;
	struct sval cv[] = { SVI(window), SVI(day) };
	struct sval wv[] = { SVI(dept), SVI(day), SVI(window) };
	int64_t waiting = 0;
	if (store_query(r->st, sql[S_Q_CURRENT], cv, 2, &cur) != STORE_OK ||
	    store_query_int(r->st, sql[S_Q_WIN_WAITING], wv, 3, &waiting) != STORE_OK) {
		store_res_free(cur);
		json_decref(win);
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	json_t *ctx = json_pack("{s:s,s:o,s:I,s:s}", "title", arena_printf(r->arena, "窗口叫号：%s", hall_jstr0(win, "name")),
				"window", win, "waiting_count", (json_int_t)waiting, "screen_href",
				arena_printf(r->arena, "/hall/queue/screen?dept=%lld", (long long)dept));
	if (store_res_rows(cur))
		json_object_set_new(ctx, "current", json_pack("{s:s,s:I}", "number", store_res_text(cur, 0, 1), "calls",
							      (json_int_t)store_res_int(cur, 0, 2)));
	store_res_free(cur);
	const char *note = req_in_str(r, "note");
	static const char *const texts[] = { "当前没有等候的号码。", "本窗口当前没有正在呼叫的号码。", "已呼叫下一位。",
					     "已重新呼叫。", "已过号。", "已完成。" };
	for (int i = 0; note && call_notes[i]; i++)
		if (strcmp(note, call_notes[i]) == 0)
			json_object_set_new(ctx, i < 2 ? "warning" : "done", json_string(texts[i]));
	resp_page(r, 200, "hall/queue_counter", ctx);
}

/* POST /hall/queue/counter {window, action} */
static void do_counter(struct req *r)
{
	int64_t window = req_in_int(r, "window", 0);
	const char *action = req_in_str(r, "action");
	json_t *t = NULL;
	enum msg_id why = 0;
	int rc = call(r, window, action, &t, &why);
	if (rc < 0)
		return;
	const char *note = rc > 0 ? (why == MSG_QUEUE_EMPTY ? "empty" : "none")
			 : strcmp(action, "next") == 0 ? (json_is_null(t) ? "empty" : "called")
			 : strcmp(action, "recall") == 0 ? "recalled"
			 : strcmp(action, "skip") == 0 ? "skipped" : "done";
	json_decref(t);
	resp_redirect(r, arena_printf(r->arena, "/hall/queue/counter?window=%lld&note=%s", (long long)window, note));
}

/* POST /api/v1/hall/queue/call {window, action}: 200 {ticket} (null when none waits); 409 when
 * recall/skip/done find no number being called. */
static void api_call(struct req *r)
{
	json_t *t = NULL;
	enum msg_id why = 0;
	int rc = call(r, req_in_int(r, "window", 0), req_in_str(r, "action"), &t, &why);
	if (rc < 0)
		return;
	if (rc > 0 && why == MSG_QUEUE_NONE_CALLED) {
		json_decref(t);
		resp_error(r, 409, why, "action");
		return;
	}
	resp_json(r, 200, json_pack("{s:o}", "ticket", t ? t : json_null()));
}

/* ----------------------------------------------------------------- desk */

/* Persons: upcoming appointments.  Staff: numbers waiting today in their halls. */
static int desk_appoint(struct req *r, json_t *items)
{
	if (r->who.user_id == 0 || r->who.half)
		return 0;
	struct store_res *res = NULL;
	if (r->who.kind == ACCT_CITIZEN || r->who.kind == ACCT_ENTERPRISE) {
		struct sval v[] = { SVI(r->who.user_id), SVI(now_s()) };
		if (store_query(r->st, sql[S_DESK_APPTS], v, 2, &res) != STORE_OK)
			return -1;
		for (int i = 0; i < store_res_rows(res); i++) {
			cal_day day = (cal_day)store_res_int(res, i, 1);
			const char *name = store_res_text(res, i, 3) ? store_res_text(res, i, 3) : "预约";
			json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:s}", "kind", "hall.appointment", "title",
							       arena_printf(r->arena, "预约：%s，%s %s，%s %s", name,
									    day_label(r, day),
									    hhmm(r, (int)store_res_int(res, i, 2)),
									    store_res_text(res, i, 5),
									    store_res_text(res, i, 4)),
							       "href", "/hall/appointments", "status", "已预约", "level",
							       "info"));
		}
		store_res_free(res);
		return 0;
	}
	if (r->who.kind != ACCT_STAFF)
		return 0;
	struct sval v[] = { SVI(r->who.user_id), SVI(today()) };
	if (store_query(r->st, sql[S_DESK_QUEUE], v, 2, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++)
		json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "kind", "hall.queue", "title",
						       arena_printf(r->arena, "%s：大厅取号等候", store_res_text(res, i, 1)),
						       "href", "/hall/queue/counter", "status", "等候", "count",
						       (json_int_t)store_res_int(res, i, 2), "level", "info"));
	store_res_free(res);
	return 0;
}

void hall_appoint_register(void)
{
	desk_register(desk_appoint);
}

/* --------------------------------------------------------------- routes */

static const struct field_spec fs_book[] = {
	{ "slot", FT_TEXT, FS_REQUIRED, 1, 40, NULL, "预约时段" },
	{ NULL },
};

static const struct field_spec fs_book_api[] = {
	{ "item", FT_TEXT, FS_REQUIRED, 1, 32, NULL, "事项编码" },
	{ "slot", FT_TEXT, FS_REQUIRED, 1, 40, NULL, "预约时段" },
	{ NULL },
};

static const struct field_spec fs_my[] = {
	{ "done", FT_TEXT, 0, 0, 16, NULL, "结果" },
	{ "code", FT_TEXT, 0, 0, 16, NULL, "预约码" },
	{ NULL },
};

static const struct field_spec fs_dept[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "办事大厅" },
	{ NULL },
};

static const struct field_spec fs_dept_req[] = {
	{ "dept", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "办事大厅" },
	{ NULL },
};

static const struct field_spec fs_take[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "办事大厅" },
	{ "item", FT_TEXT, 0, 0, 32, NULL, "办理事项" },
	{ "appointment", FT_TEXT, 0, 0, 16, NULL, "预约码" },
	{ NULL },
};

static const struct field_spec fs_counter[] = {
	{ "window", FT_INT, 0, 1, INT64_MAX, NULL, "窗口" },
	{ "note", FT_TEXT, 0, 0, 16, NULL, "结果" },
	{ NULL },
};

static const struct field_spec fs_call[] = {
	{ "window", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "窗口" },
	{ "action", FT_CHOICE, FS_REQUIRED, 0, 0, call_actions, "操作" },
	{ NULL },
};

static const struct field_spec fs_saved[] = {
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ NULL },
};

static const struct field_spec fs_window[] = {
	{ "dept_id", FT_INT, 0, 1, INT64_MAX, NULL, "所属部门" },
	{ "code", FT_DEPT_CODE, FS_REQUIRED, 0, 0, NULL, "窗口编号" },
	{ "name", FT_TEXT, FS_REQUIRED, 2, 50, NULL, "窗口名称" },
	{ "active", FT_BOOL, 0, 0, 0, NULL, "启用" },
	{ "items", FT_TEXTAREA, 0, 0, 3000, NULL, "办理事项" },
	{ "schedule", FT_TEXTAREA, 0, 0, 3000, NULL, "预约时段" },
	{ NULL },
};

#define API (RF_API | RF_CSRF)
const struct route hall_appoint_routes[] = {
	{ HM_GET, "/hall/items/{code}/appoint", page_appoint, ROLE_PERSON, 0, NULL, NULL, NULL,
	  "Book an appointment: the next working days' free slots of an item" },
	{ HM_POST, "/hall/items/{code}/appoint", do_appoint, ROLE_PERSON, RF_CSRF | RF_IDEM, fs_book, "hall/appoint",
	  appoint_fill, "Book a slot" },
	{ HM_GET, "/hall/appointments", page_my, ROLE_PERSON, 0, fs_my, NULL, NULL, "My appointments" },
	{ HM_GET, "/hall/appointments/{id}/reschedule", page_reschedule, ROLE_PERSON, 0, NULL, NULL, NULL,
	  "Choose another slot for an appointment" },
	{ HM_POST, "/hall/appointments/{id}/reschedule", do_reschedule, ROLE_PERSON, RF_CSRF, fs_book, "hall/appoint",
	  appoint_fill, "Move an appointment to another slot" },
	{ HM_POST, "/hall/appointments/{id}/cancel", do_cancel, ROLE_PERSON, RF_CSRF, NULL, NULL, NULL,
	  "Cancel an appointment (before its slot starts)" },
	{ HM_GET, "/admin/hall/windows", page_windows, ROLE_DEPT_ADMIN, 0, fs_saved, NULL, NULL,
	  "The hall windows of the departments the user administers" },
	{ HM_POST, "/admin/hall/windows", do_window_new, ROLE_DEPT_ADMIN, RF_CSRF, fs_window,
	  "hall/appoint_window_form", window_form_fill, "Create a window" },
	{ HM_GET, "/admin/hall/windows/new", page_window_new, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL, "New window page" },
	{ HM_GET, "/admin/hall/windows/{id}", page_window_edit, ROLE_DEPT_ADMIN, 0, fs_saved, NULL, NULL,
	  "Edit a window: items served and slot templates" },
	{ HM_POST, "/admin/hall/windows/{id}", do_window_edit, ROLE_DEPT_ADMIN, RF_CSRF, fs_window,
	  "hall/appoint_window_form", window_form_fill, "Update a window" },
	{ HM_GET, "/hall/queue/take", page_take, ROLE_PUBLIC, 0, fs_dept, NULL, NULL,
	  "The kiosk: choose an item or enter a booking code" },
	{ HM_POST, "/hall/queue/take", do_take, ROLE_PUBLIC, RF_CSRF, fs_take, "hall/queue_take", take_fill,
	  "Take a queue number (walk-in for an item, or priority with a booking code)" },
	{ HM_GET, "/hall/queue/counter", page_counter, ROLE_STAFF, 0, fs_counter, NULL, NULL,
	  "A window's counter: call next, recall, skip, done" },
	{ HM_POST, "/hall/queue/counter", do_counter, ROLE_STAFF, RF_CSRF, fs_call, NULL, NULL,
	  "Call the next number, recall, skip or complete" },
	{ HM_GET, "/hall/queue/screen", page_screen, ROLE_PUBLIC, 0, fs_dept, NULL, NULL,
	  "The calling screen of a hall (叫号屏)" },
	{ HM_GET, "/api/v1/hall/items/{code}/slots", api_slots, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "The next 10 working days' slots of an item, with free places" },
	{ HM_GET, "/api/v1/hall/appointments", api_my, ROLE_PERSON, RF_API, NULL, NULL, NULL,
	  "The caller's appointments, newest first" },
	{ HM_POST, "/api/v1/hall/appointments", api_book, ROLE_PERSON, API | RF_IDEM, fs_book_api, NULL, NULL,
	  "Book a slot: {item, slot}; 409 APPT_SLOT_FULL when it is full" },
	{ HM_POST, "/api/v1/hall/appointments/{id}/reschedule", api_reschedule, ROLE_PERSON, API, fs_book, NULL, NULL,
	  "Move an appointment to another slot: {slot}" },
	{ HM_POST, "/api/v1/hall/appointments/{id}/cancel", api_cancel, ROLE_PERSON, API, NULL, NULL, NULL,
	  "Cancel an appointment before its slot starts" },
	{ HM_POST, "/api/v1/hall/queue/take", api_take, ROLE_PUBLIC, API, fs_take, NULL, NULL,
	  "Take a queue number: {dept, item} or {appointment: booking code}" },
	{ HM_GET, "/api/v1/hall/queue/screen", api_screen, ROLE_PUBLIC, RF_API, fs_dept_req, NULL, NULL,
	  "A hall's calling screen: numbers being called at each window, the next waiting" },
	{ HM_POST, "/api/v1/hall/queue/call", api_call, ROLE_STAFF, API, fs_call, NULL, NULL,
	  "A window's action: {window, action: next|recall|skip|done}" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
