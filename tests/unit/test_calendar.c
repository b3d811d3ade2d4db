/* Unit tests of the working-day calendar (core/calendar.c): dates, the
 * snapshot's counting against a day-by-day count, the 2025/2026 schedules,
 * the yearly file import (good and bad) and the store functions. */
#include "testutil.h"

#include "core/calendar.h"
#include "core/embed.h"

static cal_day D(const char *s)
{
	cal_day d = 0;
	if (cal_day_parse(s, &d) != 0)
		fail_msg("bad date in the test: %s", s);
	return d;
}

static void assert_day(cal_day got, const char *want)
{
	char s[11];
	cal_day_format(got, s);
	assert_string_equal(s, want);
}

static struct store *fresh_store(void)
{
	struct store *st = test_store_open();
	assert_int_equal(store_migrate(st), 0);
	return st;
}

static const struct embed_file *embedded(const char *name)
{
	for (const struct embed_file *f = embed_calendars; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	fail_msg("calendar/%s is not embedded", name);
	return NULL;
}

/* Imports text in its own transaction; returns the import's result. */
static int import(struct store *st, const char *text, json_t **report)
{
	assert_int_equal(store_begin(st), 0);
	int rc = calendar_import(st, text, strlen(text), report);
	if (rc == 0)
		assert_int_equal(store_commit(st), 0);
	else
		store_rollback(st);
	return rc;
}

static void test_ymd(void **state)
{
	(void)state;
	int y, m, d;
	assert_int_equal(cal_day_from_ymd(1970, 1, 1), 0);
	assert_int_equal(cal_day_from_ymd(1969, 12, 31), -1);
	assert_int_equal(cal_day_from_ymd(1970, 3, 1), 59);
	assert_int_equal(cal_day_from_ymd(2000, 3, 1) - cal_day_from_ymd(2000, 2, 28), 2);   /* 2000 leap */
	assert_int_equal(cal_day_from_ymd(2100, 3, 1) - cal_day_from_ymd(2100, 2, 28), 1);   /* 2100 not */
	assert_int_equal(cal_day_from_ymd(2024, 3, 1) - cal_day_from_ymd(2024, 2, 28), 2);
	assert_int_equal(cal_day_from_ymd(2026, 10, 1), 20727);
	cal_day_to_ymd(0, &y, &m, &d);
	assert_true(y == 1970 && m == 1 && d == 1);
	cal_day_to_ymd(-1, &y, &m, &d);
	assert_true(y == 1969 && m == 12 && d == 31);

	/* Every day from 1900 to 2300 round-trips, one after another, with the
	 * right month lengths. */
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	cal_day day = cal_day_from_ymd(1900, 1, 1);
	for (int yy = 1900; yy < 2300; yy++) {
		int leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
		for (int mm = 1; mm <= 12; mm++) {
			int n = mdays[mm - 1] + (mm == 2 && leap);
			for (int dd = 1; dd <= n; dd++, day++) {
				if (cal_day_from_ymd(yy, mm, dd) != day)
					fail_msg("%04d-%02d-%02d: %d, expected %d", yy, mm, dd,
						 cal_day_from_ymd(yy, mm, dd), day);
				cal_day_to_ymd(day, &y, &m, &d);
				if (y != yy || m != mm || d != dd)
					fail_msg("day %d: %04d-%02d-%02d", day, y, m, d);
			}
		}
	}

	cal_day p;
	assert_int_equal(cal_day_parse("2000-02-29", &p), 0);
	assert_day(p, "2000-02-29");
	assert_int_equal(cal_day_parse("2024-02-29", &p), 0);
	assert_int_equal(cal_day_parse("2100-02-29", &p), -1);
	assert_int_equal(cal_day_parse("2026-02-29", &p), -1);
	assert_int_equal(cal_day_parse("2026-02-30", &p), -1);
	assert_int_equal(cal_day_parse("2026-13-01", &p), -1);
	assert_int_equal(cal_day_parse("2026-1-01", &p), -1);
	assert_int_equal(cal_day_parse("2026-01-01x", &p), -1);
	assert_int_equal(cal_day_parse("", &p), -1);
	assert_int_equal(cal_day_parse(NULL, &p), -1);
	assert_day(D("1970-01-01"), "1970-01-01");
	assert_day(D("2100-12-31"), "2100-12-31");
	assert_day(D("2200-12-31"), "2200-12-31");
	assert_day(D("1900-03-01"), "1900-03-01");
	assert_true(cal_day_in_span(D("1970-01-01")));
	assert_true(cal_day_in_span(D("2200-12-31")));
	assert_false(cal_day_in_span(D("1969-12-31")));
	assert_false(cal_day_in_span(D("2201-01-01")));
}

static void test_weekday(void **state)
{
	(void)state;
	assert_int_equal(cal_weekday(D("1970-01-01")), 3);   /* Thursday */
	assert_int_equal(cal_weekday(D("1969-12-31")), 2);
	assert_int_equal(cal_weekday(D("1969-12-28")), 6);
	assert_int_equal(cal_weekday(D("2000-01-01")), 5);
	assert_int_equal(cal_weekday(D("2025-01-26")), 6);
	assert_int_equal(cal_weekday(D("2026-02-14")), 5);
	assert_int_equal(cal_weekday(D("2026-10-01")), 3);
	assert_int_equal(cal_weekday(D("2026-10-12")), 0);
	assert_int_equal(cal_weekday(D("2100-01-01")), 4);
	assert_string_equal(cal_weekday_label(D("2026-10-10")), "周六");
	assert_string_equal(cal_weekday_label(D("2026-10-12")), "周一");
	time_t noon = (time_t)20717 * 86400 + 43200;   /* 2026-09-21 12:00 UTC: that date from UTC-12 to UTC+11 */
	assert_day(cal_day_of(noon), "2026-09-21");
}

/* Day by day, the slow and obvious way. */
static int slow_between(const struct calendar *c, cal_day from, cal_day to)
{
	int n = 0;
	if (to >= from) {
		for (cal_day d = from + 1; d <= to; d++)
			n += calendar_is_workday(c, d);
		return n;
	}
	for (cal_day d = to + 1; d <= from; d++)
		n -= calendar_is_workday(c, d);
	return n;
}

static cal_day slow_add(const struct calendar *c, cal_day start, int n)
{
	cal_day d = start;
	while (n > 0)
		if (calendar_is_workday(c, ++d))
			n--;
	return d;
}

/* add and between agree with the day-by-day count around a day. */
static void check_around(const struct calendar *c, cal_day base)
{
	for (cal_day s = base - 20; s <= base + 20; s++) {
		for (int n = 0; n <= 30; n++) {
			cal_day want = slow_add(c, s, n);
			if (calendar_add_workdays(c, s, n) != want) {
				char a[11], b[11];
				cal_day_format(s, a);
				cal_day_format(want, b);
				fail_msg("add(%s, %d): got %d, want %s", a, n, calendar_add_workdays(c, s, n), b);
			}
		}
		for (cal_day t = s - 25; t <= s + 25; t++)
			if (calendar_workdays_between(c, s, t) != slow_between(c, s, t))
				fail_msg("between(%d, %d): %d, want %d", s, t, calendar_workdays_between(c, s, t),
					 slow_between(c, s, t));
	}
}

static void test_plain(void **state)
{
	(void)state;
	struct calendar *c = calendar_plain();
	for (cal_day d = D("1969-01-01"); d < D("1971-01-01"); d++)
		assert_int_equal(calendar_is_workday(c, d), cal_weekday(d) < 5);
	for (cal_day d = D("2200-06-01"); d < D("2201-06-01"); d++)
		assert_int_equal(calendar_is_workday(c, d), cal_weekday(d) < 5);
	/* Friday + 1 = Monday; Saturday + 1 = Monday; Friday to next Friday = 5 */
	assert_day(calendar_add_workdays(c, D("2030-01-04"), 1), "2030-01-07");
	assert_day(calendar_add_workdays(c, D("2030-01-05"), 1), "2030-01-07");
	assert_day(calendar_add_workdays(c, D("2030-01-04"), 5), "2030-01-11");
	assert_int_equal(calendar_workdays_between(c, D("2030-01-04"), D("2030-01-11")), 5);
	assert_int_equal(calendar_workdays_between(c, D("2030-01-11"), D("2030-01-04")), -5);
	/* a year of weekdays, and across the span's edges */
	assert_int_equal(calendar_workdays_between(c, D("2029-12-31"), D("2030-12-31")), 261);
	check_around(c, D("1970-01-01"));
	check_around(c, D("2201-01-01"));
	check_around(c, D("1900-07-15"));
	assert_int_equal(calendar_workdays_between(c, D("1969-12-26"), D("1970-01-09")), 10);
	assert_day(calendar_add_workdays(c, D("2200-12-30"), 3), "2201-01-02");
	assert_day(calendar_add_workdays(c, D("1969-12-24"), 10), "1970-01-07");
	/* far ranges: 1000 weeks is 5000 working days */
	assert_day(calendar_add_workdays(c, D("2000-01-03"), 5000), "2019-03-04");
	assert_int_equal(calendar_workdays_between(c, D("2000-01-02"), D("2019-03-03")), 5000);
	calendar_free(c);
}

/* 2026: 中秋 09-25..27, 国庆 10-01..07, 调休 09-20 (Sun) and 10-10 (Sat). */
static void mark_2026_autumn(struct calendar *c)
{
	for (cal_day d = D("2026-09-25"); d <= D("2026-09-27"); d++)
		calendar_mark(c, d, CAL_HOLIDAY);
	for (cal_day d = D("2026-10-01"); d <= D("2026-10-07"); d++)
		calendar_mark(c, d, CAL_HOLIDAY);
	calendar_mark(c, D("2026-09-20"), CAL_WORKDAY);
	calendar_mark(c, D("2026-10-10"), CAL_WORKDAY);
}

static void test_golden_week(void **state)
{
	(void)state;
	struct calendar *c = calendar_plain();
	mark_2026_autumn(c);
	/* a 调休 Saturday counts; the holidays do not */
	assert_true(calendar_is_workday(c, D("2026-10-10")));
	assert_true(calendar_is_workday(c, D("2026-09-20")));
	assert_false(calendar_is_workday(c, D("2026-10-01")));
	assert_false(calendar_is_workday(c, D("2026-10-05")));   /* a Monday off */
	assert_false(calendar_is_workday(c, D("2026-10-11")));   /* Sunday */
	assert_true(calendar_is_workday(c, D("2026-09-30")));
	/* 09-30 + 1 = 10-08; then 10-09, 10-10 (Sat, 调休), then Monday 10-12 */
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 1), "2026-10-08");
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 2), "2026-10-09");
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 3), "2026-10-10");
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 4), "2026-10-12");
	assert_int_equal(calendar_workdays_between(c, D("2026-09-30"), D("2026-10-10")), 3);
	assert_int_equal(calendar_workdays_between(c, D("2026-09-30"), D("2026-10-07")), 0);
	assert_int_equal(calendar_workdays_between(c, D("2026-10-10"), D("2026-09-30")), -3);
	/* 09-19 (Sat) + 1 = 09-20 (Sun, 调休); 09-24 + 1 skips 中秋 and the weekend... */
	assert_day(calendar_add_workdays(c, D("2026-09-19"), 1), "2026-09-20");
	assert_day(calendar_add_workdays(c, D("2026-09-24"), 1), "2026-09-28");
	/* ...a 20-working-day limit from Friday 09-18: 09-20, 21–24, 28–30, 10-08–10, 12–16, 19–22 */
	assert_day(calendar_add_workdays(c, D("2026-09-18"), 20), "2026-10-22");
	/* N = 0 is the start itself, working day or not */
	assert_day(calendar_add_workdays(c, D("2026-10-03"), 0), "2026-10-03");
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 0), "2026-09-30");
	assert_int_equal(calendar_workdays_between(c, D("2026-10-03"), D("2026-10-03")), 0);
	check_around(c, D("2026-10-01"));
	/* marking back to default restores the weekend rule */
	calendar_mark(c, D("2026-10-10"), CAL_DEFAULT);
	calendar_mark(c, D("2026-10-05"), CAL_DEFAULT);
	assert_false(calendar_is_workday(c, D("2026-10-10")));
	assert_true(calendar_is_workday(c, D("2026-10-05")));
	assert_int_equal(calendar_workdays_between(c, D("2026-09-30"), D("2026-10-10")), 3);
	check_around(c, D("2026-10-01"));
	calendar_free(c);
}

static void test_import_samples(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	json_t *rep = NULL;
	const struct embed_file *f25 = embedded("2025.txt"), *f26 = embedded("2026.txt");

	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_import(st, (const char *)f26->data, f26->len, &rep), 0);
	assert_int_equal(store_commit(st), 0);
	/* 元旦 3 + 春节 9 + 清明 3 + 劳动节 5 + 端午 3 + 中秋 3 + 国庆 7; 调休 1 + 2 + 1 + 2 */
	assert_int_equal(json_integer_value(json_object_get(rep, "holidays")), 33);
	assert_int_equal(json_integer_value(json_object_get(rep, "workdays")), 6);
	assert_int_equal(json_array_size(json_object_get(rep, "years")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(rep, "years"), 0)), 2026);
	json_decref(rep);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_import(st, (const char *)f25->data, f25->len, &rep), 0);
	assert_int_equal(store_commit(st), 0);
	/* 元旦 1 + 春节 8 + 清明 3 + 劳动节 5 + 端午 3 + 国庆中秋 8; 调休 2 + 1 + 2 */
	assert_int_equal(json_integer_value(json_object_get(rep, "holidays")), 28);
	assert_int_equal(json_integer_value(json_object_get(rep, "workdays")), 5);
	json_decref(rep);

	struct calendar *c = NULL;
	assert_int_equal(calendar_load(st, &c), 0);
	/* 2026 春节 across weekends: 02-14 (Sat) works, 02-15..23 rest, 02-28 (Sat) works */
	assert_true(calendar_is_workday(c, D("2026-02-14")));
	assert_false(calendar_is_workday(c, D("2026-02-23")));
	assert_true(calendar_is_workday(c, D("2026-02-28")));
	assert_day(calendar_add_workdays(c, D("2026-02-13"), 1), "2026-02-14");
	assert_day(calendar_add_workdays(c, D("2026-02-13"), 2), "2026-02-24");
	assert_int_equal(calendar_workdays_between(c, D("2026-02-13"), D("2026-02-28")), 6);
	assert_int_equal(calendar_workdays_between(c, D("2026-02-28"), D("2026-02-13")), -6);
	/* 国庆 2026 from the file, as marked by hand above */
	assert_day(calendar_add_workdays(c, D("2026-09-30"), 1), "2026-10-08");
	assert_int_equal(calendar_workdays_between(c, D("2026-09-30"), D("2026-10-10")), 3);
	/* 2025 春节: 01-26 (Sun) works, 01-28..02-04 rest, 02-08 (Sat) works */
	assert_day(calendar_add_workdays(c, D("2025-01-24"), 1), "2025-01-26");
	assert_day(calendar_add_workdays(c, D("2025-01-26"), 2), "2025-02-05");
	assert_int_equal(calendar_workdays_between(c, D("2025-01-24"), D("2025-02-08")), 6);
	/* the whole years: 261 weekdays; 2025: -18 holidays on weekdays +5 调休; 2026: -19 +6 */
	assert_int_equal(calendar_workdays_between(c, D("2024-12-31"), D("2025-12-31")), 248);
	assert_int_equal(calendar_workdays_between(c, D("2025-12-31"), D("2026-12-31")), 248);
	check_around(c, D("2026-02-18"));
	check_around(c, D("2025-05-01"));
	calendar_free(c);

	json_t *y = calendar_year_report(st, 2026);
	assert_non_null(y);
	assert_int_equal(json_integer_value(json_object_get(y, "workdays")), 248);
	assert_int_equal(json_integer_value(json_object_get(y, "holidays")), 33);
	assert_int_equal(json_integer_value(json_object_get(y, "adjusted")), 6);
	json_t *months = json_object_get(y, "months");
	assert_int_equal(json_array_size(months), 12);
	/* October 2026: 22 weekdays - 5 holidays + 10-10 = 18; February: 20 - 6 + 2 = 16 */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(months, 9), "workdays")), 18);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(months, 1), "workdays")), 16);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(months, 1), "days")), 28);
	json_decref(y);
	store_close(st);
}

static void test_import_bad(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	json_t *rep = NULL;
	const char *good = "# 2030 test\n"
			   "2030-01-01 holiday 元旦\n"
			   "2030-02-02..2030-02-08 休 春节\n"
			   "2030-01-26 班 春节调休上班\r\n"
			   "\n"
			   "  2030-10-01..2030-10-07\tholiday  国庆节  # trailing comment\n"
			   "2031-01-01　holiday　元旦\n";   /* ideographic spaces */
	assert_int_equal(import(st, good, &rep), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "holidays")), 16);
	assert_int_equal(json_integer_value(json_object_get(rep, "workdays")), 1);
	assert_int_equal(json_array_size(json_object_get(rep, "years")), 2);
	json_decref(rep);
	json_t *before = calendar_year_json(st, 2030);
	assert_int_equal(json_array_size(before), 16);
	json_t *first = json_array_get(before, 0);
	assert_string_equal(json_string_value(json_object_get(first, "date")), "2030-01-01");
	assert_string_equal(json_string_value(json_object_get(first, "kind")), "holiday");
	assert_string_equal(json_string_value(json_object_get(first, "note")), "元旦");
	json_t *oct = json_array_get(before, 9);
	assert_string_equal(json_string_value(json_object_get(oct, "date")), "2030-10-01");
	assert_string_equal(json_string_value(json_object_get(oct, "note")), "国庆节");

	const char *bad = "# bad lines\n"                        /* 1 */
			  "2030-03-01 holiday ok\n"                /* 2 */
			  "2026-02-30 holiday 二月三十\n"          /* 3: no such day */
			  "2030-03-02 vacation\n"                  /* 4: unknown kind */
			  "2030-03-10..2030-03-05 holiday\n"       /* 5: range backwards */
			  "2030-03-01 holiday again\n"             /* 6: line 2's day again */
			  "2030-03-04 workday\n"                   /* 7: a Monday as 调休 */
			  "2030-03-06\n"                           /* 8: no kind */
			  "1969-12-31 holiday\n"                   /* 9: outside the span */
			  "30-03-01 holiday\n";                    /* 10: not a date */
	assert_int_equal(import(st, bad, &rep), -1);
	assert_true(json_is_array(rep));
	static const int lines[] = { 3, 4, 5, 6, 7, 8, 9, 10 };
	assert_int_equal(json_array_size(rep), sizeof lines / sizeof lines[0]);
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		json_t *e = json_array_get(rep, i);
		assert_int_equal(json_integer_value(json_object_get(e, "line")), lines[i]);
		assert_true(json_string_length(json_object_get(e, "reason")) > 0);
	}
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rep, 0), "reason")),
			       "2026-02-30"));
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(rep, 3), "reason")), "第 2 行"));
	json_decref(rep);
	/* nothing changed */
	json_t *after = calendar_year_json(st, 2030);
	assert_true(json_equal(before, after));
	json_decref(after);

	/* overlapping ranges are reported once per pair of lines */
	assert_int_equal(import(st, "2030-05-01..2030-05-05 休\n2030-05-03..2030-05-09 休\n", &rep), -1);
	assert_int_equal(json_array_size(rep), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 0), "line")), 2);
	json_decref(rep);
	/* nothing at all, invalid UTF-8, a note too long */
	assert_int_equal(import(st, "# only a comment\n\n", &rep), -1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 0), "line")), 0);
	json_decref(rep);
	assert_int_equal(import(st, "2030-05-01 holiday \xff\xfe\n", &rep), -1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rep, 0), "line")), 1);
	json_decref(rep);
	char longnote[400] = "2030-05-01 holiday ";
	size_t at = strlen(longnote);
	for (int i = 0; i < 101; i++, at += 3)
		memcpy(longnote + at, "长", 3);   /* 101 characters: one too many */
	longnote[at] = '\0';
	assert_int_equal(import(st, longnote, &rep), -1);
	json_decref(rep);
	after = calendar_year_json(st, 2030);
	assert_true(json_equal(before, after));
	json_decref(after);
	json_decref(before);

	/* Re-importing replaces the years the file touches, and only those. */
	assert_int_equal(import(st, "2030-12-25 holiday 只剩一天\n", &rep), 0);
	json_decref(rep);
	json_t *y30 = calendar_year_json(st, 2030), *y31 = calendar_year_json(st, 2031);
	assert_int_equal(json_array_size(y30), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(y30, 0), "note")), "只剩一天");
	assert_int_equal(json_array_size(y31), 1);
	json_decref(y30);
	json_decref(y31);
	store_close(st);
}

static void test_set_day(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	struct calendar *c = NULL;
	json_t *y;
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_set_day(st, D("2030-06-05"), CAL_HOLIDAY, "端午节"), 0);   /* a Wednesday */
	assert_int_equal(calendar_set_day(st, D("2030-06-08"), CAL_WORKDAY, NULL), 0);      /* a Saturday */
	assert_int_equal(calendar_set_day(st, D("2030-06-09"), CAL_HOLIDAY, ""), 0);
	assert_int_equal(calendar_set_day(st, D("1969-06-09"), CAL_HOLIDAY, ""), -1);       /* outside the span */
	assert_int_equal(store_commit(st), 0);
	y = calendar_year_json(st, 2030);
	assert_int_equal(json_array_size(y), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(y, 0), "note")), "端午节");
	assert_string_equal(json_string_value(json_object_get(json_array_get(y, 1), "kind")), "workday");
	assert_string_equal(json_string_value(json_object_get(json_array_get(y, 1), "note")), "");
	json_decref(y);
	assert_int_equal(calendar_load(st, &c), 0);
	assert_false(calendar_is_workday(c, D("2030-06-05")));
	assert_true(calendar_is_workday(c, D("2030-06-08")));
	assert_day(calendar_add_workdays(c, D("2030-06-04"), 1), "2030-06-06");
	assert_day(calendar_add_workdays(c, D("2030-06-07"), 1), "2030-06-08");
	calendar_free(c);

	/* change one, remove one: the store and a fresh snapshot follow */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_set_day(st, D("2030-06-05"), CAL_HOLIDAY, "改过的备注"), 0);
	assert_int_equal(calendar_set_day(st, D("2030-06-08"), CAL_DEFAULT, NULL), 0);
	assert_int_equal(calendar_set_day(st, D("2030-06-08"), CAL_DEFAULT, NULL), 0);   /* removing twice is fine */
	assert_int_equal(store_commit(st), 0);
	y = calendar_year_json(st, 2030);
	assert_int_equal(json_array_size(y), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(y, 0), "note")), "改过的备注");
	assert_string_equal(json_string_value(json_object_get(json_array_get(y, 1), "date")), "2030-06-09");
	json_decref(y);
	assert_int_equal(calendar_load(st, &c), 0);
	assert_false(calendar_is_workday(c, D("2030-06-08")));
	assert_day(calendar_add_workdays(c, D("2030-06-07"), 1), "2030-06-10");
	calendar_free(c);

	/* a rolled-back change leaves nothing */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_set_day(st, D("2030-07-01"), CAL_HOLIDAY, "x"), 0);
	store_rollback(st);
	y = calendar_year_json(st, 2030);
	assert_int_equal(json_array_size(y), 2);
	json_decref(y);
	y = calendar_year_json(st, 2029);
	assert_int_equal(json_array_size(y), 0);
	json_decref(y);

	/* the year report counts from the store */
	y = calendar_year_report(st, 2030);
	/* 2030: starts on a Tuesday, 365 days: 261 weekdays; 06-05 off (06-09 is a Sunday) */
	assert_int_equal(json_integer_value(json_object_get(y, "workdays")), 260);
	assert_int_equal(json_integer_value(json_object_get(y, "holidays")), 2);
	assert_int_equal(json_integer_value(json_object_get(y, "adjusted")), 0);
	json_decref(y);
	store_close(st);
}

/* calendar_load hands out one shared snapshot while the store is unchanged,
 * and a new one as soon as it changes; an old one stays valid until freed. */
static void test_load_cache(void **state)
{
	(void)state;
	struct store *st = fresh_store();
	struct calendar *a = NULL, *b = NULL, *c = NULL;
	cal_day sat = cal_day_from_ymd(2031, 3, 1);   /* a Saturday */
	assert_int_equal(calendar_load(st, &a), 0);
	assert_int_equal(calendar_load(st, &b), 0);
	assert_ptr_equal(a, b);
	assert_false(calendar_is_workday(a, sat));
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(calendar_set_day(st, sat, CAL_WORKDAY, "调休"), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(calendar_load(st, &c), 0);
	assert_ptr_not_equal(a, c);
	assert_true(calendar_is_workday(c, sat));
	assert_false(calendar_is_workday(a, sat));    /* the old snapshot is untouched */
	calendar_mark(c, sat, CAL_HOLIDAY);           /* shared: read-only */
	assert_true(calendar_is_workday(c, sat));
	calendar_free(a);
	calendar_free(b);
	calendar_free(c);
	store_close(st);
}

static void test_kinds(void **state)
{
	(void)state;
	enum cal_kind k;
	assert_int_equal(cal_kind_parse("休", &k), 0);
	assert_int_equal(k, CAL_HOLIDAY);
	assert_int_equal(cal_kind_parse("班", &k), 0);
	assert_int_equal(k, CAL_WORKDAY);
	assert_int_equal(cal_kind_parse("default", &k), 0);
	assert_int_equal(k, CAL_DEFAULT);
	assert_int_equal(cal_kind_parse("Holiday", &k), -1);
	assert_string_equal(cal_kind_name(CAL_WORKDAY), "workday");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ymd),
		cmocka_unit_test(test_weekday),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_golden_week),
		cmocka_unit_test(test_import_samples),
		cmocka_unit_test(test_import_bad),
		cmocka_unit_test(test_set_day),
		cmocka_unit_test(test_load_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
