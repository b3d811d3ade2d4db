/* Small helpers shared by the service hall's files (declared in hall_int.h). */
#include "apps/hall/hall_int.h"
#include "core/account.h"
#include "core/calendar.h"
#include "core/dept.h"
#include "engines/case/case.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *hall_jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *hall_jstr0(json_t *o, const char *k)
{
	const char *v = hall_jstr(o, k);
	return v ? v : "";
}

int64_t hall_jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v)) {
		/* form values arrive as text */
		char *end = NULL;
		long long n = strtoll(json_string_value(v), &end, 10);
		return end != json_string_value(v) && *end == '\0' ? n : 0;
	}
	return 0;
}

/* ---------- the demo's past: cases seeded as if acted on days ago ---------- */

static time_t demo_time;

static time_t demo_now(void)
{
	return demo_time;
}

void hall_demo_clock(const struct calendar *cal, int workdays_ago)
{
	if (workdays_ago <= 0) {
		demo_time = time(NULL);
	} else {
		cal_day today = cal_day_of(time(NULL)), d = today;
		while (calendar_workdays_between(cal, d, today) < workdays_ago)
			d--;
		int y, m, dd;
		cal_day_to_ymd(d, &y, &m, &dd);
		struct tm tm = { 0 };
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = dd;
		tm.tm_hour = 12;
		tm.tm_isdst = -1;
		demo_time = mktime(&tm);
	}
	case_set_clock(demo_now);
}

void hall_demo_clock_release(void)
{
	case_set_clock(NULL);
}

json_t *hall_user_depts(struct req *r, int staff_too)
{
	json_t *out = json_array();
	json_t *list = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) ? dept_tree(r->st)
							       : account_roles(r->st, r->who.user_id);
	if (list == NULL) {
		json_decref(out);
		return NULL;
	}
	int all = (r->who.roles & ROLEBIT_PLATFORM_ADMIN) != 0;
	size_t i, k;
	json_t *x, *y;
	json_array_foreach(list, i, x) {
		const char *role = hall_jstr0(x, "role");
		if (!all && strcmp(role, "dept_admin") != 0 && !(staff_too && strcmp(role, "staff") == 0))
			continue;
		int64_t id = hall_jint(x, all ? "id" : "dept_id");
		int dup = 0;
		json_array_foreach(out, k, y)
			dup |= hall_jint(y, "id") == id;   /* a department with two roles: once */
		if (!dup)
			json_array_append_new(out, json_pack("{s:I,s:O}", "id", (json_int_t)id, "name",
							     json_object_get(x, all ? "name" : "dept_name")));
	}
	json_decref(list);
	return out;
}
