/*
 * case: the runtime of the case engine (case.h describes the model).
 *
 * Layout of this file: the clock arithmetic (pure functions over a struct
 * clk and a calendar snapshot), then reading a case row, then the writes
 * (create, act, assign, comment, attach), the reads (JSON, timeline,
 * inbox, tracking look-up) and the sweep.
 */
#include "engines/case/case.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/account.h"
#include "core/audit.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/notify.h"
#include "core/validate.h"
#include "core/xalloc.h"

#define NODAY INT32_MIN          /* a day column that is NULL */
#define NO_DEADLINE INT32_MAX    /* cases.deadline when there is none */
#define ESC_BITS 62              /* escalation rules beyond this never fire */
#define SUBJECT_MAX 200
#define COMMENT_MAX 2000
#define LABEL_MAX 200
#define INBOX_MAX 200

/* ------------------------------------------------------------ the clock */

static time_t (*clock_fn)(void);

void case_set_clock(time_t (*now)(void))
{
	clock_fn = now;
}

static time_t now(void)
{
	return clock_fn ? clock_fn() : time(NULL);
}

/* Values of cases.clock_state. */
enum { CLK_WAIT = 0, CLK_RUN = 1, CLK_PAUSE = 2, CLK_STOP = 3 };
static const char *const clk_names[] = { "wait", "run", "pause", "stop" };

enum { LIM_STAT = 0, LIM_PROM = 1 };

struct clk {
	int state;
	cal_day started, run_since, paused_since;   /* NODAY when not set */
	int used;              /* working days used before run_since */
	int paused;            /* working days paused, all pauses */
	int limit[2];          /* statutory, promised; <= 0: no such clock */
	cal_day deadline[2];   /* NODAY when none */
};

static int clk_used(const struct calendar *cal, const struct clk *c, cal_day today)
{
	if (c->state != CLK_RUN)
		return c->used;
	int n = calendar_workdays_between(cal, c->run_since, today);
	return c->used + (n > 0 ? n : 0);
}

/* While running, each deadline is the day its limit is used up. */
static void clk_deadlines(const struct calendar *cal, struct clk *c)
{
	if (c->state != CLK_RUN)
		return;
	for (int i = 0; i < 2; i++) {
		if (c->limit[i] <= 0)
			c->deadline[i] = NODAY;
		else if (c->limit[i] >= c->used)
			c->deadline[i] = calendar_add_workdays(cal, c->run_since, c->limit[i] - c->used);
		else if (c->deadline[i] == NODAY)
			c->deadline[i] = c->run_since;   /* used up before a pause, day unknown */
	}
}

static cal_day clk_nearest(const struct clk *c)
{
	cal_day d = NO_DEADLINE;
	for (int i = 0; i < 2; i++)
		if (c->deadline[i] != NODAY && c->deadline[i] < d)
			d = c->deadline[i];
	return d;
}

/* ceil(share * limit), robust against 0.1-style binary fractions. */
static int share_of(double share, int limit)
{
	double t = ceil(share * (double)limit - 1e-9);
	return t < 0 ? 0 : t > INT_MAX ? INT_MAX : (int)t;
}

static int light1(double warn, int limit, int used, int started)
{
	if (!started || limit <= 0)
		return CASE_GREEN;
	if (used > limit)
		return CASE_RED;
	if (used >= share_of(warn, limit))
		return CASE_YELLOW;
	return CASE_GREEN;
}

static int clk_light(double warn, const struct clk *c, int used)
{
	int started = c->state != CLK_WAIT;
	int a = light1(warn, c->limit[LIM_STAT], used, started);
	int b = light1(warn, c->limit[LIM_PROM], used, started);
	return a > b ? a : b;
}

/* The escalation rule k's limit index. */
static int esc_lim(const struct pd_escalation *e)
{
	return e->limit == PD_LIMIT_STATUTORY ? LIM_STAT : LIM_PROM;
}

/* The escalation bits of p that are due at used and not in esc. */
static int64_t esc_due(const struct procdef *p, const struct clk *c, int used, int64_t esc)
{
	int64_t due = 0;
	if (c->state != CLK_RUN)
		return 0;
	for (int k = 0; k < p->nesc && k < ESC_BITS; k++) {
		int64_t bit = (int64_t)1 << k;
		int l = c->limit[esc_lim(&p->esc[k])];
		if (!(esc & bit) && l > 0 && used >= share_of(p->esc[k].at, l))
			due |= bit;
	}
	return due;
}

/*
 * The first day on which the light or an escalation of a running clock may
 * change: the day used reaches the smallest threshold above used (yellow at
 * ceil(warn * L), red at L + 1, each unfired escalation at ceil(at * L)).
 * today when an escalation is due already; NO_DEADLINE when nothing is
 * pending or the clock does not run.
 */
static cal_day clk_next_check(const struct calendar *cal, const struct clk *c,
			      const struct procdef *p, int used, int64_t esc, cal_day today)
{
	int best = INT_MAX;
	if (c->state != CLK_RUN)
		return NO_DEADLINE;
	if (esc_due(p, c, used, esc) != 0)
		return today;
	/* Only thresholds that would turn the case's light worse matter. */
	int light = clk_light(p->warn, c, used);
	for (int i = 0; i < 2; i++) {
		int l = c->limit[i];
		if (l <= 0)
			continue;
		int t[2] = { share_of(p->warn, l), l + 1 };
		for (int k = light; k < 2; k++)
			if (t[k] > used && t[k] < best)
				best = t[k];
	}
	for (int k = 0; k < p->nesc && k < ESC_BITS; k++) {
		int l = c->limit[esc_lim(&p->esc[k])];
		int t = l > 0 ? share_of(p->esc[k].at, l) : INT_MAX;
		if (!(esc & ((int64_t)1 << k)) && t > used && t < best)
			best = t;
	}
	if (best == INT_MAX)
		return NO_DEADLINE;
	return calendar_add_workdays(cal, c->run_since, best - c->used);
}

/* 1 when name is one of the comma-separated words of list. */
static int in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	if (list == NULL)
		return 0;
	for (const char *p = list; *p != '\0';) {
		while (*p == ' ' || *p == ',')
			p++;
		const char *e = p;
		while (*e != '\0' && *e != ',' && *e != ' ')
			e++;
		if ((size_t)(e - p) == n && n > 0 && memcmp(p, name, n) == 0)
			return 1;
		p = e;
	}
	return 0;
}

/* What entering state s does to the clock. */
static int target_clock(const struct procdef *p, int s, const char *special_counts)
{
	const struct pd_state *ps = &p->states[s];
	if (ps->flags & PD_STATE_FINAL)
		return CLK_STOP;
	if (ps->flags & PD_STATE_SPECIAL)
		return in_list(special_counts, ps->name) ? CLK_RUN : CLK_PAUSE;
	switch (ps->clock) {
	case PD_CLOCK_WAIT:
		return CLK_WAIT;
	case PD_CLOCK_RUN:
		return CLK_RUN;
	case PD_CLOCK_PAUSE:
		return CLK_PAUSE;
	case PD_CLOCK_STOP:
		return CLK_STOP;
	}
	return CLK_RUN;
}

/* Moves the clock into target on day today, then recomputes the deadlines. */
static void clk_move(const struct calendar *cal, struct clk *c, int target, cal_day today)
{
	int n;
	switch (c->state) {
	case CLK_WAIT:
		if (target == CLK_RUN) {
			c->state = CLK_RUN;
			c->started = c->run_since = today;
			c->used = 0;
		} else if (target == CLK_STOP) {
			c->state = CLK_STOP;
		}
		break;
	case CLK_RUN:
		if (target == CLK_RUN)
			break;
		c->used = clk_used(cal, c, today);
		if (target == CLK_STOP) {
			c->state = CLK_STOP;
		} else {   /* pause, or a waiting state: a started clock is never reset */
			c->state = CLK_PAUSE;
			c->paused_since = today;
		}
		break;
	case CLK_PAUSE:
		if (target == CLK_RUN || target == CLK_STOP) {
			n = calendar_workdays_between(cal, c->paused_since, today);
			c->paused += n > 0 ? n : 0;
			c->paused_since = NODAY;
			c->state = target;
			if (target == CLK_RUN)
				c->run_since = today;
		}
		break;
	default:
		break;
	}
	clk_deadlines(cal, c);
}

/* ------------------------------------------------------------- messages */

static const enum msg_id rc_msg[CASE__MAX] = {
	[CASE_OK] = MSG_NONE,
	[CASE_NOT_FOUND] = MSG_CASE_E_NOT_FOUND,
	[CASE_NO_SUCH_ACTION] = MSG_CASE_E_NO_SUCH_ACTION,
	[CASE_BAD_STATE] = MSG_CASE_E_BAD_STATE,
	[CASE_FORBIDDEN] = MSG_CASE_E_FORBIDDEN,
	[CASE_MISSING_FIELD] = MSG_CASE_E_MISSING_FIELD,
	[CASE_CONFLICT] = MSG_CASE_E_CONFLICT,
	[CASE_BAD_ASSIGNEE] = MSG_CASE_E_BAD_ASSIGNEE,
	[CASE_NO_PROCESS] = MSG_CASE_E_NO_PROCESS,
	[CASE_INVALID] = MSG_CASE_E_INVALID,
	[CASE_STORE] = MSG_HTTP_500,
};

static const char *const rc_names[CASE__MAX] = {
	[CASE_OK] = "OK",
	[CASE_NOT_FOUND] = "NOT_FOUND",
	[CASE_NO_SUCH_ACTION] = "NO_SUCH_ACTION",
	[CASE_BAD_STATE] = "BAD_STATE",
	[CASE_FORBIDDEN] = "FORBIDDEN",
	[CASE_MISSING_FIELD] = "MISSING_FIELD",
	[CASE_CONFLICT] = "CONFLICT",
	[CASE_BAD_ASSIGNEE] = "BAD_ASSIGNEE",
	[CASE_NO_PROCESS] = "NO_PROCESS",
	[CASE_INVALID] = "INVALID",
	[CASE_STORE] = "STORE",
};

const char *case_strerror(enum case_rc rc)
{
	if ((int)rc < 0 || rc >= CASE__MAX)
		return msg(MSG_HTTP_500);
	return msg(rc_msg[rc]);
}

const char *case_rc_name(enum case_rc rc)
{
	if ((int)rc < 0 || rc >= CASE__MAX)
		return "STORE";
	return rc_names[rc];
}

static const char *light_name(int light)
{
	static const char *const names[] = { "green", "yellow", "red" };
	return names[light < 0 || light > 2 ? 0 : light];
}

static const char *light_label(int light)
{
	static const enum msg_id ids[] = { MSG_CASE_LIGHT_GREEN, MSG_CASE_LIGHT_YELLOW,
					   MSG_CASE_LIGHT_RED };
	return msg(ids[light < 0 || light > 2 ? 0 : light]);
}

/* ------------------------------------------------------------------ SQL */

#define CASE_COLS                                                                              \
	"c.id, c.process, c.dept_id, c.applicant_id, c.assignee_id, c.tracking, c.phone_tail, "   \
	"c.subject, c.item_code, c.data, c.state, c.state_final, c.version, c.statutory_days, "    \
	"c.promised_days, c.special_counts, c.clock_state, c.clock_started, c.run_since, "         \
	"c.used_days, c.paused_since, c.paused_days, c.deadline_statutory, c.deadline_promised, " \
	"c.deadline, c.light, c.esc_level, c.created_at, c.updated_at, c.closed_at"

enum case_col {
	K_ID, K_PROCESS, K_DEPT, K_APPLICANT, K_ASSIGNEE, K_TRACKING, K_PHONE, K_SUBJECT, K_ITEM,
	K_DATA, K_STATE, K_FINAL, K_VERSION, K_STAT_DAYS, K_PROM_DAYS, K_SPECIAL, K_CLOCK,
	K_STARTED, K_RUN_SINCE, K_USED, K_PAUSED_SINCE, K_PAUSED_DAYS, K_DL_STAT, K_DL_PROM,
	K_DEADLINE, K_LIGHT, K_ESC, K_CREATED, K_UPDATED, K_CLOSED,
	K_DEPT_NAME, K_APPLICANT_NAME, K_ASSIGNEE_NAME,
};

/* Sweep batch columns. */
enum sweep_col { W_ID, W_VERSION, W_PROCESS, W_USED, W_RUN_SINCE, W_STAT_DAYS, W_PROM_DAYS,
		 W_DL_STAT, W_DL_PROM, W_DEADLINE, W_LIGHT, W_ESC, W_NEXT };

#define INBOX_COLS "id, process, tracking, subject, state, light, deadline, assignee_id, version, created_at"

enum case_stmt {
	S_GET, S_DEPT_EXISTS, S_INSERT, S_EVENT, S_ACT, S_ASSIGN, S_ATTACH, S_ATTACHMENTS,
	S_HISTORY, S_TIMELINE, S_PROCESS_OF, S_BY_TRACKING, S_INBOX, S_INBOX_STATE, S_SWEEP_ALL, S_SWEEP_DUE,
	S_SWEEP_UPDATE,
	S_ESC_CASE, S_DEPT_ADMINS, S_PLATFORM_ADMINS, S__MAX
};

static const char *const sql[S__MAX] = {
	[S_GET] = "SELECT " CASE_COLS ", d.name, a.name, s.name FROM cases c "
		  "JOIN departments d ON d.id = c.dept_id "
		  "LEFT JOIN users a ON a.id = c.applicant_id "
		  "LEFT JOIN users s ON s.id = c.assignee_id WHERE c.id = $1",
	[S_DEPT_EXISTS] = "SELECT COUNT(*) FROM departments WHERE id = $1",
	[S_INSERT] = "INSERT INTO cases (process, dept_id, applicant_id, tracking, phone_tail, subject, "
		     "item_code, data, state, state_final, version, statutory_days, promised_days, "
		     "special_counts, clock_state, clock_started, run_since, used_days, "
		     "deadline_statutory, deadline_promised, deadline, light, next_check, created_at, "
		     "updated_at) "
		     "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 1, $10, $11, $12, $13, $14, $14, 0, "
		     "$15, $16, $17, $18, $20, $19, $19) "
		     "ON CONFLICT (tracking) DO NOTHING RETURNING id",
	[S_EVENT] = "INSERT INTO case_events (case_id, kind, name, from_state, to_state, title, body, "
		    "data, public, actor_id, actor, day, created_at) "
		    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
	[S_ACT] = "UPDATE cases SET state = $3, state_final = $4, version = version + 1, "
		  "clock_state = $5, clock_started = $6, run_since = $7, used_days = $8, "
		  "paused_since = $9, paused_days = $10, deadline_statutory = $11, "
		  "deadline_promised = $12, deadline = $13, light = $14, updated_at = $15, "
		  "closed_at = $16, next_check = $17 WHERE id = $1 AND version = $2",
	[S_ASSIGN] = "UPDATE cases SET assignee_id = $3, version = version + 1, updated_at = $4 "
		     "WHERE id = $1 AND version = $2",
	[S_ATTACH] = "INSERT INTO case_attachments (case_id, file_id, label, public, user_id, event_id, "
		     "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[S_ATTACHMENTS] = "SELECT id, file_id, label, public, user_id, created_at FROM case_attachments "
			  "WHERE case_id = $1 AND (public = 1 OR $2 = 0) ORDER BY id",
	[S_HISTORY] = "SELECT c.id, c.process, c.state, c.tracking, c.subject, e.kind, e.name, e.from_state, "
		      "e.to_state FROM cases c LEFT JOIN case_events e ON e.case_id = c.id "
		      "AND e.kind IN ('created', 'action') WHERE c.id > $1 ORDER BY c.id, e.id",
	[S_TIMELINE] = "SELECT id, kind, name, from_state, to_state, title, body, data, public, "
		       "actor_id, actor, day, created_at FROM case_events "
		       "WHERE case_id = $1 AND (public = 1 OR $2 = 0) ORDER BY id",
	[S_PROCESS_OF] = "SELECT process FROM cases WHERE id = $1",
	[S_BY_TRACKING] = "SELECT id, phone_tail FROM cases WHERE tracking = $1",
	/*
	 * Keyset pagination in two index ranges: the rest of the cursor's deadline
	 * day (deadline = $3 AND id > $4), then the later days (deadline > $3).
	 * Many cases share a deadline day; a row-value comparison would make the
	 * index range start at the day and filter ids, scanning the whole day.
	 */
	[S_INBOX] = "SELECT * FROM (SELECT " INBOX_COLS " FROM cases WHERE dept_id = $1 AND state_final = 0 "
		    "AND light = $2 AND deadline = $3 AND id > $4 AND substr(process, 1, $8) = $7 "
		    "AND (state = $6 OR $6 IS NULL) ORDER BY id LIMIT $5) AS a UNION ALL "
		    "SELECT * FROM (SELECT " INBOX_COLS " FROM cases WHERE dept_id = $1 AND state_final = 0 "
		    "AND light = $2 AND deadline > $3 AND substr(process, 1, $8) = $7 "
		    "AND (state = $6 OR $6 IS NULL) ORDER BY deadline, id LIMIT $5) AS b "
		    "ORDER BY deadline, id LIMIT $5",
	[S_INBOX_STATE] = "SELECT * FROM (SELECT " INBOX_COLS " FROM cases WHERE dept_id = $1 AND state = $6 "
			  "AND state_final = 0 AND light = $2 AND deadline = $3 AND id > $4 "
			  "AND substr(process, 1, $8) = $7 ORDER BY id LIMIT $5) "
			  "AS a UNION ALL SELECT * FROM (SELECT " INBOX_COLS " FROM cases WHERE dept_id = $1 "
			  "AND state = $6 AND state_final = 0 AND light = $2 AND deadline > $3 "
			  "AND substr(process, 1, $8) = $7 "
			  "ORDER BY deadline, id LIMIT $5) AS b ORDER BY deadline, id LIMIT $5",
	[S_SWEEP_ALL] = "SELECT id, version, process, used_days, run_since, statutory_days, "
			"promised_days, deadline_statutory, deadline_promised, deadline, light, esc_level, "
			"next_check FROM cases WHERE clock_state = 1 AND id > $1 ORDER BY id LIMIT $2",
	[S_SWEEP_DUE] = "SELECT id, version, process, used_days, run_since, statutory_days, "
			"promised_days, deadline_statutory, deadline_promised, deadline, light, esc_level, "
			"next_check FROM cases WHERE clock_state = 1 AND next_check <= $3 "
			"AND (next_check, id) > ($4, $1) ORDER BY next_check, id LIMIT $2",
	[S_SWEEP_UPDATE] = "UPDATE cases SET deadline_statutory = $3, deadline_promised = $4, "
			   "deadline = $5, light = $6, esc_level = $7, next_check = $9 "
			   "WHERE id = $1 AND version = $2 AND esc_level = $8 AND clock_state = 1",
	[S_ESC_CASE] = "SELECT assignee_id, dept_id, applicant_id, subject, tracking FROM cases WHERE id = $1",
	[S_DEPT_ADMINS] = "SELECT DISTINCT r.user_id FROM user_roles r JOIN users u ON u.id = r.user_id "
			  "WHERE r.dept_id = $1 AND r.role = 'dept_admin' AND u.disabled = 0 "
			  "ORDER BY r.user_id",
	[S_PLATFORM_ADMINS] = "SELECT DISTINCT r.user_id FROM user_roles r "
			      "JOIN users u ON u.id = r.user_id "
			      "WHERE r.role = 'platform_admin' AND u.disabled = 0 ORDER BY r.user_id",
};

static struct sval day_val(cal_day d)
{
	return d == NODAY ? SVN : SVI(d);
}

static cal_day col_day(const struct store_res *r, int row, int col)
{
	return store_res_isnull(r, row, col) ? NODAY : (cal_day)store_res_int(r, row, col);
}

static json_t *day_json(cal_day d)
{
	char s[11];
	if (d == NODAY || d == NO_DEADLINE)
		return json_null();
	cal_day_format(d, s);
	return json_string(s);
}

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static const char *actor_name(const struct case_actor *who)
{
	return who && who->name ? who->name : "system";
}

static struct sval user_val(int64_t id)
{
	return id > 0 ? SVI(id) : SVN;
}

/* The clock of row i of an S_GET result. */
static void clk_from_row(const struct store_res *r, int i, struct clk *c)
{
	c->state = (int)store_res_int(r, i, K_CLOCK);
	c->started = col_day(r, i, K_STARTED);
	c->run_since = col_day(r, i, K_RUN_SINCE);
	c->paused_since = col_day(r, i, K_PAUSED_SINCE);
	c->used = (int)store_res_int(r, i, K_USED);
	c->paused = (int)store_res_int(r, i, K_PAUSED_DAYS);
	c->limit[LIM_STAT] = (int)store_res_int(r, i, K_STAT_DAYS);
	c->limit[LIM_PROM] = (int)store_res_int(r, i, K_PROM_DAYS);
	c->deadline[LIM_STAT] = col_day(r, i, K_DL_STAT);
	c->deadline[LIM_PROM] = col_day(r, i, K_DL_PROM);
	if (c->state < CLK_WAIT || c->state > CLK_STOP)
		c->state = CLK_STOP;
}

/* Loads one case: CASE_OK with *out, CASE_NOT_FOUND or CASE_STORE. */
static enum case_rc load_case(struct store *st, int64_t id, struct store_res **out)
{
	struct sval v[] = { SVI(id) };
	*out = NULL;
	if (store_query(st, sql[S_GET], v, 1, out) != STORE_OK)
		return CASE_STORE;
	if (store_res_rows(*out) == 0) {
		store_res_free(*out);
		*out = NULL;
		return CASE_NOT_FOUND;
	}
	return CASE_OK;
}

static enum case_rc load_calendar(struct store *st, struct calendar **cal)
{
	if (calendar_load(st, cal) != 0) {
		log_error("case: cannot load the calendar");
		return CASE_STORE;
	}
	return CASE_OK;
}

/* Appends an event; *event_id (may be NULL) gets its id. */
static enum case_rc add_event(struct store *st, int64_t case_id, const char *kind, const char *name,
			      const char *from, const char *to, const char *title, const char *body,
			      const char *data, int public, const struct case_actor *who,
			      cal_day day, int64_t *event_id)
{
	int64_t eid = 0;
	struct sval v[] = { SVI(case_id), SVT(kind), SVT(name), SVT(from), SVT(to), SVT(title),
			    SVT(body), SVT(data), SVI(public ? 1 : 0),
			    user_val(who ? who->user_id : 0), SVT(actor_name(who)), SVI(day),
			    SVI(now()) };
	if (store_query_int(st, sql[S_EVENT], v, 13, &eid) != STORE_OK)
		return CASE_STORE;
	if (event_id != NULL)
		*event_id = eid;
	return CASE_OK;
}

static enum case_rc audit(struct store *st, const struct case_actor *who, const char *action,
			  int64_t case_id, int64_t dept_id, json_t *detail)
{
	char object[32];
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	snprintf(object, sizeof object, "case:%lld", (long long)case_id);
	struct audit_entry e = { who ? who->user_id : 0, actor_name(who), action, object, dept_id,
				 NULL, d };
	int rc = audit_append(st, &e);
	free(d);
	json_decref(detail);
	return rc == 0 ? CASE_OK : CASE_STORE;
}

/* "<subject>（办件编号 K7M3-Q9TR-2X）：<what>" for a notification body. */
static char *notice_body(const char *subject, const char *tracking, const char *what)
{
	struct buf b = BUF_INIT(8192);
	char pr[CASE_TRACKING_PRINT_LEN + 1];
	case_tracking_print(tracking ? tracking : "", pr);
	if (buf_addf(&b, "%s（%s %s）", subject ? subject : "", msg(MSG_CASE_TRACKING), pr) != 0 ||
	    (what && *what && buf_addf(&b, "：%s", what) != 0)) {
		buf_release(&b);
		return xstrdup("");
	}
	return buf_detach(&b, NULL);
}

static enum case_rc notify(struct store *st, int64_t user, const char *kind, enum msg_id title,
			   const char *body, int64_t case_id, const char *what,
			   int64_t dedup_n)
{
	char link[48], dedup[96];
	if (user <= 0)
		return CASE_OK;
	snprintf(link, sizeof link, "/cases/%lld", (long long)case_id);
	snprintf(dedup, sizeof dedup, "case:%lld:%s:%lld", (long long)case_id, what,
		 (long long)dedup_n);
	return notify_user(st, user, kind, msg(title), body, link, dedup) == 0 ? CASE_OK : CASE_STORE;
}

/* ------------------------------------------------------------- creation */

static int phone_tail_ok(const char *s)
{
	if (s == NULL || strlen(s) != 4)
		return 0;
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int text_ok(const char *s, size_t max_chars, int multiline)
{
	return s != NULL && validate_text(s, strlen(s), 1, max_chars, multiline) == MSG_NONE;
}

enum case_rc case_create(struct store *st, const struct case_new *n, const struct case_actor *who,
			 int64_t *id, char tracking[CASE_TRACKING_LEN + 1])
{
	enum case_rc rc = CASE_INVALID;
	struct calendar *cal = NULL;
	char *data = NULL;
	const struct procdef *p;
	int64_t cid = 0, ndept = 0;
	struct clk c = { .state = CLK_WAIT, .started = NODAY, .run_since = NODAY,
			 .paused_since = NODAY, .deadline = { NODAY, NODAY } };

	if (n == NULL || n->dept_id <= 0 || !text_ok(n->subject, SUBJECT_MAX, 0) ||
	    n->statutory_days < 0 || n->promised_days < 0 ||
	    (n->phone_tail != NULL && !phone_tail_ok(n->phone_tail)) ||
	    (n->item_code != NULL && !text_ok(n->item_code, 100, 0)) ||
	    (n->special_counts != NULL && strlen(n->special_counts) > 1000))
		goto out;
	p = procdef_get(n->process);
	if (p == NULL) {
		rc = CASE_NO_PROCESS;
		goto out;
	}
	struct sval dv[] = { SVI(n->dept_id) };
	rc = CASE_STORE;
	if (store_query_int(st, sql[S_DEPT_EXISTS], dv, 1, &ndept) != STORE_OK)
		goto out;
	if (ndept == 0) {
		rc = CASE_INVALID;
		goto out;
	}
	if ((rc = load_calendar(st, &cal)) != CASE_OK)
		goto out;
	cal_day today = cal_day_of(now());
	c.limit[LIM_STAT] = n->statutory_days > 0 ? n->statutory_days : p->statutory_days;
	c.limit[LIM_PROM] = n->promised_days > 0 ? n->promised_days : p->promised_days;
	clk_move(cal, &c, target_clock(p, p->initial, n->special_counts), today);
	int used = clk_used(cal, &c, today);
	int light = clk_light(p->warn, &c, used);
	cal_day next = clk_next_check(cal, &c, p, used, 0, today);
	data = n->data ? json_dumps(n->data, JSON_COMPACT) : NULL;

	rc = CASE_STORE;
	for (int tries = 0;; tries++) {
		int q;
		case_tracking_new(tracking);
		struct sval v[] = { SVT(n->process), SVI(n->dept_id), user_val(n->applicant_id),
				    SVT(tracking), SVT(n->phone_tail), SVT(n->subject),
				    SVT(n->item_code), SVT(data), SVT(p->states[p->initial].name),
				    SVI(c.limit[LIM_STAT]), SVI(c.limit[LIM_PROM]),
				    SVT(n->special_counts), SVI(c.state), day_val(c.started),
				    day_val(c.deadline[LIM_STAT]), day_val(c.deadline[LIM_PROM]),
				    SVI(clk_nearest(&c)), SVI(light), SVI(now()), SVI(next) };
		q = store_query_int(st, sql[S_INSERT], v, 20, &cid);
		if (q == STORE_OK)
			break;
		if (q != 1 || tries == 8)   /* 1: the code is taken; 2^45 codes make this rare */
			goto out;
	}
	if ((rc = add_event(st, cid, "created", NULL, NULL, p->states[p->initial].name,
			    msg(MSG_CASE_EV_CREATED), NULL, NULL, 1, who, today, NULL)) != CASE_OK)
		goto out;
	rc = audit(st, who, "case.create", cid, n->dept_id,
		   json_pack("{s:s,s:s}", "process", n->process, "state",
			     p->states[p->initial].name));
	if (rc == CASE_OK)
		*id = cid;
out:
	free(data);
	calendar_free(cal);
	return rc;
}

/* ------------------------------------------------------------- actions */

/* 1 when fields holds a usable value for name. */
static int has_field(json_t *fields, const char *name)
{
	json_t *v = fields ? json_object_get(fields, name) : NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		for (const char *s = json_string_value(v); *s != '\0'; s++)
			if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
				return 1;
		return 0;
	}
	if (json_is_array(v))
		return json_array_size(v) > 0;
	return 1;
}

static int action_exists(const struct procdef *p, const char *action)
{
	for (int i = 0; i < p->ntr; i++)
		if (strcmp(p->tr[i].action, action) == 0)
			return 1;
	return 0;
}

enum case_rc case_act(struct store *st, int64_t case_id, int64_t version, const char *action,
		      const struct case_actor *who, json_t *fields, const char **missing)
{
	struct store_res *r = NULL;
	struct calendar *cal = NULL;
	char *data = NULL, *body = NULL;
	int64_t changes = 0, eid = 0;
	const struct procdef *p;
	const struct pd_transition *tr;
	enum case_rc rc;
	struct clk c;

	if (missing != NULL)
		*missing = NULL;
	if (action == NULL || who == NULL)
		return CASE_INVALID;
	if ((rc = load_case(st, case_id, &r)) != CASE_OK)
		goto out;
	rc = CASE_CONFLICT;
	if (store_res_int(r, 0, K_VERSION) != version)
		goto out;
	rc = CASE_NO_PROCESS;
	if ((p = procdef_get(store_res_text(r, 0, K_PROCESS))) == NULL)
		goto out;
	int from = procdef_state(p, store_res_text(r, 0, K_STATE));
	tr = from >= 0 ? procdef_transition(p, from, action) : NULL;
	if (tr == NULL) {
		rc = action_exists(p, action) ? CASE_BAD_STATE : CASE_NO_SUCH_ACTION;
		goto out;
	}
	rc = CASE_FORBIDDEN;
	if ((tr->roles & who->roles) == 0)
		goto out;
	for (char **f = tr->require; f && *f; f++)
		if (!has_field(fields, *f)) {
			if (missing != NULL)
				*missing = *f;
			rc = CASE_MISSING_FIELD;
			goto out;
		}
	json_t *cm = fields ? json_object_get(fields, "comment") : NULL;
	rc = CASE_INVALID;
	if (cm != NULL && !json_is_null(cm) &&
	    (!json_is_string(cm) || !text_ok(json_string_value(cm), COMMENT_MAX, 1)))
		goto out;
	if ((rc = load_calendar(st, &cal)) != CASE_OK)
		goto out;

	cal_day today = cal_day_of(now());
	const struct pd_state *to = &p->states[tr->to];
	int final = (to->flags & PD_STATE_FINAL) != 0;
	clk_from_row(r, 0, &c);
	clk_move(cal, &c, target_clock(p, tr->to, store_res_text(r, 0, K_SPECIAL)), today);
	int used = clk_used(cal, &c, today);
	int light = clk_light(p->warn, &c, used);
	cal_day next = clk_next_check(cal, &c, p, used, store_res_int(r, 0, K_ESC), today);
	time_t t = now();
	struct sval v[] = { SVI(case_id), SVI(version), SVT(to->name), SVI(final), SVI(c.state),
			    day_val(c.started), day_val(c.run_since), SVI(c.used),
			    day_val(c.paused_since), SVI(c.paused), day_val(c.deadline[LIM_STAT]),
			    day_val(c.deadline[LIM_PROM]), SVI(clk_nearest(&c)), SVI(light), SVI(t),
			    final ? SVI(t) : SVN, SVI(next) };
	rc = CASE_STORE;
	if (store_exec(st, sql[S_ACT], v, 17, &changes) != STORE_OK)
		goto out;
	rc = CASE_CONFLICT;   /* another person acted between our read and our write */
	if (changes == 0)
		goto out;
	if (fields != NULL && json_object_size(fields) > 0)
		data = json_dumps(fields, JSON_COMPACT | JSON_SORT_KEYS);
	const char *comment = cm && json_is_string(cm) ? json_string_value(cm) : NULL;
	if ((rc = add_event(st, case_id, "action", tr->action, p->states[from].name, to->name,
			    tr->title, comment, data, tr->public, who, today, &eid)) != CASE_OK)
		goto out;
	if (tr->public) {
		body = notice_body(store_res_text(r, 0, K_SUBJECT), store_res_text(r, 0, K_TRACKING),
				   tr->title);
		if ((rc = notify(st, store_res_int(r, 0, K_APPLICANT), "case.event",
				 MSG_CASE_NOTIFY_PROGRESS, body, case_id, "event", eid)) != CASE_OK)
			goto out;
	}
	rc = audit(st, who, "case.act", case_id, store_res_int(r, 0, K_DEPT),
		   json_pack("{s:s,s:s,s:s,s:I}", "action", tr->action, "from",
			     p->states[from].name, "to", to->name, "version",
			     (json_int_t)(version + 1)));
out:
	free(data);
	free(body);
	calendar_free(cal);
	store_res_free(r);
	return rc;
}

enum case_rc case_assign(struct store *st, int64_t case_id, int64_t version, int64_t assignee,
			 const struct case_actor *who)
{
	struct store_res *r = NULL;
	char *body = NULL;
	int64_t changes = 0, eid = 0;
	enum case_rc rc;

	if (who == NULL || assignee < 0)
		return CASE_INVALID;
	if ((rc = load_case(st, case_id, &r)) != CASE_OK)
		goto out;
	rc = CASE_CONFLICT;
	if (store_res_int(r, 0, K_VERSION) != version)
		goto out;
	int64_t dept = store_res_int(r, 0, K_DEPT);
	rc = CASE_FORBIDDEN;
	if (!(who->roles & (PD_ROLE_DEPT_ADMIN | PD_ROLE_SUPERVISOR)) &&
	    !((who->roles & PD_ROLE_STAFF) && assignee == who->user_id && assignee > 0))
		goto out;
	rc = CASE_BAD_ASSIGNEE;
	if (assignee > 0 && !account_has_role(st, assignee, dept, "staff") &&
	    !account_has_role(st, assignee, dept, "dept_admin"))
		goto out;
	struct sval v[] = { SVI(case_id), SVI(version), user_val(assignee), SVI(now()) };
	rc = CASE_STORE;
	if (store_exec(st, sql[S_ASSIGN], v, 4, &changes) != STORE_OK)
		goto out;
	rc = CASE_CONFLICT;
	if (changes == 0)
		goto out;
	char data[48];
	snprintf(data, sizeof data, "{\"assignee_id\":%lld}", (long long)assignee);
	cal_day today = cal_day_of(now());
	if ((rc = add_event(st, case_id, "assign", NULL, NULL, NULL,
			    msg(assignee ? MSG_CASE_EV_ASSIGNED : MSG_CASE_EV_UNASSIGNED), NULL, data,
			    0, who, today, &eid)) != CASE_OK)
		goto out;
	if (assignee > 0 && assignee != who->user_id) {
		body = notice_body(store_res_text(r, 0, K_SUBJECT), store_res_text(r, 0, K_TRACKING),
				   NULL);
		if ((rc = notify(st, assignee, "case.assign", MSG_CASE_NOTIFY_ASSIGNED, body, case_id,
				 "assign", eid)) != CASE_OK)
			goto out;
	}
	rc = audit(st, who, "case.assign", case_id, dept,
		   json_pack("{s:I,s:I}", "assignee_id", (json_int_t)assignee, "version",
			     (json_int_t)(version + 1)));
out:
	free(body);
	store_res_free(r);
	return rc;
}

/* A comment or an attachment: the checks, the event and the notices they share. */
static enum case_rc note(struct store *st, int64_t case_id, const struct case_actor *who,
			 const char *kind, const char *title, const char *body, const char *data,
			 int public, int64_t *event_id, int64_t *dept)
{
	struct store_res *r = NULL;
	char *text = NULL;
	enum case_rc rc;

	if ((rc = load_case(st, case_id, &r)) != CASE_OK)
		goto out;
	int64_t applicant = store_res_int(r, 0, K_APPLICANT);
	int is_applicant = (who->roles & PD_ROLE_APPLICANT) != 0;
	rc = CASE_FORBIDDEN;
	if ((who->roles & (PD_ROLE_APPLICANT | PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN |
			   PD_ROLE_SUPERVISOR)) == 0)
		goto out;
	if (is_applicant && !(who->roles & (PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN | PD_ROLE_SUPERVISOR)))
		public = 1;   /* the applicant writes nothing hidden from the applicant */
	if ((rc = add_event(st, case_id, kind, NULL, NULL, NULL, title, body, data, public, who,
			    cal_day_of(now()), event_id)) != CASE_OK)
		goto out;
	text = notice_body(store_res_text(r, 0, K_SUBJECT), store_res_text(r, 0, K_TRACKING), title);
	if (is_applicant)
		rc = notify(st, store_res_int(r, 0, K_ASSIGNEE), "case.note", MSG_CASE_NOTIFY_NOTE,
			    text, case_id, kind, *event_id);
	else if (public && applicant != who->user_id)
		rc = notify(st, applicant, "case.note", MSG_CASE_NOTIFY_NOTE, text, case_id, kind,
			    *event_id);
	*dept = store_res_int(r, 0, K_DEPT);
out:
	free(text);
	store_res_free(r);
	return rc;
}

enum case_rc case_comment(struct store *st, int64_t case_id, const struct case_actor *who,
			  const char *text, int public)
{
	int64_t eid = 0, dept = 0;
	enum case_rc rc;
	if (who == NULL || !text_ok(text, COMMENT_MAX, 1))
		return CASE_INVALID;
	rc = note(st, case_id, who, "comment", msg(MSG_CASE_EV_COMMENT), text, NULL, public, &eid,
		  &dept);
	if (rc != CASE_OK)
		return rc;
	return audit(st, who, "case.comment", case_id, dept,
		     json_pack("{s:I}", "event_id", (json_int_t)eid));
}

enum case_rc case_attach(struct store *st, int64_t case_id, const struct case_actor *who,
			 int64_t file_id, const char *label, int public)
{
	int64_t eid = 0, dept = 0;
	enum case_rc rc;
	char data[48];
	if (who == NULL || file_id <= 0 || !text_ok(label, LABEL_MAX, 0))
		return CASE_INVALID;
	snprintf(data, sizeof data, "{\"file_id\":%lld}", (long long)file_id);
	int pub = public || ((who->roles & PD_ROLE_APPLICANT) &&
			     !(who->roles & (PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN | PD_ROLE_SUPERVISOR)));
	rc = note(st, case_id, who, "attach", msg(MSG_CASE_EV_ATTACH), label, data, pub, &eid, &dept);
	if (rc != CASE_OK)
		return rc;
	struct sval v[] = { SVI(case_id), SVI(file_id), SVT(label), SVI(pub), user_val(who->user_id),
			    SVI(eid), SVI(now()) };
	if (store_exec(st, sql[S_ATTACH], v, 7, NULL) != STORE_OK)
		return CASE_STORE;
	return audit(st, who, "case.attach", case_id, dept,
		     json_pack("{s:I,s:I}", "file_id", (json_int_t)file_id, "event_id",
			       (json_int_t)eid));
}

/* ------------------------------------------------------------- reading */

static const char *state_title(const struct procdef *p, const char *state)
{
	int s = p ? procdef_state(p, state) : -1;
	return s >= 0 ? p->states[s].title : state;
}

json_t *case_actions(const struct procdef *p, int state, unsigned roles)
{
	json_t *a = json_array();
	if (p == NULL || state < 0 || state >= p->nstates)
		return a;
	for (int i = 0; i < p->ntr; i++) {
		const struct pd_transition *t = &p->tr[i];
		if (t->from != state || (t->roles & roles) == 0)
			continue;
		json_t *req = json_array();
		for (char **f = t->require; f && *f; f++)
			json_array_append_new(req, json_string(*f));
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:o,s:b}", "action", t->action,
						   "title", t->title, "to", p->states[t->to].name,
						   "to_title", p->states[t->to].title, "require",
						   req, "public", t->public));
	}
	return a;
}

static json_t *clock1_json(int limit, int used, cal_day deadline, double warn, int started)
{
	if (limit <= 0)
		return json_null();
	int l = light1(warn, limit, used, started);
	return json_pack("{s:i,s:i,s:i,s:o,s:i,s:s}", "limit", limit, "used", used, "remaining",
			 limit - used, "deadline", started ? day_json(deadline) : json_null(),
			 "light", l, "light_name", light_name(l));
}

static json_t *attachments_json(struct store *st, int64_t id, int public_only)
{
	struct store_res *r = NULL;
	struct sval v[] = { SVI(id), SVI(public_only ? 1 : 0) };
	if (store_query(st, sql[S_ATTACHMENTS], v, 2, &r) != STORE_OK)
		return NULL;
	json_t *a = json_array();
	for (int i = 0; i < store_res_rows(r); i++)
		json_array_append_new(a, json_pack("{s:I,s:I,s:s,s:b,s:I}", "id",
						   (json_int_t)store_res_int(r, i, 0), "file_id",
						   (json_int_t)store_res_int(r, i, 1), "label",
						   store_res_text(r, i, 2), "public",
						   (int)store_res_int(r, i, 3), "created_at",
						   (json_int_t)store_res_int(r, i, 5)));
	store_res_free(r);
	return a;
}

static json_t *person_json(const struct store_res *r, int idcol, int namecol)
{
	if (store_res_isnull(r, 0, idcol))
		return json_null();
	return json_pack("{s:I,s:o}", "id", (json_int_t)store_res_int(r, 0, idcol), "name",
			 text_or_null(store_res_text(r, 0, namecol)));
}

json_t *case_json(struct store *st, int64_t id, unsigned roles, int public_view)
{
	struct store_res *r = NULL;
	struct calendar *cal = NULL;
	json_t *o = NULL;
	struct clk c;
	char pr[CASE_TRACKING_PRINT_LEN + 1];

	if (load_case(st, id, &r) != CASE_OK || load_calendar(st, &cal) != CASE_OK)
		goto out;
	const char *process = store_res_text(r, 0, K_PROCESS);
	const char *state = store_res_text(r, 0, K_STATE);
	const struct procdef *p = procdef_get(process);
	double warn = p ? p->warn : 0.75;
	cal_day today = cal_day_of(now());
	clk_from_row(r, 0, &c);
	int used = clk_used(cal, &c, today), started = c.state != CLK_WAIT;
	int light = c.state == CLK_RUN ? clk_light(warn, &c, used) : (int)store_res_int(r, 0, K_LIGHT);
	case_tracking_print(store_res_text(r, 0, K_TRACKING), pr);

	json_t *clocks = json_pack(
		"{s:s,s:b,s:o,s:i,s:o,s:o}", "state", clk_names[c.state], "paused",
		c.state == CLK_PAUSE, "started", day_json(c.started), "paused_days", c.paused,
		"statutory", clock1_json(c.limit[LIM_STAT], used, c.deadline[LIM_STAT], warn, started),
		"promised", clock1_json(c.limit[LIM_PROM], used, c.deadline[LIM_PROM], warn, started));
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:{s:I,s:o},s:I,s:I,s:i,s:s,s:s,s:o}",
		      "id", (json_int_t)id, "tracking", store_res_text(r, 0, K_TRACKING),
		      "tracking_print", pr, "process", process, "process_title",
		      p ? p->title : process, "subject", store_res_text(r, 0, K_SUBJECT), "state",
		      state, "final", (int)store_res_int(r, 0, K_FINAL), "dept", "id",
		      (json_int_t)store_res_int(r, 0, K_DEPT), "name",
		      text_or_null(store_res_text(r, 0, K_DEPT_NAME)), "created_at",
		      (json_int_t)store_res_int(r, 0, K_CREATED), "updated_at",
		      (json_int_t)store_res_int(r, 0, K_UPDATED), "light", light, "light_name",
		      light_name(light), "light_label", light_label(light), "clocks", clocks);
	if (o == NULL)
		goto out;
	json_object_set_new(o, "state_title", json_string(state_title(p, state)));
	json_t *att = attachments_json(st, id, public_view);
	if (att == NULL) {
		json_decref(o);
		o = NULL;
		goto out;
	}
	json_object_set_new(o, "attachments", att);
	if (public_view)
		goto out;
	json_error_t je;
	const char *data = store_res_text(r, 0, K_DATA);
	json_t *dj = data ? json_loads(data, 0, &je) : NULL;
	json_object_set_new(o, "version", json_integer(store_res_int(r, 0, K_VERSION)));
	json_object_set_new(o, "item_code", text_or_null(store_res_text(r, 0, K_ITEM)));
	json_object_set_new(o, "special_counts", text_or_null(store_res_text(r, 0, K_SPECIAL)));
	json_object_set_new(o, "applicant", person_json(r, K_APPLICANT, K_APPLICANT_NAME));
	json_object_set_new(o, "assignee", person_json(r, K_ASSIGNEE, K_ASSIGNEE_NAME));
	json_object_set_new(o, "data", dj ? dj : json_null());
	json_object_set_new(o, "actions", case_actions(p, p ? procdef_state(p, state) : -1, roles));
out:
	calendar_free(cal);
	store_res_free(r);
	return o;
}

json_t *case_timeline(struct store *st, int64_t id, int public_only)
{
	struct store_res *r = NULL, *pr = NULL;
	struct sval v[] = { SVI(id), SVI(public_only ? 1 : 0) };
	const struct procdef *p = NULL;
	json_t *a = NULL;

	if (store_query(st, sql[S_PROCESS_OF], v, 1, &pr) != STORE_OK)
		goto out;
	if (store_res_rows(pr) > 0)
		p = procdef_get(store_res_text(pr, 0, 0));
	if (store_query(st, sql[S_TIMELINE], v, 2, &r) != STORE_OK)
		goto out;
	a = json_array();
	for (int i = 0; i < store_res_rows(r); i++) {
		json_error_t je;
		const char *from = store_res_text(r, i, 3), *to = store_res_text(r, i, 4);
		const char *data = store_res_text(r, i, 7);
		json_t *dj = data ? json_loads(data, 0, &je) : NULL;
		json_t *e = json_pack(
			"{s:I,s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:s,s:I,s:o}", "id",
			(json_int_t)store_res_int(r, i, 0), "kind", store_res_text(r, i, 1), "name",
			text_or_null(store_res_text(r, i, 2)), "title", store_res_text(r, i, 5),
			"from", text_or_null(from), "from_title",
			from ? json_string(state_title(p, from)) : json_null(), "to",
			text_or_null(to), "to_title", to ? json_string(state_title(p, to)) : json_null(),
			"body", text_or_null(store_res_text(r, i, 6)), "data",
			dj ? dj : json_null(), "public", (int)store_res_int(r, i, 8), "actor",
			store_res_text(r, i, 10), "at", (json_int_t)store_res_int(r, i, 12), "day",
			day_json((cal_day)store_res_int(r, i, 11)));
		if (!public_only)
			json_object_set_new(e, "actor_id",
					    store_res_isnull(r, i, 9) ? json_null() :
					    json_integer(store_res_int(r, i, 9)));
		json_array_append_new(a, e);
	}
out:
	store_res_free(pr);
	store_res_free(r);
	return a;
}

/* "light.deadline.id" */
static int parse_cursor(const char *s, int64_t out[3])
{
	const char *p = s;
	for (int k = 0; k < 3; k++) {
		char *end = NULL;
		if (!((*p >= '0' && *p <= '9') || (*p == '-' && k == 1)))
			return -1;
		errno = 0;
		long long v = strtoll(p, &end, 10);
		if (errno != 0 || end == p || (k < 2 ? *end != '.' : *end != '\0'))
			return -1;
		out[k] = v;
		p = end + 1;
	}
	if (out[0] < 0 || out[0] > 2 || out[1] < INT32_MIN || out[1] > INT32_MAX || out[2] < 0)
		return -1;
	return 0;
}

enum case_rc case_inbox(struct store *st, int64_t dept_id, const char *state_filter,
			const char *after, int limit, json_t **out)
{
	return case_inbox_app(st, dept_id, NULL, state_filter, after, limit, out);
}

enum case_rc case_inbox_app(struct store *st, int64_t dept_id, const char *app,
			    const char *state_filter, const char *after, int limit, json_t **out)
{
	/* The processes "<app>.*": their first strlen("<app>.") characters (a byte
	 * comparison on both drivers, whatever the database's collation); "" for all. */
	char lo[72] = "";
	if (app != NULL && (strlen(app) == 0 || strlen(app) > 64))
		return CASE_INVALID;
	if (app != NULL)
		snprintf(lo, sizeof lo, "%s.", app);
	int64_t cur[3] = { CASE_RED, INT32_MIN, -1 };
	struct store_res *r = NULL;
	json_t *items = NULL;
	int got = 0, last_light = 0;
	int64_t last_deadline = 0, last_id = 0;

	*out = NULL;
	if (limit < 1 || limit > INBOX_MAX || (after != NULL && *after != '\0' &&
					       parse_cursor(after, cur) != 0))
		return CASE_INVALID;
	items = json_array();
	/* One index range per light, red first: each query walks
	 * (dept_id, state_final|state, light, deadline, id) in order. */
	for (int light = (int)cur[0]; light >= CASE_GREEN && got <= limit; light--) {
		int first = light == (int)cur[0];
		struct sval v[] = { SVI(dept_id), SVI(light), SVI(first ? cur[1] : INT32_MIN),
				    SVI(first ? cur[2] : -1), SVI(limit + 1 - got),
				    SVT(state_filter), SVT(lo), SVI(strlen(lo)) };
		int q = state_filter ? store_query(st, sql[S_INBOX_STATE], v, 8, &r) :
				       store_query(st, sql[S_INBOX], v, 8, &r);
		if (q != STORE_OK) {
			json_decref(items);
			return CASE_STORE;
		}
		for (int i = 0; i < store_res_rows(r) && got <= limit; i++, got++) {
			if (got == limit) {
				got++;   /* one more exists: there is a next page */
				break;
			}
			const char *state = store_res_text(r, i, 4);
			const struct procdef *p = procdef_get(store_res_text(r, i, 1));
			char pr[CASE_TRACKING_PRINT_LEN + 1];
			int l = (int)store_res_int(r, i, 5);
			case_tracking_print(store_res_text(r, i, 2), pr);
			last_light = l;
			last_deadline = store_res_int(r, i, 6);
			last_id = store_res_int(r, i, 0);
			json_array_append_new(items, json_pack(
				"{s:I,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:o,s:I,s:I}", "id",
				(json_int_t)last_id, "tracking_print", pr, "subject",
				store_res_text(r, i, 3), "state", state, "state_title",
				state_title(p, state), "light", l, "light_name", light_name(l),
				"light_label", light_label(l), "deadline",
				day_json((cal_day)last_deadline), "assignee_id",
				store_res_isnull(r, i, 7) ? json_null() :
				json_integer(store_res_int(r, i, 7)),
				"version", (json_int_t)store_res_int(r, i, 8), "created_at",
				(json_int_t)store_res_int(r, i, 9)));
		}
		store_res_free(r);
		r = NULL;
	}
	json_t *next = json_null();
	if (got > limit) {
		char c[64];
		snprintf(c, sizeof c, "%d.%lld.%lld", last_light, (long long)last_deadline,
			 (long long)last_id);
		next = json_string(c);
	}
	*out = json_pack("{s:o,s:o}", "items", items, "next", next);
	return CASE_OK;
}

enum case_rc case_find_tracking(struct store *st, const char *code, const char *phone_tail,
				int64_t *id)
{
	char norm[CASE_TRACKING_LEN + 1];
	struct store_res *r = NULL;
	enum case_rc rc = CASE_NOT_FOUND;

	if (case_tracking_normalize(code, norm) != 0 || !phone_tail_ok(phone_tail))
		return CASE_NOT_FOUND;
	struct sval v[] = { SVT(norm) };
	if (store_query(st, sql[S_BY_TRACKING], v, 1, &r) != STORE_OK)
		return CASE_STORE;
	if (store_res_rows(r) > 0) {
		const char *tail = store_res_text(r, 0, 1);
		if (tail != NULL && strlen(tail) == 4 && sodium_memcmp(tail, phone_tail, 4) == 0) {
			*id = store_res_int(r, 0, 0);
			rc = CASE_OK;
		}
	}
	store_res_free(r);
	return rc;
}

/* --------------------------------------------------------------- sweep */

struct sweep_upd {
	int64_t id, version, old_esc, esc, fire;   /* fire: the bits that became due */
	cal_day dl[2], deadline, next;
	int light, used;
	const struct procdef *p;
	int limit[2];
};

#define SWEEP_CACHE 32

/* What one sweep remembers: process definitions by name, recipients by department. */
struct sweep_ctx {
	struct store *st;
	const struct calendar *cal;
	cal_day today;
	struct case_sweep_stats *out;
	char *pname[SWEEP_CACHE];
	const struct procdef *pdef[SWEEP_CACHE];
	int npd;
	int64_t *platform;          /* platform admins; loaded once */
	int nplatform, platform_loaded;
	int64_t admin_dept[SWEEP_CACHE];
	int64_t *admins[SWEEP_CACHE];
	int nadmins[SWEEP_CACHE];
	int nad;
};

static const struct procdef *cached_procdef(struct sweep_ctx *x, const char *name)
{
	for (int i = 0; i < x->npd; i++)
		if (strcmp(x->pname[i], name) == 0)
			return x->pdef[i];
	const struct procdef *p = procdef_get(name);
	if (p == NULL)
		log_warn("case sweep: process %s is not loaded; its cases are skipped", name);
	if (x->npd < SWEEP_CACHE) {
		x->pname[x->npd] = xstrdup(name);
		x->pdef[x->npd++] = p;
	}
	return p;
}

/* The user ids of a query's first column into *ids (malloc'd); count or -1. */
static int query_ids(struct store *st, const char *q, const struct sval *v, int nv, int64_t **ids)
{
	struct store_res *r = NULL;
	*ids = NULL;
	if (store_query(st, q, v, nv, &r) != STORE_OK)
		return -1;
	int n = store_res_rows(r);
	*ids = xmalloc(((size_t)n + 1) * sizeof **ids);
	for (int i = 0; i < n; i++)
		(*ids)[i] = store_res_int(r, i, 0);
	store_res_free(r);
	return n;
}

/* The administrators of dept (cached for the sweep); count or -1. */
static int dept_admins(struct sweep_ctx *x, int64_t dept, const int64_t **ids)
{
	for (int i = 0; i < x->nad; i++)
		if (x->admin_dept[i] == dept) {
			*ids = x->admins[i];
			return x->nadmins[i];
		}
	int64_t *got = NULL;
	struct sval v[] = { SVI(dept) };
	int n = query_ids(x->st, sql[S_DEPT_ADMINS], v, 1, &got);
	if (n < 0)
		return -1;
	int slot;
	if (x->nad < SWEEP_CACHE) {
		slot = x->nad++;
	} else {
		slot = (int)(dept % SWEEP_CACHE);
		free(x->admins[slot]);
	}
	x->admin_dept[slot] = dept;
	x->admins[slot] = got;
	x->nadmins[slot] = n;
	*ids = got;
	return n;
}

static int platform_admins(struct sweep_ctx *x, const int64_t **ids)
{
	if (!x->platform_loaded) {
		int n = query_ids(x->st, sql[S_PLATFORM_ADMINS], NULL, 0, &x->platform);
		if (n < 0)
			return -1;
		x->nplatform = n;
		x->platform_loaded = 1;
	}
	*ids = x->platform;
	return x->nplatform;
}

static void add_id(int64_t *ids, int *n, int max, int64_t u)
{
	if (u <= 0 || *n >= max)
		return;
	for (int k = 0; k < *n; k++)
		if (ids[k] == u)
			return;
	ids[(*n)++] = u;
}

/* Recipients of an escalation, into ids (at most max); count or -1. */
static int esc_recipients(struct sweep_ctx *x, unsigned to, int64_t assignee, int64_t applicant,
			  int64_t dept, int64_t *ids, int max)
{
	int n = 0, m;
	const int64_t *list;
	int want_admins = (to & PD_ROLE_DEPT_ADMIN) != 0;
	if (to & PD_ROLE_STAFF) {
		if (assignee > 0)
			add_id(ids, &n, max, assignee);
		else
			want_admins = 1;   /* nobody assigned: the department's administrators */
	}
	if (to & PD_ROLE_APPLICANT)
		add_id(ids, &n, max, applicant);
	if (want_admins) {
		if ((m = dept_admins(x, dept, &list)) < 0)
			return -1;
		for (int i = 0; i < m; i++)
			add_id(ids, &n, max, list[i]);
	}
	if (to & PD_ROLE_SUPERVISOR) {
		if ((m = platform_admins(x, &list)) < 0)
			return -1;
		for (int i = 0; i < m; i++)
			add_id(ids, &n, max, list[i]);
	}
	return n;
}

/* The event, notifications and audit entry of escalation k of case u. */
static int fire_escalation(struct sweep_ctx *x, const struct sweep_upd *u, int k)
{
	struct store *st = x->st;
	const struct pd_escalation *e = &u->p->esc[k];
	struct store_res *r = NULL;
	struct case_actor sys = { 0, "system", PD_ROLE_SYSTEM };
	struct buf b = BUF_INIT(4096);
	char *body = NULL, data[160], dedup[16 + 64], link[48];
	int64_t ids[256];
	int rc = -1, n;

	struct sval v[] = { SVI(u->id) };
	if (store_query(st, sql[S_ESC_CASE], v, 1, &r) != STORE_OK || store_res_rows(r) == 0)
		goto out;
	int lim = esc_lim(e);
	if (buf_addf(&b, "%s %d / %d", msg(lim == LIM_STAT ? MSG_CASE_LIMIT_STATUTORY :
					   MSG_CASE_LIMIT_PROMISED), u->used, u->limit[lim]) != 0)
		goto out;
	snprintf(data, sizeof data, "{\"rule\":\"%s\",\"limit\":\"%s\",\"limit_days\":%d,\"used\":%d}",
		 e->name, lim == LIM_STAT ? "statutory" : "promised", u->limit[lim], u->used);
	if (add_event(st, u->id, "escalate", e->name, NULL, NULL, e->title, b.data, data, 0, &sys,
		      x->today, NULL) != CASE_OK)
		goto out;
	n = esc_recipients(x, e->to, store_res_int(r, 0, 0), store_res_int(r, 0, 2),
			   store_res_int(r, 0, 1), ids, 256);
	if (n < 0)
		goto out;
	body = notice_body(store_res_text(r, 0, 3), store_res_text(r, 0, 4), b.data);
	snprintf(dedup, sizeof dedup, "case:%lld:esc:%s", (long long)u->id, e->name);
	snprintf(link, sizeof link, "/cases/%lld", (long long)u->id);
	for (int i = 0; i < n; i++)
		if (notify_user(st, ids[i], "case.escalate", e->title, body, link, dedup) != 0)
			goto out;
	if (audit(st, &sys, "case.escalate", u->id, store_res_int(r, 0, 1),
		  json_pack("{s:s,s:i}", "rule", e->name, "used", u->used)) != CASE_OK)
		goto out;
	rc = 0;
out:
	free(body);
	buf_release(&b);
	store_res_free(r);
	return rc;
}

/* Writes one batch's changes in one transaction. */
static int sweep_write(struct sweep_ctx *x, struct sweep_upd *ups, int n)
{
	struct store *st = x->st;
	int64_t changed = 0, escalated = 0;
	if (store_begin(st) != STORE_OK)
		return -1;
	for (int i = 0; i < n; i++) {
		struct sweep_upd *u = &ups[i];
		int64_t ch = 0;
		struct sval v[] = { SVI(u->id), SVI(u->version), day_val(u->dl[0]), day_val(u->dl[1]),
				    SVI(u->deadline), SVI(u->light), SVI(u->esc), SVI(u->old_esc),
				    SVI(u->next) };
		if (store_exec(st, sql[S_SWEEP_UPDATE], v, 9, &ch) != STORE_OK)
			goto fail;
		if (ch == 0)
			continue;   /* a person acted meanwhile: that write computed the clock */
		changed++;
		for (int k = 0; k < u->p->nesc && k < ESC_BITS; k++) {
			if (!(u->fire & ((int64_t)1 << k)))
				continue;
			if (fire_escalation(x, u, k) != 0)
				goto fail;
			escalated++;
		}
	}
	if (store_commit(st) != STORE_OK)
		goto fail;
	x->out->changed += changed;
	x->out->escalated += escalated;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

/* Recomputes row i of a sweep batch; 1 with *u filled when it must be written. */
static int sweep_row(struct sweep_ctx *x, const struct store_res *r, int i, struct sweep_upd *u)
{
	const struct procdef *p = cached_procdef(x, store_res_text(r, i, W_PROCESS));
	struct clk c = { .state = CLK_RUN, .started = NODAY, .paused_since = NODAY };
	if (p == NULL)
		return 0;
	c.used = (int)store_res_int(r, i, W_USED);
	c.run_since = col_day(r, i, W_RUN_SINCE);
	c.limit[LIM_STAT] = (int)store_res_int(r, i, W_STAT_DAYS);
	c.limit[LIM_PROM] = (int)store_res_int(r, i, W_PROM_DAYS);
	c.deadline[LIM_STAT] = col_day(r, i, W_DL_STAT);
	c.deadline[LIM_PROM] = col_day(r, i, W_DL_PROM);
	if (c.run_since == NODAY)
		return 0;   /* never so: a running clock has its start */
	clk_deadlines(x->cal, &c);
	int used = clk_used(x->cal, &c, x->today);
	int light = clk_light(p->warn, &c, used);
	int64_t esc = store_res_int(r, i, W_ESC);
	int64_t fire = esc_due(p, &c, used, esc);
	cal_day nearest = clk_nearest(&c);
	cal_day next = clk_next_check(x->cal, &c, p, used, esc | fire, x->today);
	if (fire == 0 && light == store_res_int(r, i, W_LIGHT) &&
	    nearest == store_res_int(r, i, W_DEADLINE) && next == store_res_int(r, i, W_NEXT) &&
	    c.deadline[0] == col_day(r, i, W_DL_STAT) && c.deadline[1] == col_day(r, i, W_DL_PROM))
		return 0;
	u->id = store_res_int(r, i, W_ID);
	u->version = store_res_int(r, i, W_VERSION);
	u->old_esc = esc;
	u->esc = esc | fire;
	u->fire = fire;
	u->dl[0] = c.deadline[0];
	u->dl[1] = c.deadline[1];
	u->deadline = nearest;
	u->next = next;
	u->light = light;
	u->used = used;
	u->p = p;
	u->limit[0] = c.limit[0];
	u->limit[1] = c.limit[1];
	return 1;
}

static int sweep(struct store *st, const struct calendar *cal, cal_day today, int full,
		 struct case_sweep_stats *out)
{
	struct sweep_ctx x = { .st = st, .cal = cal, .today = today, .out = out };
	struct sweep_upd *ups = xmalloc(CASE_SWEEP_BATCH * sizeof *ups);
	struct store_res *r = NULL;
	int64_t after = 0, after_next = INT32_MIN;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (store_in_tx(st)) {
		log_error("case_sweep: called inside a transaction");
		goto out;
	}
	for (;;) {
		struct sval v[] = { SVI(after), SVI(CASE_SWEEP_BATCH), SVI(today), SVI(after_next) };
		int n = 0, rows;
		if (store_query(st, sql[full ? S_SWEEP_ALL : S_SWEEP_DUE], v, full ? 2 : 4, &r) !=
		    STORE_OK)
			goto out;
		rows = store_res_rows(r);
		for (int i = 0; i < rows; i++) {
			out->scanned++;
			n += sweep_row(&x, r, i, &ups[n]);
		}
		if (rows > 0) {
			after = store_res_int(r, rows - 1, W_ID);
			after_next = store_res_int(r, rows - 1, W_NEXT);
		}
		store_res_free(r);
		r = NULL;
		if (n > 0 && sweep_write(&x, ups, n) != 0)
			goto out;
		if (rows < CASE_SWEEP_BATCH)
			break;
	}
	rc = 0;
out:
	store_res_free(r);
	for (int i = 0; i < x.npd; i++)
		free(x.pname[i]);
	for (int i = 0; i < x.nad; i++)
		free(x.admins[i]);
	free(x.platform);
	free(ups);
	return rc;
}

int case_sweep(struct store *st, const struct calendar *cal, cal_day today,
	       struct case_sweep_stats *out)
{
	return sweep(st, cal, today, 0, out);
}

int case_sweep_full(struct store *st, const struct calendar *cal, cal_day today,
		    struct case_sweep_stats *out)
{
	return sweep(st, cal, today, 1, out);
}

/* ------------------------------------------------------- supervision */

void case_staff_href(const char *process, int64_t id, char *out, size_t cap)
{
	const char *dot = process ? strchr(process, '.') : NULL;
	int n = dot ? (int)(dot - process) : 0;
	if (n == 0 || n > 32)
		snprintf(out, cap, "/hall/cases/%lld", (long long)id);
	else
		snprintf(out, cap, "/%.*s/cases/%lld", n, process, (long long)id);
}

static void history_problem(json_t *out, const struct store_res *r, int row, const char *problem)
{
	char pr[CASE_TRACKING_PRINT_LEN + 1];
	case_tracking_print(store_res_text(r, row, 3), pr);
	json_array_append_new(out, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)store_res_int(r, row, 0),
					     "tracking_print", pr, "subject", store_res_text(r, row, 4), "state",
					     store_res_text(r, row, 2), "process", store_res_text(r, row, 1), "problem",
					     problem));
}

enum case_rc case_check_history(struct store *st, int limit, json_t **out)
{
	static const char max_id[] = "SELECT COALESCE(MAX(id), 0) FROM cases";
	struct store_res *r = NULL;
	int64_t top = 0;
	*out = NULL;
	if (limit < 1 || limit > 10000)
		return CASE_INVALID;
	if (store_query_int(st, max_id, NULL, 0, &top) != STORE_OK)
		return CASE_STORE;
	struct sval v[] = { SVI(top - limit) };
	if (store_query(st, sql[S_HISTORY], v, 1, &r) != STORE_OK)
		return CASE_STORE;
	json_t *found = json_array();
	int n = store_res_rows(r);
	for (int i = 0; i < n;) {
		int64_t id = store_res_int(r, i, 0);
		const struct procdef *p = procdef_get(store_res_text(r, i, 1));
		const char *problem = NULL, *at = NULL;
		int first = i;
		for (; i < n && store_res_int(r, i, 0) == id; i++) {
			if (problem != NULL || p == NULL)
				continue;
			const char *kind = store_res_text(r, i, 5);
			const char *name = store_res_text(r, i, 6), *from = store_res_text(r, i, 7);
			const char *to = store_res_text(r, i, 8);
			if (kind == NULL) {
				problem = "没有办理记录";
			} else if (strcmp(kind, "created") == 0) {
				if (i != first || to == NULL || procdef_state(p, to) != p->initial)
					problem = "创建记录与流程的起始环节不符";
				at = to;
			} else if (i == first) {
				problem = "缺少创建记录";
			} else {
				int f = from ? procdef_state(p, from) : -1, t = to ? procdef_state(p, to) : -1;
				const struct pd_transition *tr = f >= 0 && name ? procdef_transition(p, f, name) : NULL;
				if (at == NULL || from == NULL || strcmp(from, at) != 0)
					problem = "环节不连续：有环节被跳过或记录被改动";
				else if (tr == NULL || t < 0 || tr->to != t)
					problem = "出现流程定义之外的环节";
				at = to;
			}
		}
		if (p == NULL)
			problem = "流程定义未加载";
		else if (problem == NULL && (at == NULL || strcmp(at, store_res_text(r, first, 2)) != 0))
			problem = "当前环节与办理记录不符";
		if (problem != NULL)
			history_problem(found, r, first, problem);
	}
	store_res_free(r);
	*out = found;
	return CASE_OK;
}
