/*
 * calendar: the deployment's working days (see calendar.h; the yearly file
 * format is documented in docs/calendar.md).
 *
 * A snapshot is a prefix sum over its span (1970-01-01 .. 2200-12-31,
 * 84,005 days): pre[i] is the number of working days before day i.  Then
 *   - is this a working day?          pre[d + 1] - pre[d]
 *   - working days in (from, to]      two look-ups, O(1)
 *   - the end of an N-day limit       a galloping binary search, O(log N)
 * The array is 336 KB, built in well under a millisecond.  Outside the span
 * the weekend rule holds and the same cumulative count is arithmetic, so
 * every day has an answer and the functions need no special cases.
 *
 * The cumulative count F(x) = working days in [0, x] for x >= 0 (day 0 is
 * 1970-01-01, a Thursday), extended to negative x so that
 * F(x) - F(x - 1) = 1 exactly when x is a working day (F(-1) = 0).
 */
#include "core/calendar.h"
#include "core/msg.h"
#include "core/validate.h"
#include "core/xalloc.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAL_IMPORT_MAX_LINES 20000   /* lines of one yearly file */
#define CAL_IMPORT_MAX_DAYS 20000    /* days one file may mark */
#define CAL_RANGE_MAX 366            /* days of one range line */
#define CAL_NOTE_MAX 100             /* characters of a note */
#define CAL_REPORT_MAX 200           /* bad lines reported */
#define CAL_SHOW_MAX 40              /* bytes of a bad token quoted in a report */

/* ------------------------------------------------------------ dates */

cal_day cal_day_from_ymd(int y, int m, int d)
{
	/* Days from civil (proleptic Gregorian), after H. Hinnant's derivation. */
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (cal_day)(era * 146097 + doe - 719468);
}

void cal_day_to_ymd(cal_day day, int *y, int *m, int *d)
{
	int64_t z = (int64_t)day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int mm = (int)(mp < 10 ? mp + 3 : mp - 9);
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = mm;
	*y = (int)(yoe + era * 400 + (mm <= 2));
}

int cal_day_parse(const char *s, cal_day *out)
{
	if (s == NULL || validate_date(s) != MSG_NONE)
		return -1;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	*out = cal_day_from_ymd(y, m, d);
	return 0;
}

void cal_day_format(cal_day day, char out[11])
{
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	if (y < 0)
		y = 0;   /* outside what a 4-digit year shows; never in the span */
	if (y > 9999)
		y = 9999;
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = '\0';
}

int cal_weekday(cal_day day)
{
	/* 1970-01-01 was a Thursday (3). */
	return (int)((((int64_t)day + 3) % 7 + 7) % 7);
}

cal_day cal_day_of(time_t t)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL)
		return (cal_day)(t / 86400);
	return cal_day_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

static cal_day span_end(void)
{
	/* 2201-01-01: the first day after the span.  Day 0 is 1970-01-01. */
	return cal_day_from_ymd(CAL_LAST_YEAR + 1, 1, 1);
}

int cal_day_in_span(cal_day day)
{
	return day >= 0 && day < span_end();
}

const char *cal_kind_name(enum cal_kind kind)
{
	return kind == CAL_HOLIDAY ? "holiday" : kind == CAL_WORKDAY ? "workday" : "default";
}

int cal_kind_parse(const char *s, enum cal_kind *out)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "holiday") == 0 || strcmp(s, "休") == 0)
		*out = CAL_HOLIDAY;
	else if (strcmp(s, "workday") == 0 || strcmp(s, "班") == 0)
		*out = CAL_WORKDAY;
	else if (strcmp(s, "default") == 0)
		*out = CAL_DEFAULT;
	else
		return -1;
	return 0;
}

const char *cal_weekday_label(cal_day day)
{
	static const enum msg_id wd[7] = { MSG_CAL_WD_MON, MSG_CAL_WD_TUE, MSG_CAL_WD_WED, MSG_CAL_WD_THU,
					   MSG_CAL_WD_FRI, MSG_CAL_WD_SAT, MSG_CAL_WD_SUN };
	return msg(wd[cal_weekday(day)]);
}

/* ------------------------------------------------------------ snapshots */

struct calendar {
	int32_t nd;      /* days in the span, from day 0 */
	int32_t *pre;    /* pre[i] = F(i - 1): working days in [0, i); nd + 1 entries */
	int shared;      /* the cached snapshot of calendar_load (read-only) */
	int refs;        /* holders of a shared snapshot, under cache_mu */
};

/*
 * calendar_load is called on hot paths (every case action and page), so it
 * keeps the last snapshot it built and hands it out again while the
 * exceptions in the store are unchanged.  "Unchanged" is decided by a cheap
 * aggregate over calendar_days (count, sum and sum of squares of the days of
 * each kind), which also sees edits made by other nodes.  Equal fingerprints
 * mean equal working days, so one cache serves every store of the process.
 */
#define CAL_FP 6
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct calendar *cache;
static int64_t cache_fp[CAL_FP];

static int64_t floor_div7(int64_t a)
{
	int64_t q = a / 7;
	return (a % 7 != 0 && a < 0) ? q - 1 : q;
}

/* Mon–Fri among the days t in [0, n), where t = 0 is a Monday; any integer n. */
static int64_t plain_h(int64_t n)
{
	int64_t q = floor_div7(n), r = n - q * 7;
	return 5 * q + (r < 5 ? r : 5);
}

/* F(x) by the weekend rule alone: day x is t = x + 3 (Thursday). */
static int64_t plain_f(int64_t x)
{
	return plain_h(x + 4) - 3;
}

static int64_t cum(const struct calendar *c, int64_t x)
{
	if (x >= 0 && x < c->nd)
		return c->pre[x + 1];
	if (x < 0)
		return plain_f(x);
	return c->pre[c->nd] + plain_f(x) - plain_f((int64_t)c->nd - 1);
}

/* A snapshot from per-day flags (1 = working), nd of them. */
static struct calendar *cal_from_flags(const unsigned char *w, int32_t nd)
{
	struct calendar *c = xcalloc(1, sizeof *c);
	c->nd = nd;
	c->pre = xmalloc(((size_t)nd + 1) * sizeof *c->pre);
	c->pre[0] = 0;
	for (int32_t i = 0; i < nd; i++)
		c->pre[i + 1] = c->pre[i] + w[i];
	return c;
}

/* Per-day flags by the weekend rule, for the whole span (caller frees). */
static unsigned char *weekend_flags(int32_t nd)
{
	unsigned char *w = xmalloc((size_t)nd);
	int wd = cal_weekday(0);
	for (int32_t i = 0; i < nd; i++) {
		w[i] = wd < 5;
		wd = wd == 6 ? 0 : wd + 1;
	}
	return w;
}

struct calendar *calendar_plain(void)
{
	int32_t nd = span_end();
	unsigned char *w = weekend_flags(nd);
	struct calendar *c = cal_from_flags(w, nd);
	free(w);
	return c;
}

static void cal_destroy(struct calendar *c)
{
	free(c->pre);
	free(c);
}

void calendar_free(struct calendar *c)
{
	if (c == NULL)
		return;
	if (c->shared) {
		pthread_mutex_lock(&cache_mu);
		int last = --c->refs == 0 && c != cache;
		pthread_mutex_unlock(&cache_mu);
		if (last)
			cal_destroy(c);
		return;
	}
	cal_destroy(c);
}

int calendar_is_workday(const struct calendar *c, cal_day day)
{
	if (day >= 0 && day < c->nd)
		return c->pre[day + 1] != c->pre[day];
	return cal_weekday(day) < 5;
}

void calendar_mark(struct calendar *c, cal_day day, enum cal_kind kind)
{
	/* a snapshot shared by calendar_load is read-only */
	if (c->shared || day < 0 || day >= c->nd)
		return;
	int want = kind == CAL_HOLIDAY ? 0 : kind == CAL_WORKDAY ? 1 : cal_weekday(day) < 5;
	int delta = want - calendar_is_workday(c, day);
	if (delta == 0)
		return;
	for (int32_t i = day + 1; i <= c->nd; i++)
		c->pre[i] += delta;
}

cal_day calendar_add_workdays(const struct calendar *c, cal_day start, int n)
{
	if (n <= 0)
		return start;
	int64_t target = cum(c, start) + n;
	/* At most one working day per day: the end is at least start + n, so
	 * cum(lo) < target.  Gallop until cum(hi) >= target, then bisect. */
	int64_t lo = (int64_t)start + n - 1, hi = (int64_t)start + n, step = n;
	while (cum(c, hi) < target) {
		lo = hi;
		hi += step;
		if (step < ((int64_t)1 << 40))
			step *= 2;
	}
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;
		if (cum(c, mid) >= target)
			hi = mid;
		else
			lo = mid;
	}
	return hi > INT32_MAX ? INT32_MAX : (cal_day)hi;
}

int calendar_workdays_between(const struct calendar *c, cal_day from, cal_day to)
{
	return (int)(cum(c, to) - cum(c, from));
}

/* ------------------------------------------------------------ the store */

enum cal_stmt { S_FINGERPRINT, S_ALL, S_YEAR, S_UPSERT, S_DELETE, S_DELETE_RANGE, S__MAX };

static const char *const sql[S__MAX] = {
	[S_FINGERPRINT] = "SELECT kind, COUNT(*), COALESCE(SUM(day), 0), COALESCE(SUM(day * day), 0) "
			  "FROM calendar_days GROUP BY kind",
	[S_ALL] = "SELECT day, kind FROM calendar_days ORDER BY day",
	[S_YEAR] = "SELECT day, kind, note FROM calendar_days WHERE day >= $1 AND day < $2 ORDER BY day",
	[S_UPSERT] = "INSERT INTO calendar_days (day, kind, note, updated_at) VALUES ($1, $2, $3, $4) "
		     "ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, note = excluded.note, "
		     "updated_at = excluded.updated_at",
	[S_DELETE] = "DELETE FROM calendar_days WHERE day = $1",
	[S_DELETE_RANGE] = "DELETE FROM calendar_days WHERE day >= $1 AND day < $2",
};

static int fingerprint(struct store *st, int64_t fp[CAL_FP])
{
	struct store_res *res = NULL;
	memset(fp, 0, CAL_FP * sizeof fp[0]);
	if (store_query(st, sql[S_FINGERPRINT], NULL, 0, &res) != STORE_OK)
		return -1;
	for (int i = 0; i < store_res_rows(res); i++) {
		int k = strcmp(store_res_text(res, i, 0), "workday") == 0 ? 3 : 0;
		for (int j = 0; j < 3; j++)
			fp[k + j] = store_res_int(res, i, j + 1);
	}
	store_res_free(res);
	return 0;
}

static int build(struct store *st, struct calendar **out);

int calendar_load(struct store *st, struct calendar **out)
{
	int64_t fp[CAL_FP];
	struct calendar *c = NULL, *old = NULL;
	*out = NULL;
	if (fingerprint(st, fp) != 0)
		return -1;
	pthread_mutex_lock(&cache_mu);
	if (cache != NULL && memcmp(fp, cache_fp, sizeof fp) == 0) {
		cache->refs++;
		*out = cache;
	}
	pthread_mutex_unlock(&cache_mu);
	if (*out != NULL)
		return 0;
	if (build(st, &c) != 0)
		return -1;
	c->shared = 1;
	c->refs = 1;   /* the caller's */
	pthread_mutex_lock(&cache_mu);
	old = cache;
	cache = c;
	memcpy(cache_fp, fp, sizeof fp);
	int drop = old != NULL && old->refs == 0;
	pthread_mutex_unlock(&cache_mu);
	if (drop)
		cal_destroy(old);
	*out = c;
	return 0;
}

/* A fresh snapshot of the store's exceptions. */
static int build(struct store *st, struct calendar **out)
{
	struct store_res *res = NULL;
	*out = NULL;
	if (store_query(st, sql[S_ALL], NULL, 0, &res) != STORE_OK)
		return -1;
	int32_t nd = span_end();
	unsigned char *w = weekend_flags(nd);
	for (int i = 0; i < store_res_rows(res); i++) {
		int64_t day = store_res_int(res, i, 0);
		const char *kind = store_res_text(res, i, 1);
		if (day < 0 || day >= nd || kind == NULL)
			continue;
		w[day] = strcmp(kind, "workday") == 0;
	}
	store_res_free(res);
	*out = cal_from_flags(w, nd);
	free(w);
	return 0;
}

static int upsert(struct store *st, cal_day day, enum cal_kind kind, const char *note, size_t note_len)
{
	char *n = (note != NULL && note_len > 0) ? xstrndup(note, note_len) : NULL;
	struct sval p[] = { SVI(day), SVT(cal_kind_name(kind)), SVT(n), SVI(time(NULL)) };
	int rc = store_exec(st, sql[S_UPSERT], p, 4, NULL);
	free(n);
	return rc == STORE_OK ? 0 : -1;
}

int calendar_set_day(struct store *st, cal_day day, enum cal_kind kind, const char *note)
{
	if (!cal_day_in_span(day))
		return -1;
	if (kind == CAL_DEFAULT) {
		struct sval p[] = { SVI(day) };
		return store_exec(st, sql[S_DELETE], p, 1, NULL) == STORE_OK ? 0 : -1;
	}
	if (kind != CAL_HOLIDAY && kind != CAL_WORKDAY)
		return -1;
	return upsert(st, day, kind, note, note ? strlen(note) : 0);
}

json_t *calendar_year_json(struct store *st, int year)
{
	struct store_res *res = NULL;
	struct sval p[] = { SVI(cal_day_from_ymd(year, 1, 1)), SVI(cal_day_from_ymd(year + 1, 1, 1)) };
	if (store_query(st, sql[S_YEAR], p, 2, &res) != STORE_OK)
		return NULL;
	json_t *out = json_array();
	for (int i = 0; i < store_res_rows(res); i++) {
		char date[11];
		const char *note = store_res_text(res, i, 2);
		cal_day_format((cal_day)store_res_int(res, i, 0), date);
		json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "date", date, "kind",
						     store_res_text(res, i, 1), "note", note ? note : ""));
	}
	store_res_free(res);
	return out;
}

json_t *calendar_year_report(struct store *st, int year)
{
	json_t *ex = calendar_year_json(st, year);
	if (ex == NULL)
		return NULL;
	/* The year's days by the weekend rule, then its exceptions. */
	cal_day first = cal_day_from_ymd(year, 1, 1), next_year = cal_day_from_ymd(year + 1, 1, 1);
	int ndays = (int)(next_year - first), holidays = 0, adjusted = 0, total = 0;
	unsigned char w[366];
	for (int i = 0; i < ndays; i++)
		w[i] = cal_weekday(first + i) < 5;
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e) {
		cal_day d;
		if (cal_day_parse(json_string_value(json_object_get(e, "date")), &d) != 0 || d < first ||
		    d >= next_year)
			continue;
		int work = strcmp(json_string_value(json_object_get(e, "kind")), "workday") == 0;
		w[d - first] = (unsigned char)work;
		holidays += !work;
		adjusted += work;
	}
	json_t *months = json_array();
	for (int m = 1; m <= 12; m++) {
		cal_day a = cal_day_from_ymd(year, m, 1) - first;
		cal_day b = (m == 12 ? next_year : cal_day_from_ymd(year, m + 1, 1)) - first;
		int work = 0;
		for (cal_day d = a; d < b; d++)
			work += w[d];
		total += work;
		json_array_append_new(months, json_pack("{s:i,s:i,s:i}", "month", m, "days", (int)(b - a),
							"workdays", work));
	}
	return json_pack("{s:i,s:i,s:i,s:i,s:o,s:o}", "year", year, "workdays", total, "holidays", holidays,
			 "adjusted", adjusted, "exceptions", ex, "months", months);
}

/* ------------------------------------------------------------ import */

struct cal_entry {
	cal_day day;
	enum cal_kind kind;
	int line;
	const char *note;    /* into the text, not NUL-terminated */
	size_t note_len;
};

struct cal_bad {
	int line;
	int seq;             /* order found, to keep the report stable */
	char *reason;
};

struct cal_parse {
	struct cal_entry *e;
	size_t n, cap;
	struct cal_bad *bad;
	size_t nbad, capbad;
};

static void bad_line(struct cal_parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void bad_line(struct cal_parse *p, int line, const char *fmt, ...)
{
	if (p->nbad == p->capbad) {
		p->capbad = p->capbad ? p->capbad * 2 : 16;
		p->bad = xrealloc(p->bad, p->capbad * sizeof *p->bad);
	}
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = xstrdup(msg(MSG_HTTP_400));
	va_end(ap);
	p->bad[p->nbad].line = line;
	p->bad[p->nbad].seq = (int)p->nbad;
	p->bad[p->nbad].reason = s;
	p->nbad++;
}

static void add_entry(struct cal_parse *p, cal_day day, enum cal_kind kind, int line, const char *note,
		      size_t note_len)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->e = xrealloc(p->e, p->cap * sizeof *p->e);
	}
	p->e[p->n++] = (struct cal_entry){ day, kind, line, note, note_len };
}

/* Space between fields: ASCII space, tab, or the ideographic space U+3000. */
static size_t space_len(const char *s, const char *end)
{
	if (s < end && (*s == ' ' || *s == '\t'))
		return 1;
	if (end - s >= 3 && memcmp(s, "\xE3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

static const char *skip_space(const char *s, const char *end)
{
	size_t k;
	while ((k = space_len(s, end)) > 0)
		s += k;
	return s;
}

static const char *token_end(const char *s, const char *end)
{
	while (s < end && space_len(s, end) == 0)
		s++;
	return s;
}

/* Length of at most max bytes of s that ends on a UTF-8 character boundary. */
static int clip(const char *s, size_t n)
{
	if (n <= CAL_SHOW_MAX)
		return (int)n;
	n = CAL_SHOW_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return (int)n;
}

static int parse_date_tok(const char *s, size_t n, cal_day *out)
{
	char b[11];
	if (n != 10)
		return -1;
	memcpy(b, s, 10);
	b[10] = '\0';
	return cal_day_parse(b, out);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct cal_entry *x = a, *y = b;
	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_bad(const void *a, const void *b)
{
	const struct cal_bad *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One line (without its newline); adds entries or reports the line. */
static void parse_line(struct cal_parse *p, int lineno, const char *s, size_t len)
{
	int r = validate_text(s, len, 0, 0, 1);
	if (r != MSG_NONE) {
		bad_line(p, lineno, "%s", msg(r));
		return;
	}
	const char *hash = memchr(s, '#', len);
	const char *end = hash ? hash : s + len;
	const char *a = skip_space(s, end);
	if (a == end)
		return;   /* blank or comment */
	const char *ae = token_end(a, end);
	const char *k = skip_space(ae, end);
	const char *ke = token_end(k, end);
	const char *note = skip_space(ke, end), *ne = end;
	while (ne > note && (ne[-1] == ' ' || ne[-1] == '\t' || ne[-1] == '\r'))
		ne--;
	while (ne - note >= 3 && memcmp(ne - 3, "\xE3\x80\x80", 3) == 0)
		ne -= 3;

	/* the date or range */
	const char *dots = NULL;
	for (const char *q = a; q + 1 < ae; q++)
		if (q[0] == '.' && q[1] == '.') {
			dots = q;
			break;
		}
	cal_day from, to;
	const char *bs = dots ? dots + 2 : a;
	size_t alen = (size_t)((dots ? dots : ae) - a), blen = (size_t)(ae - bs);
	if (parse_date_tok(a, alen, &from) != 0) {
		bad_line(p, lineno, "%s：%.*s", msg(MSG_CAL_BAD_DATE), clip(a, alen), a);
		return;
	}
	to = from;
	if (dots && parse_date_tok(bs, blen, &to) != 0) {
		bad_line(p, lineno, "%s：%.*s", msg(MSG_CAL_BAD_DATE), clip(bs, blen), bs);
		return;
	}
	if (!cal_day_in_span(from) || !cal_day_in_span(to)) {
		bad_line(p, lineno, "%s", msg(MSG_CAL_OUT_OF_SPAN));
		return;
	}
	if (to < from) {
		bad_line(p, lineno, "%s", msg(MSG_CAL_BAD_RANGE));
		return;
	}
	if (to - from + 1 > CAL_RANGE_MAX) {
		bad_line(p, lineno, "%s", msg(MSG_CAL_RANGE_TOO_LONG));
		return;
	}

	/* the kind: holiday, workday, 休, 班 ("default" has no place in a file) */
	char kb[16];
	enum cal_kind kind;
	size_t klen = (size_t)(ke - k);
	if (klen == 0 || klen >= sizeof kb) {
		bad_line(p, lineno, "%s", msg(MSG_CAL_BAD_KIND));
		return;
	}
	memcpy(kb, k, klen);
	kb[klen] = '\0';
	if (cal_kind_parse(kb, &kind) != 0 || kind == CAL_DEFAULT) {
		bad_line(p, lineno, "%s：%.*s", msg(MSG_CAL_BAD_KIND), clip(k, klen), k);
		return;
	}
	if (kind == CAL_WORKDAY)
		for (cal_day d = from; d <= to; d++)
			if (cal_weekday(d) < 5) {
				char ds[11];
				cal_day_format(d, ds);
				bad_line(p, lineno, "%s：%s %s", msg(MSG_CAL_WORKDAY_WEEKDAY), ds,
					 cal_weekday_label(d));
				return;
			}

	/* the note */
	r = validate_text(note, (size_t)(ne - note), 0, CAL_NOTE_MAX, 0);
	if (r != MSG_NONE) {
		bad_line(p, lineno, "%s：%s", msg(MSG_CAL_NOTE), msg(r));
		return;
	}
	if (p->n + (size_t)(to - from + 1) > CAL_IMPORT_MAX_DAYS) {
		bad_line(p, lineno, "%s", msg(MSG_CAL_TOO_MANY));
		return;
	}
	for (cal_day d = from; d <= to; d++)
		add_entry(p, d, kind, lineno, note, (size_t)(ne - note));
}

/* Writes the parsed entries: each year the file touches is replaced. */
static int import_store(struct store *st, const struct cal_parse *p, json_t **report)
{
	int holidays = 0, workdays = 0, last_year = INT_MIN;
	json_t *years = json_array();
	for (size_t i = 0; i < p->n; i++) {
		int y, m, d;
		cal_day_to_ymd(p->e[i].day, &y, &m, &d);
		if (y == last_year)
			continue;
		last_year = y;
		json_array_append_new(years, json_integer(y));
		struct sval v[] = { SVI(cal_day_from_ymd(y, 1, 1)), SVI(cal_day_from_ymd(y + 1, 1, 1)) };
		if (store_exec(st, sql[S_DELETE_RANGE], v, 2, NULL) != STORE_OK)
			goto fail;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct cal_entry *e = &p->e[i];
		if (upsert(st, e->day, e->kind, e->note, e->note_len) != 0)
			goto fail;
		holidays += e->kind == CAL_HOLIDAY;
		workdays += e->kind == CAL_WORKDAY;
	}
	*report = json_pack("{s:i,s:i,s:o}", "holidays", holidays, "workdays", workdays, "years", years);
	return 0;
fail:
	json_decref(years);
	return -1;
}

int calendar_import(struct store *st, const char *text, size_t len, json_t **report)
{
	struct cal_parse p = { 0 };
	int rc = -1, lineno = 0;
	size_t pos = 0;
	*report = NULL;

	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;   /* a UTF-8 byte order mark, as Windows editors write */
	while (pos < len) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl != NULL);
		if (++lineno > CAL_IMPORT_MAX_LINES) {
			bad_line(&p, lineno, "%s", msg(MSG_CAL_TOO_MANY));
			break;
		}
		if (n > 0 && s[n - 1] == '\r')
			n--;
		parse_line(&p, lineno, s, n);
	}
	if (p.nbad == 0 && p.n == 0)
		bad_line(&p, 0, "%s", msg(MSG_CAL_EMPTY));

	/* The same day twice (two lines, or overlapping ranges) is a mistake. */
	if (p.n > 1)
		qsort(p.e, p.n, sizeof *p.e, cmp_entry);
	int last_a = -1, last_b = -1;
	for (size_t i = 1; i < p.n; i++) {
		if (p.e[i].day != p.e[i - 1].day)
			continue;
		int a = p.e[i - 1].line, b = p.e[i].line;
		if (a == last_a && b == last_b)
			continue;   /* overlapping ranges: once per pair of lines */
		last_a = a;
		last_b = b;
		char ds[11];
		cal_day_format(p.e[i].day, ds);
		bad_line(&p, b, "%s %d 行（%s）", msg(MSG_CAL_DUP_DAY), a, ds);
	}

	if (p.nbad > 0) {
		if (p.nbad > 1)
			qsort(p.bad, p.nbad, sizeof *p.bad, cmp_bad);
		json_t *arr = json_array();
		for (size_t i = 0; i < p.nbad && i < CAL_REPORT_MAX; i++)
			json_array_append_new(arr, json_pack("{s:i,s:s}", "line", p.bad[i].line, "reason",
							     p.bad[i].reason));
		*report = arr;
		goto out;
	}
	if (import_store(st, &p, report) != 0)
		goto out;   /* the store has logged it; *report stays NULL */
	rc = 0;
out:
	for (size_t i = 0; i < p.nbad; i++)
		free(p.bad[i].reason);
	free(p.bad);
	free(p.e);
	return rc;
}
