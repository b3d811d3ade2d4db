/* Private to the portal application: its handlers, shared by its files. */
#ifndef YZ_PORTAL_INT_H
#define YZ_PORTAL_INT_H

#include "core/http.h"

/* pages.c */
void page_home(struct req *r);
void page_login(struct req *r);
void do_login(struct req *r);
void page_totp(struct req *r);
void do_totp(struct req *r);
void page_enroll(struct req *r);
void do_enroll(struct req *r);
void do_logout(struct req *r);
void do_logout_all(struct req *r);
void page_register(struct req *r);
void do_register(struct req *r);
void page_desk(struct req *r);
void page_account(struct req *r);
void do_password(struct req *r);

/* admin.c */
void page_depts(struct req *r);
void page_dept_new(struct req *r);
void do_dept_new(struct req *r);
void page_dept_edit(struct req *r);
void do_dept_edit(struct req *r);
void do_dept_import(struct req *r);
void page_users(struct req *r);
void page_user_new(struct req *r);
void do_user_new(struct req *r);
void page_user(struct req *r);
void do_user_role_add(struct req *r);
void do_user_role_remove(struct req *r);
void do_user_disable(struct req *r);
void do_user_enable(struct req *r);
void do_user_reset_totp(struct req *r);
void page_job(struct req *r);
void page_audit(struct req *r);

/* api.c */
void api_index(struct req *r);
void api_openapi(struct req *r);
void api_session_new(struct req *r);
void api_session_totp(struct req *r);
void api_session_delete(struct req *r);
void api_me(struct req *r);
void api_desk(struct req *r);
void api_register(struct req *r);
void api_depts(struct req *r);
void api_dept(struct req *r);
void api_dept_create(struct req *r);
void api_dept_update(struct req *r);
void api_dept_import(struct req *r);
void api_users(struct req *r);
void api_user(struct req *r);
void api_user_create(struct req *r);
void api_user_roles_add(struct req *r);
void api_user_roles_remove(struct req *r);
void api_job(struct req *r);

/* shared helpers (pages.c) */
/* Registers a person from validated input; 0 with *id or -1 after answering. */
int portal_register_person(struct req *r, int64_t *id);
/* Creates a staff account from validated input; 0 with *id and *pw (arena) or -1 after answering. */
int portal_create_staff(struct req *r, int64_t *id, const char **pw);
/* Audit entry for r's actor inside r's transaction; answers 500 and returns -1 on failure. */
int portal_audit(struct req *r, const char *action, const char *object, int64_t dept_id,
		 const char *detail);
/* Can r's user administer dept (dept admin there or platform admin)? */
int portal_can_admin_dept(struct req *r, int64_t dept_id);
/* Answers a 400 naming field (the form again on pages); MSG_HTTP_500 answers 500. Returns -1. */
int portal_input_fail(struct req *r, enum msg_id why, const char *field);
/* Another person's account for display, its read audited; NULL after answering 404/500. */
json_t *portal_read_account(struct req *r, int64_t id);
/* Audits a read of the account list (filters in detail); answers 500 and returns -1 on failure. */
int portal_audit_list_read(struct req *r, const char *kind, const char *q);
/* Generates a one-time password into the arena. */
const char *portal_one_time_password(struct req *r);

extern const struct field_spec fs_login[], fs_totp[], fs_register[], fs_password[], fs_dept[],
	fs_dept_import[], fs_staff_new[], fs_role[], fs_list_users[], fs_page[];

/* messages.c */
void page_messages(struct req *r);
void do_message_read(struct req *r);
void do_messages_read_all(struct req *r);
void api_messages(struct req *r);
void api_message_read(struct req *r);
void api_messages_read_all(struct req *r);
extern const struct field_spec fs_message_read[];

/* calendar.c */
void page_calendar(struct req *r);
void do_calendar_day(struct req *r);
void do_calendar_import(struct req *r);
void form_fill_calendar(struct req *r, json_t *ctx);
void api_calendar_year(struct req *r);
void api_calendar_day(struct req *r);
void api_calendar_import(struct req *r);
void api_calendar_workdays(struct req *r);
extern const struct field_spec fs_cal_page[], fs_cal_day[], fs_cal_day_api[], fs_cal_import[],
	fs_cal_workdays[];

#endif
