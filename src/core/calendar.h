/*
 * calendar: the deployment's working days.
 *
 * A day is a working day when it is Monday to Friday and not a statutory
 * holiday, or when it is an adjusted working day (调休, usually a Saturday
 * or Sunday next to a holiday).  The exceptions live in the table
 * calendar_days, edited by the platform admin and importable as a yearly
 * file (format in docs/calendar.md; sample in calendar/2026.txt).
 *
 * Days are counted as "cal_day": days since 1970-01-01 of the deployment's
 * civil calendar (no time zone arithmetic: a date is a date).
 *
 * Time limits: a limit of N working days that starts on day S (the day the
 * clock starts, e.g. the day of 受理) ends at the close of the N-th working
 * day after S; S itself does not count.  calendar_add_workdays(c, S, N)
 * returns that day; calendar_workdays_between(c, S, D) counts the working
 * days in (S, D].
 *
 * A struct calendar is an immutable in-memory snapshot (working-day counts
 * over a span of years) so clocks can be computed for a million cases in a
 * fraction of a second.  calendar_load is cheap to call on hot paths: it
 * hands out one shared snapshot (reference-counted; calendar_free drops a
 * reference) for as long as a fingerprint of the store's exceptions is
 * unchanged, and builds a new one when an edit (on any node) changed them.
 * Thread-safe to share.
 */
#ifndef YZ_CALENDAR_H
#define YZ_CALENDAR_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "core/store.h"

typedef int32_t cal_day;

cal_day cal_day_from_ymd(int y, int m, int d);
void cal_day_to_ymd(cal_day day, int *y, int *m, int *d);
/* Parses "YYYY-MM-DD" (a real date); 0 or -1. */
int cal_day_parse(const char *s, cal_day *out);
/* "YYYY-MM-DD" into out (11 bytes). */
void cal_day_format(cal_day day, char out[11]);
/* 0 = Monday ... 6 = Sunday */
int cal_weekday(cal_day day);
/* The local date of a Unix time (the server's local time zone). */
cal_day cal_day_of(time_t t);

enum cal_kind {
	CAL_DEFAULT,    /* no exception: weekday works, weekend rests */
	CAL_HOLIDAY,    /* statutory holiday (法定节假日) */
	CAL_WORKDAY,    /* adjusted working day (调休上班) */
};

struct calendar;

/* The snapshot of the store's exceptions (shared while unchanged; see above). 0 or -1. */
int calendar_load(struct store *st, struct calendar **out);
/* A snapshot with no exceptions (weekends only): for tests and tools. */
struct calendar *calendar_plain(void);
/* Adds an exception to a snapshot being built (tests). */
void calendar_mark(struct calendar *c, cal_day day, enum cal_kind kind);
void calendar_free(struct calendar *c);

int calendar_is_workday(const struct calendar *c, cal_day day);
/* The day on which n working days after start have elapsed (n >= 0; n = 0 gives start). */
cal_day calendar_add_workdays(const struct calendar *c, cal_day start, int n);
/* Working days in (from, to]; negative when to < from. */
int calendar_workdays_between(const struct calendar *c, cal_day from, cal_day to);

/* Sets one day's exception in the caller's transaction (CAL_DEFAULT removes it). */
int calendar_set_day(struct store *st, cal_day day, enum cal_kind kind, const char *note);
/*
 * Imports a yearly file in the caller's transaction: all or nothing.
 * Returns 0 with *report {"holidays":n,"workdays":m}, or -1 with *report an
 * array of {"line","reason"} (NULL on a store failure).
 */
int calendar_import(struct store *st, const char *text, size_t len, json_t **report);
/* The exceptions of one year: [{"date","kind","note"}], or NULL. */
json_t *calendar_year_json(struct store *st, int year);

/* ---- added with the implementation (calendar.c) ----
 *
 * The snapshot holds a prefix sum of working days over the span rather than
 * a bare bitmap (336 KB, built in under a millisecond): calendar_workdays_between
 * is two look-ups and calendar_add_workdays a galloping binary search, O(log n).
 * calendar_add_workdays with n < 0 returns start, as n = 0 does.  calendar_mark
 * costs O(span) and is meant for tests and tools; calendar_load builds at once.
 * calendar_import's report also names the years it replaced: "years": [2026].
 */

/*
 * The span of a snapshot: 1970-01-01 to 2200-12-31.  Outside it a snapshot
 * knows no exceptions and counts by the weekend rule; calendar_set_day and
 * calendar_import refuse days outside it.
 */
#define CAL_FIRST_YEAR 1970
#define CAL_LAST_YEAR 2200
int cal_day_in_span(cal_day day);

/* "default", "holiday", "workday" */
const char *cal_kind_name(enum cal_kind kind);
/* Parses "default", "holiday", "workday" (and 休, 班); 0 or -1. */
int cal_kind_parse(const char *s, enum cal_kind *out);
/* 周一 ... 周日 */
const char *cal_weekday_label(cal_day day);

/*
 * One year for people and machines: {"year", "workdays" (the year's total),
 * "holidays" and "adjusted" (counts of exceptions), "exceptions" (as
 * calendar_year_json), "months": [{"month", "days", "workdays"}]}, or NULL on a
 * store failure.  Counted from the store, not from a snapshot.
 */
json_t *calendar_year_report(struct store *st, int year);

#endif
