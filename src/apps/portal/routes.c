/*
 * The portal's route tables: one line per endpoint with its method, path,
 * handler, who may call it, flags and the fields it accepts.  The OpenAPI
 * document is generated from the API table; nothing is written twice.
 */
#include "apps/portal/portal.h"
#include "apps/portal/portal_int.h"
#include "core/dept.h"

#include <stdint.h>

static const char *const kinds_person[] = { "citizen", "enterprise", NULL };
static const char *const kinds_all[] = { "citizen", "enterprise", "staff", NULL };
static const char *const roles_dept[] = { "staff", "dept_admin", NULL };
static const char *const roles_all[] = { "staff", "dept_admin", "platform_admin", NULL };

const struct field_spec fs_login[] = {
	{ "login", FT_TEXT, FS_REQUIRED, 1, 64, NULL, "用户名" },
	{ "password", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "密码" },
	{ "next", FT_TEXT, 0, 0, 200, NULL, "跳转地址" },
	{ NULL },
};

static const struct field_spec fs_login_page[] = {
	{ "next", FT_TEXT, 0, 0, 200, NULL, "跳转地址" },
	{ "expired", FT_TEXT, 0, 0, 8, NULL, "登录已过期" },
	{ NULL },
};

static const struct field_spec fs_flags[] = {
	{ "welcome", FT_TEXT, 0, 0, 8, NULL, "欢迎" },
	{ "must", FT_TEXT, 0, 0, 8, NULL, "须改密码" },
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ NULL },
};

const struct field_spec fs_totp[] = {
	{ "code", FT_TEXT, FS_REQUIRED, 6, 6, NULL, "动态验证码" },
	{ NULL },
};

const struct field_spec fs_register[] = {
	{ "kind", FT_CHOICE, FS_REQUIRED, 0, 0, kinds_person, "账号类型" },
	{ "login", FT_LOGIN, FS_REQUIRED, 0, 0, NULL, "用户名" },
	{ "name", FT_TEXT, FS_REQUIRED, 2, 100, NULL, "姓名或单位名称" },
	{ "id_number", FT_IDCARD, 0, 0, 0, NULL, "身份证号" },
	{ "uscc", FT_USCC, 0, 0, 0, NULL, "统一社会信用代码" },
	{ "contact_name", FT_TEXT, 0, 0, 50, NULL, "联系人" },
	{ "phone", FT_PHONE, FS_REQUIRED, 0, 0, NULL, "手机号" },
	{ "email", FT_EMAIL, 0, 0, 0, NULL, "电子邮箱" },
	{ "password", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "密码" },
	{ "password2", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "确认密码" },
	{ NULL },
};

const struct field_spec fs_password[] = {
	{ "old", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "当前密码" },
	{ "password", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "新密码" },
	{ "password2", FT_PASSWORD, FS_REQUIRED, 1, 256, NULL, "确认新密码" },
	{ NULL },
};

const struct field_spec fs_dept[] = {
	{ "code", FT_DEPT_CODE, FS_REQUIRED, 0, 0, NULL, "部门编码" },
	{ "name", FT_TEXT, FS_REQUIRED, 1, 100, NULL, "部门名称" },
	{ "parent_id", FT_INT, 0, 0, INT64_MAX, NULL, "上级部门" },
	{ "level", FT_CHOICE, FS_REQUIRED, 0, 0, dept_levels, "层级" },
	{ "sort", FT_INT, 0, 0, 1000000, NULL, "排序" },
	{ NULL },
};

/* The pasted text or an uploaded file: the handler requires one of the two. */
const struct field_spec fs_dept_import[] = {
	{ "csv", FT_TEXTAREA, 0, 0, 4000000, NULL, "CSV 内容" },
	{ "file", FT_FILE, 0, 0, 0, NULL, "CSV 文件" },
	{ NULL },
};

const struct field_spec fs_staff_new[] = {
	{ "login", FT_LOGIN, FS_REQUIRED, 0, 0, NULL, "用户名" },
	{ "name", FT_TEXT, FS_REQUIRED, 2, 50, NULL, "姓名" },
	{ "dept_id", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "所属部门" },
	{ "role", FT_CHOICE, FS_REQUIRED, 0, 0, roles_dept, "角色" },
	{ "phone", FT_PHONE, 0, 0, 0, NULL, "手机号" },
	{ "email", FT_EMAIL, 0, 0, 0, NULL, "电子邮箱" },
	{ NULL },
};

const struct field_spec fs_role[] = {
	{ "dept_id", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "部门" },
	{ "role", FT_CHOICE, FS_REQUIRED, 0, 0, roles_all, "角色" },
	{ NULL },
};

const struct field_spec fs_list_users[] = {
	{ "kind", FT_CHOICE, 0, 0, 0, kinds_all, "账号类型" },
	{ "q", FT_TEXT, 0, 0, 64, NULL, "关键词" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

const struct field_spec fs_page[] = {
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 200, NULL, "每页条数" },
	{ NULL },
};

void form_fill_depts(struct req *r, json_t *ctx);   /* admin.c */
void form_fill_account(struct req *r, json_t *ctx); /* pages.c */
void form_fill_login(struct req *r, json_t *ctx);
void form_fill_register(struct req *r, json_t *ctx);
void form_fill_totp(struct req *r, json_t *ctx);
void form_fill_enroll(struct req *r, json_t *ctx);

#define CSRF RF_CSRF
const struct route portal_routes[] = {
	{ HM_GET, "/", page_home, ROLE_PUBLIC, 0, NULL, NULL, NULL, "Home page" },
	{ HM_GET, "/login", page_login, ROLE_ANON, 0, fs_login_page, NULL, NULL, "Sign-in page" },
	{ HM_POST, "/login", do_login, ROLE_ANON, CSRF, fs_login, "portal/login", form_fill_login, "Sign in" },
	{ HM_GET, "/login/totp", page_totp, ROLE_PUBLIC, RF_HALF, NULL, NULL, NULL, "Second factor page" },
	{ HM_POST, "/login/totp", do_totp, ROLE_PUBLIC, RF_HALF | CSRF, fs_totp, "portal/totp", form_fill_totp,
	  "Second factor" },
	{ HM_GET, "/login/enroll", page_enroll, ROLE_PUBLIC, RF_HALF, NULL, NULL, NULL, "Second factor set-up page" },
	{ HM_POST, "/login/enroll", do_enroll, ROLE_PUBLIC, RF_HALF | CSRF, fs_totp, "portal/enroll", form_fill_enroll,
	  "Second factor set-up" },
	{ HM_POST, "/logout", do_logout, ROLE_PUBLIC, RF_HALF | CSRF, NULL, NULL, NULL, "Sign out" },
	{ HM_POST, "/logout/all", do_logout_all, ROLE_USER, CSRF, NULL, NULL, NULL, "Sign out everywhere" },
	{ HM_GET, "/register", page_register, ROLE_ANON, 0, NULL, NULL, NULL, "Registration page" },
	{ HM_POST, "/register", do_register, ROLE_ANON, CSRF | RF_IDEM, fs_register, "portal/register", form_fill_register,
	  "Register" },
	{ HM_GET, "/desk", page_desk, ROLE_USER, 0, fs_flags, NULL, NULL, "Desk" },
	{ HM_GET, "/account", page_account, ROLE_USER, 0, fs_flags, NULL, NULL, "Account page" },
	{ HM_POST, "/account/password", do_password, ROLE_USER, CSRF, fs_password, "portal/account", form_fill_account,
	  "Change password" },
	{ HM_GET, "/admin/depts", page_depts, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL, "Departments" },
	{ HM_GET, "/admin/depts/new", page_dept_new, ROLE_PLATFORM_ADMIN, 0, NULL, NULL, NULL, "New department page" },
	{ HM_POST, "/admin/depts/new", do_dept_new, ROLE_PLATFORM_ADMIN, CSRF, fs_dept, "portal/dept_form",
	  form_fill_depts, "Create department" },
	{ HM_GET, "/admin/depts/import", page_dept_new, ROLE_PLATFORM_ADMIN, 0, NULL, NULL, NULL, "Import page" },
	{ HM_POST, "/admin/depts/import", do_dept_import, ROLE_PLATFORM_ADMIN, CSRF | RF_UPLOAD, fs_dept_import,
	  "portal/dept_import", NULL, "Import departments" },
	{ HM_GET, "/admin/depts/{id}", page_dept_edit, ROLE_DEPT_ADMIN, 0, fs_flags, NULL, NULL, "Department page" },
	{ HM_POST, "/admin/depts/{id}", do_dept_edit, ROLE_PLATFORM_ADMIN, CSRF, fs_dept, "portal/dept_form",
	  form_fill_depts, "Update department" },
	{ HM_GET, "/admin/users", page_users, ROLE_DEPT_ADMIN, 0, fs_list_users, NULL, NULL, "Accounts" },
	{ HM_GET, "/admin/users/new", page_user_new, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL, "New staff page" },
	{ HM_POST, "/admin/users/new", do_user_new, ROLE_DEPT_ADMIN, CSRF, fs_staff_new, "portal/user_new",
	  form_fill_depts, "Create staff account" },
	{ HM_GET, "/admin/users/{id}", page_user, ROLE_DEPT_ADMIN, 0, fs_flags, NULL, NULL, "Account page" },
	{ HM_POST, "/admin/users/{id}/roles", do_user_role_add, ROLE_DEPT_ADMIN, CSRF, fs_role, NULL, NULL,
	  "Grant role" },
	{ HM_POST, "/admin/users/{id}/roles/remove", do_user_role_remove, ROLE_DEPT_ADMIN, CSRF, fs_role, NULL,
	  NULL, "Revoke role" },
	{ HM_POST, "/admin/users/{id}/disable", do_user_disable, ROLE_PLATFORM_ADMIN, CSRF, NULL, NULL, NULL,
	  "Disable account" },
	{ HM_POST, "/admin/users/{id}/enable", do_user_enable, ROLE_PLATFORM_ADMIN, CSRF, NULL, NULL, NULL,
	  "Enable account" },
	{ HM_POST, "/admin/users/{id}/reset-totp", do_user_reset_totp, ROLE_PLATFORM_ADMIN, CSRF, NULL, NULL,
	  NULL, "Reset second factor" },
	{ HM_GET, "/admin/audit", page_audit, ROLE_PLATFORM_ADMIN, 0, fs_page, NULL, NULL, "Audit trail" },
	{ HM_GET, "/jobs/{id}", page_job, ROLE_USER, 0, NULL, NULL, NULL, "Job progress" },
	{ HM_GET, "/messages", page_messages, ROLE_USER, 0, fs_page, NULL, NULL, "Messages" },
	{ HM_POST, "/messages/read-all", do_messages_read_all, ROLE_USER, CSRF, NULL, NULL, NULL,
	  "Mark every message read" },
	{ HM_POST, "/messages/{id}/read", do_message_read, ROLE_USER, CSRF, fs_message_read, NULL, NULL,
	  "Mark a message read" },
	{ HM_GET, "/admin/calendar", page_calendar, ROLE_STAFF, 0, fs_cal_page, NULL, NULL,
	  "Working-day calendar of a year" },
	{ HM_POST, "/admin/calendar/day", do_calendar_day, ROLE_PLATFORM_ADMIN, CSRF, fs_cal_day, "portal/calendar",
	  form_fill_calendar, "Set one day of the working-day calendar" },
	{ HM_POST, "/admin/calendar/import", do_calendar_import, ROLE_PLATFORM_ADMIN, CSRF, fs_cal_import,
	  "portal/calendar", form_fill_calendar, "Import a yearly working-day calendar file" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

#define API (RF_API | RF_CSRF)
const struct route portal_api_routes[] = {
	{ HM_GET, "/api/v1", api_index, ROLE_PUBLIC, RF_API, NULL, NULL, NULL, "API index" },
	{ HM_GET, "/api/v1/openapi.json", api_openapi, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "This OpenAPI document" },
	{ HM_POST, "/api/v1/session", api_session_new, ROLE_PUBLIC, RF_API, fs_login, NULL, NULL,
	  "Sign in with login and password; returns the CSRF token for later calls" },
	{ HM_POST, "/api/v1/session/totp", api_session_totp, ROLE_PUBLIC, API | RF_HALF, fs_totp, NULL, NULL,
	  "Complete sign-in with the TOTP code" },
	{ HM_DELETE, "/api/v1/session", api_session_delete, ROLE_PUBLIC, API | RF_HALF, NULL, NULL, NULL,
	  "Sign out" },
	{ HM_GET, "/api/v1/me", api_me, ROLE_USER, RF_API, NULL, NULL, NULL, "The signed-in account" },
	{ HM_GET, "/api/v1/desk", api_desk, ROLE_USER, RF_API, NULL, NULL, NULL,
	  "What is waiting for the signed-in person" },
	{ HM_POST, "/api/v1/register", api_register, ROLE_PUBLIC, RF_API | RF_IDEM, fs_register, NULL, NULL,
	  "Register a citizen or enterprise account" },
	{ HM_GET, "/api/v1/depts", api_depts, ROLE_PUBLIC, RF_API, fs_page, NULL, NULL,
	  "List departments (cursor pagination)" },
	{ HM_GET, "/api/v1/depts/{id}", api_dept, ROLE_PUBLIC, RF_API, NULL, NULL, NULL, "One department" },
	{ HM_POST, "/api/v1/depts", api_dept_create, ROLE_PLATFORM_ADMIN, API, fs_dept, NULL, NULL,
	  "Create a department" },
	{ HM_PUT, "/api/v1/depts/{id}", api_dept_update, ROLE_PLATFORM_ADMIN, API, fs_dept, NULL, NULL,
	  "Replace a department's fields" },
	{ HM_POST, "/api/v1/depts/import", api_dept_import, ROLE_PLATFORM_ADMIN, API, fs_dept_import, NULL,
	  NULL, "Import departments from CSV as a job" },
	{ HM_GET, "/api/v1/users", api_users, ROLE_DEPT_ADMIN, RF_API, fs_list_users, NULL, NULL,
	  "List accounts (cursor pagination)" },
	{ HM_GET, "/api/v1/users/{id}", api_user, ROLE_DEPT_ADMIN, RF_API, NULL, NULL, NULL, "One account" },
	{ HM_POST, "/api/v1/users", api_user_create, ROLE_DEPT_ADMIN, API, fs_staff_new, NULL, NULL,
	  "Create a staff account; returns its one-time password" },
	{ HM_POST, "/api/v1/users/{id}/roles", api_user_roles_add, ROLE_DEPT_ADMIN, API, fs_role, NULL, NULL,
	  "Grant a role in a department" },
	{ HM_DELETE, "/api/v1/users/{id}/roles/{dept}/{role}", api_user_roles_remove, ROLE_DEPT_ADMIN, API,
	  NULL, NULL, NULL, "Revoke a role in a department" },
	{ HM_GET, "/api/v1/jobs/{id}", api_job, ROLE_USER, RF_API, NULL, NULL, NULL, "A job's progress" },
	{ HM_GET, "/api/v1/messages", api_messages, ROLE_USER, RF_API, fs_page, NULL, NULL,
	  "The signed-in person's messages, newest first (cursor pagination), with the unread count" },
	{ HM_POST, "/api/v1/messages/read-all", api_messages_read_all, ROLE_USER, API, NULL, NULL, NULL,
	  "Mark every message read" },
	{ HM_POST, "/api/v1/messages/{id}/read", api_message_read, ROLE_USER, API, NULL, NULL, NULL,
	  "Mark a message read" },
	{ HM_GET, "/api/v1/calendar/workdays", api_calendar_workdays, ROLE_PUBLIC, RF_API, fs_cal_workdays, NULL,
	  NULL, "The end day of an N-working-day limit starting on a day, with the working days listed" },
	{ HM_POST, "/api/v1/calendar/import", api_calendar_import, ROLE_PLATFORM_ADMIN, API, fs_cal_import, NULL,
	  NULL, "Import a yearly calendar file: replaces the years it touches; all or nothing" },
	{ HM_PUT, "/api/v1/calendar/days/{date}", api_calendar_day, ROLE_PLATFORM_ADMIN, API, fs_cal_day_api, NULL,
	  NULL, "Set one day: holiday, workday (a Saturday or Sunday) or default" },
	{ HM_GET, "/api/v1/calendar/{year}", api_calendar_year, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "A year's holidays and adjusted working days, with the working days of each month" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};
