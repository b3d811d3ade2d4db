/*
 * The service hall's route tables: one line per endpoint with its method,
 * path, handler, who may call it, flags and the fields it accepts.  The
 * OpenAPI document is generated from the API table.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "apps/hall/items.h"

#include <stdint.h>

static const char *const audiences_filter[] = { "person", "enterprise", NULL };

/* The public catalogue's filters (page and API). */
static const struct field_spec fs_catalogue[] = {
	{ "q", FT_TEXT, 0, 0, 50, NULL, "关键词" },
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "theme", FT_TEXT, 0, 0, 50, NULL, "主题或人生事件" },
	{ "audience", FT_CHOICE, 0, 0, 0, audiences_filter, "服务对象" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ "limit", FT_INT, 0, 1, 100, NULL, "每页条数" },
	{ NULL },
};

static const struct field_spec fs_admin_list[] = {
	{ "dept", FT_INT, 0, 1, INT64_MAX, NULL, "部门" },
	{ "after", FT_INT, 0, 0, INT64_MAX, NULL, "游标" },
	{ NULL },
};

static const struct field_spec fs_saved[] = {
	{ "saved", FT_TEXT, 0, 0, 8, NULL, "已保存" },
	{ NULL },
};

/* An item, as the admin form and the API send it (the lists as text: see items.h). */
static const struct field_spec fs_item[] = {
	{ "code", FT_DEPT_CODE, FS_REQUIRED, 0, 0, NULL, "事项编码" },
	{ "name", FT_TEXT, FS_REQUIRED, 2, 100, NULL, "事项名称" },
	{ "dept_id", FT_INT, FS_REQUIRED, 1, INT64_MAX, NULL, "实施部门" },
	{ "kind", FT_CHOICE, FS_REQUIRED, 0, 0, hall_kinds, "事项类型" },
	{ "audience", FT_CHOICE, FS_REQUIRED, 0, 0, hall_audiences, "服务对象" },
	{ "statutory_days", FT_INT, FS_REQUIRED, 1, 365, NULL, "法定办结时限" },
	{ "promised_days", FT_INT, FS_REQUIRED, 1, 365, NULL, "承诺办结时限" },
	{ "depth", FT_INT, FS_REQUIRED, 1, 5, NULL, "网办深度" },
	{ "visits", FT_INT, FS_REQUIRED, 0, 5, NULL, "跑动次数" },
	{ "process", FT_TEXT, FS_REQUIRED, 1, 64, NULL, "办理流程" },
	{ "conditions", FT_TEXTAREA, 0, 0, 5000, NULL, "受理条件" },
	{ "materials", FT_TEXTAREA, 0, 0, 30000, NULL, "申请材料" },
	{ "form", FT_TEXTAREA, 0, 0, 30000, NULL, "申请表单" },
	{ "specials", FT_TEXTAREA, 0, 0, 5000, NULL, "特殊环节" },
	{ "fees", FT_TEXT, 0, 0, 200, NULL, "收费标准" },
	{ "result_name", FT_TEXT, 0, 0, 100, NULL, "办理结果" },
	{ "themes", FT_TEXT, 0, 0, 100, NULL, "主题分类" },
	{ "life_events", FT_TEXT, 0, 0, 100, NULL, "人生事件" },
	{ "legal_basis", FT_TEXTAREA, 0, 0, 5000, NULL, "设定依据" },
	{ "status", FT_CHOICE, FS_REQUIRED, 0, 0, hall_statuses, "状态" },
	{ NULL },
};

#define CSRF RF_CSRF
const struct route hall_routes[] = {
	{ HM_GET, "/hall", hall_page_catalogue, ROLE_PUBLIC, 0, fs_catalogue, NULL, NULL,
	  "Service catalogue: search and browse published items" },
	{ HM_GET, "/hall/items/{code}", hall_page_guide, ROLE_PUBLIC, 0, NULL, NULL, NULL,
	  "An item's service guide (办事指南)" },
	{ HM_GET, "/admin/hall/items", hall_page_admin_items, ROLE_DEPT_ADMIN, 0, fs_admin_list, NULL, NULL,
	  "Items the user may manage" },
	{ HM_GET, "/admin/hall/items/new", hall_page_item_new, ROLE_DEPT_ADMIN, 0, NULL, NULL, NULL,
	  "New item page" },
	{ HM_POST, "/admin/hall/items/new", hall_do_item_new, ROLE_DEPT_ADMIN, CSRF, fs_item, "hall/item_form",
	  hall_item_form_fill, "Create an item" },
	{ HM_GET, "/admin/hall/items/{id}", hall_page_item_edit, ROLE_DEPT_ADMIN, 0, fs_saved, NULL, NULL,
	  "Edit item page" },
	{ HM_POST, "/admin/hall/items/{id}", hall_do_item_edit, ROLE_DEPT_ADMIN, CSRF, fs_item, "hall/item_form",
	  hall_item_form_fill, "Update an item" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

#define API (RF_API | RF_CSRF)
const struct route hall_api_routes[] = {
	{ HM_GET, "/api/v1/hall/items", hall_api_items, ROLE_PUBLIC, RF_API, fs_catalogue, NULL, NULL,
	  "Published service items, filtered by q, dept, theme and audience (cursor pagination)" },
	{ HM_GET, "/api/v1/hall/items/{code}", hall_api_item, ROLE_PUBLIC, RF_API, NULL, NULL, NULL,
	  "One published item by code (drafts too for its department's admins)" },
	{ HM_POST, "/api/v1/hall/items", hall_api_item_create, ROLE_DEPT_ADMIN, API, fs_item, NULL, NULL,
	  "Create an item of a department the caller administers; lists as text (docs/hall.md)" },
	{ HM_PUT, "/api/v1/hall/items/{id}", hall_api_item_update, ROLE_DEPT_ADMIN, API, fs_item, NULL, NULL,
	  "Replace an item's fields" },
	{ 0, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL },
};

void hall_register(void)
{
	http_add_routes(hall_apply_routes);
	hall_apply_register();
	http_add_routes(hall_handle_routes);
	hall_handle_register();
	http_add_routes(hall_rating_routes);
	hall_rating_register();
	http_add_routes(hall_appoint_routes);
	hall_appoint_register();
}
