/*
 * items: the service-item catalogue (事项) of the online service hall.
 *
 * An item says what a person can apply for, at which department, with
 * which materials and form, within which limits, how deep online it goes,
 * and which process definition handles its cases.  Department admins edit
 * their items with plain-text lists (one entry a line, "|" between parts),
 * so the pages work without JavaScript:
 *
 *   materials   名称 | 必需/可选 | 说明
 *   form        name | 标签 | type | 必填/选填 | 上限或选项(a/b/c)
 *               type: text textarea int date choice idcard uscc phone email
 *   specials    state | 标题 | 计时/不计时
 *
 * Online depth levels (docs/hall.md): 1 办事指南, 2 表格下载与预约,
 * 3 在线预审, 4 全程网办, 5 全程网办、结果送达.
 */
#ifndef YZ_HALL_ITEMS_H
#define YZ_HALL_ITEMS_H

#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "core/input.h"
#include "core/msg.h"
#include "core/store.h"

extern const char *const hall_kinds[];      /* 行政许可, 行政确认, 公共服务, ... (NULL-terminated) */
extern const char *const hall_audiences[];  /* person, enterprise, both */
const char *hall_audience_label(const char *a);
const char *hall_depth_label(int depth);

/* A parse problem in one of the text lists: which field, which line, why. */
struct item_err {
	const char *field;
	int line;
	char reason[160];
};

/* Each parses its text list into a JSON array; 0, or -1 with *e. */
int hall_parse_materials(const char *text, json_t **out, struct item_err *e);
int hall_parse_form(const char *text, json_t **out, struct item_err *e);
int hall_parse_specials(const char *text, json_t **out, struct item_err *e);
/* The text lists back from JSON (for the edit form); malloc'd. */
char *hall_materials_text(json_t *materials);
char *hall_form_text(json_t *form);
char *hall_specials_text(json_t *specials);

/* Saves an item from validated request input (r->in) in r's transaction:
 * id 0 creates.  Answers the error itself and returns -1 on bad input. */
int hall_item_save(struct req *r, int64_t id, int64_t *out_id);
/* One item by id or code (code used when id is 0); NULL if none. */
json_t *hall_item_json(struct store *st, int64_t id, const char *code);
/* Published items (or all, for admins of dept_id when admin_dept != 0), filtered. */
json_t *hall_item_list(struct store *st, const char *q, int64_t dept_id, const char *theme,
		       const char *audience, int64_t admin_dept, int64_t after, int limit);

/* The field specification of an item's application form, in r's arena. */
const struct field_spec *hall_form_spec(struct req *r, json_t *item);

#endif
