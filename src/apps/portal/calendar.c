/*
 * The working-day calendar: the platform admin's page (a month grid of a
 * year, a form to set one day, a paste box to import a yearly file) and
 * its API.  Reads are open (staff on the page, anyone on the API); writes
 * are the platform admin's, each audited in the request's transaction.
 * The calendar itself is core/calendar.c; the file format docs/calendar.md.
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/calendar.h"
#include "core/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CAL_WORKDAYS_MAX 3660   /* ?days= of the workdays API: ten years */

static const char *const cal_kinds[] = { "default", "holiday", "workday", NULL };

const struct field_spec fs_cal_page[] = {
	{ "year", FT_INT, 0, CAL_FIRST_YEAR, CAL_LAST_YEAR, NULL, "年份" },
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ NULL },
};

const struct field_spec fs_cal_day[] = {
	{ "date", FT_DATE, FS_REQUIRED, 0, 0, NULL, "日期" },
	{ "kind", FT_CHOICE, FS_REQUIRED, 0, 0, cal_kinds, "类型" },
	{ "note", FT_TEXT, 0, 0, 100, NULL, "备注" },
	{ NULL },
};

const struct field_spec fs_cal_day_api[] = {
	{ "kind", FT_CHOICE, FS_REQUIRED, 0, 0, cal_kinds, "类型" },
	{ "note", FT_TEXT, 0, 0, 100, NULL, "备注" },
	{ NULL },
};

const struct field_spec fs_cal_import[] = {
	{ "text", FT_TEXTAREA, FS_REQUIRED, 1, 200000, NULL, "年度日历文件内容" },
	{ NULL },
};

const struct field_spec fs_cal_workdays[] = {
	{ "from", FT_DATE, FS_REQUIRED, 0, 0, NULL, "起算日" },
	{ "days", FT_INT, FS_REQUIRED, 0, CAL_WORKDAYS_MAX, NULL, "工作日数" },
	{ NULL },
};

static const char *kind_label(const char *kind)
{
	return strcmp(kind, "holiday") == 0   ? msg(MSG_CAL_KIND_HOLIDAY)
	       : strcmp(kind, "workday") == 0 ? msg(MSG_CAL_KIND_WORKDAY)
					      : msg(MSG_CAL_KIND_DEFAULT);
}

static int this_year(void)
{
	int y, m, d;
	cal_day_to_ymd(cal_day_of(time(NULL)), &y, &m, &d);
	return y < CAL_FIRST_YEAR ? CAL_FIRST_YEAR : y > CAL_LAST_YEAR ? CAL_LAST_YEAR : y;
}

/* The month grid: weeks from Monday, each day with how it counts. */
static json_t *month_grid(int year, int month, json_t *const *ex_of_day, cal_day first_of_year,
			  cal_day today)
{
	cal_day a = cal_day_from_ymd(year, month, 1);
	cal_day b = month == 12 ? cal_day_from_ymd(year + 1, 1, 1) : cal_day_from_ymd(year, month + 1, 1);
	json_t *weeks = json_array(), *days = NULL;
	int lead = cal_weekday(a), cells = 0;
	for (int i = -lead; a + i < b || cells % 7 != 0; i++, cells++) {
		if (cells % 7 == 0) {
			days = json_array();
			json_array_append_new(weeks, json_pack("{s:o}", "days", days));
		}
		cal_day d = a + i;
		if (i < 0 || d >= b) {
			json_array_append_new(days, json_pack("{s:i,s:b,s:b,s:b,s:b,s:s,s:s}", "d", 0, "rest", 0,
							      "holiday", 0, "workday", 0, "today", 0,
							      "kind_label", "", "note", ""));
			continue;
		}
		const json_t *e = ex_of_day[d - first_of_year];
		const char *kind = e ? json_string_value(json_object_get(e, "kind")) : "default";
		const char *note = e ? json_string_value(json_object_get(e, "note")) : "";
		int holiday = strcmp(kind, "holiday") == 0, workday = strcmp(kind, "workday") == 0;
		int rest = holiday || (!workday && cal_weekday(d) >= 5);
		json_array_append_new(days, json_pack("{s:i,s:b,s:b,s:b,s:b,s:s,s:s}", "d", i + 1, "rest", rest,
						      "holiday", holiday, "workday", workday, "today",
						      d == today, "kind_label", kind_label(kind), "note",
						      note ? note : ""));
	}
	return weeks;
}

/* Everything the page shows for one year; 0, or -1 after answering 500. */
static int calendar_ctx(struct req *r, json_t *ctx, int year)
{
	json_t *rep = calendar_year_report(r->st, year);
	if (rep == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	cal_day first = cal_day_from_ymd(year, 1, 1), today = cal_day_of(time(NULL));
	json_t *by_day[366] = { 0 };
	json_t *ex = json_object_get(rep, "exceptions");
	size_t i;
	json_t *e;
	json_array_foreach(ex, i, e) {
		cal_day d;
		if (cal_day_parse(json_string_value(json_object_get(e, "date")), &d) != 0 || d < first ||
		    d - first >= 366)
			continue;
		by_day[d - first] = e;
		json_object_set_new(e, "weekday", json_string(cal_weekday_label(d)));
		json_object_set_new(e, "kind_label",
				    json_string(kind_label(json_string_value(json_object_get(e, "kind")))));
	}
	json_t *months = json_array();
	json_array_foreach(json_object_get(rep, "months"), i, e)
		json_array_append_new(months, json_pack("{s:O,s:O,s:o}", "month", json_object_get(e, "month"),
							"workdays", json_object_get(e, "workdays"), "weeks",
							month_grid(year, (int)i + 1, by_day, first, today)));
	json_object_set_new(ctx, "title", json_string("工作日历"));
	json_object_set_new(ctx, "year", json_integer(year));
	if (year > CAL_FIRST_YEAR)
		json_object_set_new(ctx, "prev_year", json_integer(year - 1));
	if (year < CAL_LAST_YEAR)
		json_object_set_new(ctx, "next_year", json_integer(year + 1));
	json_object_set(ctx, "exceptions", ex);
	json_object_set_new(ctx, "months", months);
	json_object_del(rep, "exceptions");
	json_object_del(rep, "months");
	json_object_set_new(ctx, "report", rep);
	json_object_set_new(ctx, "can_edit", json_boolean(r->who.roles & ROLEBIT_PLATFORM_ADMIN));

	/* the set-one-day form's kinds, with the one chosen (holiday by default) */
	json_t *values = json_object_get(ctx, "values");
	if (!json_is_object(values)) {
		values = json_object();
		json_object_set_new(ctx, "values", values);
	}
	const char *chosen = json_string_value(json_object_get(values, "kind"));
	if (chosen == NULL)
		chosen = "holiday";
	static const char *const hints[] = {
		"删除这一天的标注，恢复为周一至周五上班、周六周日休息",
		"这一天休息（即使是周一至周五）",
		"这一天上班（只能是周六或周日）",
	};
	json_t *kinds = json_array();
	for (int k = 0; cal_kinds[k]; k++)
		json_array_append_new(kinds, json_pack("{s:s,s:s,s:s,s:s,s:b}", "value", cal_kinds[k], "id",
						       k == 0 ? "kind" : arena_printf(r->arena, "kind-%s", cal_kinds[k]),
						       "label", kind_label(cal_kinds[k]), "hint", hints[k], "checked",
						       strcmp(chosen, cal_kinds[k]) == 0));
	json_object_set_new(ctx, "kinds", kinds);
	return 0;
}

/* The year a form was about: its date's, or this year. */
static int form_year(json_t *ctx)
{
	cal_day d;
	const char *date = json_string_value(json_object_get(json_object_get(ctx, "values"), "date"));
	int y, m, dd;
	if (date == NULL || cal_day_parse(date, &d) != 0 || !cal_day_in_span(d))
		return this_year();
	cal_day_to_ymd(d, &y, &m, &dd);
	return y;
}

/* Fills the page around a form that came back with an input error. */
void form_fill_calendar(struct req *r, json_t *ctx)
{
	/* The response is already claimed: a store failure here leaves the grid out. */
	calendar_ctx(r, ctx, form_year(ctx));
}

/* GET /admin/calendar?year=YYYY */
void page_calendar(struct req *r)
{
	json_t *ctx = json_object();
	const char *saved = req_in_str(r, "saved");
	if (calendar_ctx(r, ctx, (int)req_in_int(r, "year", this_year())) != 0) {
		json_decref(ctx);
		return;
	}
	json_object_set_new(ctx, "saved_day", json_boolean(saved && strcmp(saved, "day") == 0));
	json_object_set_new(ctx, "saved_import", json_boolean(saved && strcmp(saved, "import") == 0));
	resp_page(r, 200, "portal/calendar", ctx);
}

/* Sets one day from validated input: 0 with *day, or -1 after answering. */
static int set_day(struct req *r, const char *date, cal_day *day)
{
	enum cal_kind kind;
	const char *kind_s = req_in_str(r, "kind"), *note = req_in_str(r, "note");
	if (cal_day_parse(date, day) != 0)
		return portal_input_fail(r, MSG_DATE_FORMAT, "date");
	if (!cal_day_in_span(*day))
		return portal_input_fail(r, MSG_CAL_OUT_OF_SPAN, "date");
	if (cal_kind_parse(kind_s, &kind) != 0)
		return portal_input_fail(r, MSG_FIELD_BAD_CHOICE, "kind");
	if (kind == CAL_WORKDAY && cal_weekday(*day) < 5)
		return portal_input_fail(r, MSG_CAL_WORKDAY_WEEKDAY, "kind");
	if (kind == CAL_DEFAULT)
		note = NULL;
	if (calendar_set_day(r->st, *day, kind, note) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	json_t *detail = json_pack("{s:s,s:s?}", "kind", cal_kind_name(kind), "note", note);
	char *d = json_dumps(detail, JSON_COMPACT);
	json_decref(detail);
	int rc = portal_audit(r, "calendar.set", arena_printf(r->arena, "calendar:%s", date), 0,
			      d ? arena_strdup(r->arena, d) : NULL);
	free(d);
	return rc;
}

/* POST /admin/calendar/day */
void do_calendar_day(struct req *r)
{
	cal_day day;
	const char *date = req_in_str(r, "date");
	if (set_day(r, date, &day) != 0)
		return;
	int y, m, d;
	cal_day_to_ymd(day, &y, &m, &d);
	resp_redirect(r, arena_printf(r->arena, "/admin/calendar?year=%d&saved=day#m-%d", y, m));
}

/* PUT /api/v1/calendar/days/{date} */
void api_calendar_day(struct req *r)
{
	cal_day day;
	const char *date = req_param(r, "date");
	if (date == NULL || cal_day_parse(date, &day) != 0) {
		resp_error(r, 400, MSG_DATE_FORMAT, "date");
		return;
	}
	if (set_day(r, date, &day) != 0)
		return;
	const char *kind = req_in_str(r, "kind"), *note = req_in_str(r, "note");
	int def = strcmp(kind, "default") == 0;
	char ds[11];
	cal_day_format(day, ds);
	resp_json(r, 200, json_pack("{s:s,s:s,s:s,s:b}", "date", ds, "kind", kind, "note",
				    (note && !def) ? note : "", "working", def ? cal_weekday(day) < 5
									  : strcmp(kind, "workday") == 0));
}

/* Imports the text field: 0 with *report, or -1 with *report the bad lines (NULL after a 500). */
static int import_text(struct req *r, json_t **report)
{
	const char *text = req_in_str(r, "text");
	if (calendar_import(r->st, text, strlen(text), report) != 0) {
		if (*report == NULL)
			resp_error(r, 500, MSG_HTTP_500, NULL);
		return -1;
	}
	char *d = json_dumps(*report, JSON_COMPACT);
	int rc = portal_audit(r, "calendar.import", "calendar", 0, d ? arena_strdup(r->arena, d) : NULL);
	free(d);
	if (rc != 0) {
		json_decref(*report);
		*report = NULL;
	}
	return rc;
}

/* POST /admin/calendar/import */
void do_calendar_import(struct req *r)
{
	json_t *report = NULL;
	if (import_text(r, &report) == 0) {
		json_t *years = json_object_get(report, "years");
		int year = json_array_size(years) > 0 ? (int)json_integer_value(json_array_get(years, 0))
						       : this_year();
		json_decref(report);
		resp_redirect(r, arena_printf(r->arena, "/admin/calendar?year=%d&saved=import", year));
		return;
	}
	if (report == NULL)
		return;   /* answered */
	/* The page again, with every bad line and the text as pasted. */
	if (store_in_tx(r->st))
		store_rollback(r->st);
	json_t *ctx = json_pack("{s:{s:s},s:{s:s},s:{s:s,s:s,s:s},s:o,s:b}", "values", "text",
				req_in_str(r, "text"), "errors", "text", msg(MSG_CAL_IMPORT_BAD), "error",
				"field", "text", "label", "年度日历文件内容", "message", msg(MSG_CAL_IMPORT_BAD),
				"import_errors", report, "has_import_errors", 1);
	if (calendar_ctx(r, ctx, this_year()) != 0) {
		json_decref(ctx);
		return;
	}
	resp_page(r, 400, "portal/calendar", ctx);
}

/* POST /api/v1/calendar/import {text} */
void api_calendar_import(struct req *r)
{
	json_t *report = NULL;
	if (import_text(r, &report) == 0) {
		resp_json(r, 200, report);
		return;
	}
	if (report == NULL)
		return;
	resp_json(r, 400, json_pack("{s:{s:s,s:s,s:s,s:o}}", "error", "code", msg_name(MSG_CAL_IMPORT_BAD),
				    "message", msg(MSG_CAL_IMPORT_BAD), "field", "text", "lines", report));
}

/* GET /api/v1/calendar/{year} */
void api_calendar_year(struct req *r)
{
	const char *s = req_param(r, "year");
	char *end = NULL;
	long y = s ? strtol(s, &end, 10) : 0;
	if (s == NULL || *s < '0' || *s > '9' || *end != '\0' || y < CAL_FIRST_YEAR || y > CAL_LAST_YEAR) {
		resp_error(r, 404, MSG_CAL_YEAR_BAD, NULL);
		return;
	}
	json_t *rep = calendar_year_report(r->st, (int)y);
	if (rep == NULL) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	resp_json(r, 200, rep);
}

/* GET /api/v1/calendar/workdays?from=YYYY-MM-DD&days=N */
void api_calendar_workdays(struct req *r)
{
	cal_day from;
	int n = (int)req_in_int(r, "days", 0);
	struct calendar *c = NULL;
	if (cal_day_parse(req_in_str(r, "from"), &from) != 0) {
		resp_error(r, 400, MSG_DATE_FORMAT, "from");
		return;
	}
	if (calendar_load(r->st, &c) != 0) {
		resp_error(r, 500, MSG_HTTP_500, NULL);
		return;
	}
	cal_day end = calendar_add_workdays(c, from, n);
	json_t *list = json_array();
	char ds[11];
	for (cal_day d = from + 1; d <= end; d++)
		if (calendar_is_workday(c, d)) {
			cal_day_format(d, ds);
			json_array_append_new(list, json_string(ds));
		}
	calendar_free(c);
	char fs[11];
	cal_day_format(from, fs);
	cal_day_format(end, ds);
	resp_json(r, 200, json_pack("{s:s,s:i,s:s,s:s,s:i,s:o}", "from", fs, "days", n, "end", ds, "end_weekday",
				    cal_weekday_label(end), "calendar_days", (int)(end - from), "workdays", list));
}
