/*
 * items: the service-item catalogue (事项) of the online service hall.
 *
 * An item says what a person can apply for, at which department, with
 * which materials and form, within which limits, how deep online it goes,
 * and which process definition handles its cases.  Department admins edit
 * their items with plain-text lists (one entry a line, "|" between parts,
 * blank lines and lines starting with "#" ignored), so the pages work
 * without JavaScript and the API takes the same text:
 *
 *   materials   名称 | 必需/可选 | 说明 | 空白表格地址 | 示例地址
 *               (the last three parts are optional; an address is a path on
 *               this site "/..." or an https:// URL)
 *   form        name | 标签 | type | 必填/选填 | 上限或选项(a/b/c)
 *               type: text textarea int date choice idcard uscc phone email;
 *               the fifth part is the most characters (text, textarea:
 *               1–5000), the largest value (int: 1–10^12) or the options
 *               (choice, at least two, "/" between them); other types take none
 *   specials    state | 标题 | 计时/不计时
 *               state is a special state of the item's process (inspection,
 *               expert_review, hearing ...); 不计时 pauses the clock
 *
 * Online depth levels (docs/hall.md): 1 办事指南, 2 表格下载与预约,
 * 3 在线预审, 4 全程网办, 5 全程网办、结果送达.
 *
 * JSON of an item (hall_item_json): id, code, name, dept_id, dept_name, kind,
 * audience (+ audience_label), statutory_days, promised_days, special_steps
 * [{state,title,counts}], materials [{code,name,required,note,blank,example}],
 * form [{name,label,type,required,max?,choices?}], fees, visits, depth
 * (+ depth_label, depth_note), process, themes, life_events, conditions,
 * legal_basis, result_name, status (+ status_label), published, online,
 * updated_at.  The caller owns it.
 */
#ifndef YZ_HALL_ITEMS_H
#define YZ_HALL_ITEMS_H

#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "core/input.h"
#include "core/msg.h"
#include "core/store.h"

struct procdef;

extern const char *const hall_kinds[];      /* 行政许可, 行政确认, 公共服务, ... (NULL-terminated) */
extern const char *const hall_audiences[];  /* person, enterprise, both */
extern const char *const hall_statuses[];   /* draft, published, retired */
extern const char *const hall_processes[];  /* hall.standard, hall.simple */
const char *hall_audience_label(const char *a);
const char *hall_depth_label(int depth);
const char *hall_depth_note(int depth);
const char *hall_status_label(const char *status);
const char *hall_process_label(const char *process);
const char *hall_form_type_label(const char *type);

/* A parse problem in one of the text lists: which field, which line, why. */
struct item_err {
	const char *field;
	int line;
	char reason[160];      /* "第 N 行：why" */
};

/* Each parses its text list into a JSON array; 0, or -1 with *e and *out NULL. */
int hall_parse_materials(const char *text, json_t **out, struct item_err *e);
int hall_parse_form(const char *text, json_t **out, struct item_err *e);
int hall_parse_specials(const char *text, json_t **out, struct item_err *e);
/* The text lists back from JSON (for the edit form); malloc'd. */
char *hall_materials_text(json_t *materials);
char *hall_form_text(json_t *form);
char *hall_specials_text(json_t *specials);

/* An item's fields as text and numbers (the lists in their text formats). */
struct hall_item_in {
	const char *code, *name;
	int64_t dept_id;
	const char *kind, *audience;
	int64_t statutory_days, promised_days, depth, visits;
	const char *process, *conditions, *materials, *form, *specials, *fees, *result_name, *themes,
		*life_events, *legal_basis, *status;   /* the optional ones may be NULL */
};

/*
 * Writes an item in the caller's transaction (no audit entry): id 0
 * creates.  Checks the lists, promised <= statutory, visits against depth
 * (在线预审 and below: at least one visit; 全程网办、结果送达: none), the
 * code's uniqueness and (on update) that only a draft changes its code.
 * The caller has checked the fields' types, that the department exists and
 * who may write it.  proc is the item's process from the registry: each
 * special step must be one of its special states (NULL skips the check, for
 * the demo seed, which runs before the registry loads).  0 with *out_id, or -1 with *why: a 400 reason with
 * e->field (and e->reason, "第 N 行：..." for a list), MSG_HALL_ITEM_NOT_FOUND
 * or MSG_HTTP_500.
 */
int hall_item_store(struct store *st, int64_t id, const struct hall_item_in *in, const struct procdef *proc,
		    int64_t *out_id, enum msg_id *why, struct item_err *e);
/* hall_item_store from validated request input (r->in) in r's transaction,
 * with its audit entry; the process must be a "hall." process of the
 * registry (engines/case/procdef.h).  Answers the error itself and returns -1 on failure. */
int hall_item_save(struct req *r, int64_t id, int64_t *out_id);
/* One item by id or code (code used when id is 0); NULL if none. */
json_t *hall_item_json(struct store *st, int64_t id, const char *code);
/*
 * A page of items, by id: {"items":[...], "next": cursor|null, "total": n}.
 * admin_dept 0: published items only (the public catalogue); > 0: every item
 * of that department, any status; -1: every item of every department, any
 * status (platform admins).  Filters (each "" / 0 = any): q (name, code,
 * department, themes, life events, result), dept_id, theme (themes or life events),
 * audience (person/enterprise; items for both match either).  NULL on a
 * store failure.
 */
json_t *hall_item_list(struct store *st, const char *q, int64_t dept_id, const char *theme,
		       const char *audience, int64_t admin_dept, int64_t after, int limit);
/*
 * What the public catalogue can be filtered by, from published items:
 * {"depts":[{id,name}], "themes":[..], "life_events":[..]} (distinct, sorted).
 */
json_t *hall_item_facets(struct store *st);
/* The tags of a themes or life-events text ("企业开办、市场准入"), distinct, in order. */
json_t *hall_split_tags(const char *s);

/* The field specification of an item's application form, in r's arena. */
const struct field_spec *hall_form_spec(struct req *r, json_t *item);

/* catalogue.c: the route handlers of the catalogue (see routes.c). */
void hall_page_catalogue(struct req *r);
void hall_page_guide(struct req *r);
void hall_page_admin_items(struct req *r);
void hall_page_item_new(struct req *r);
void hall_do_item_new(struct req *r);
void hall_page_item_edit(struct req *r);
void hall_do_item_edit(struct req *r);
void hall_item_form_fill(struct req *r, json_t *ctx);
void hall_api_items(struct req *r);
void hall_api_item(struct req *r);
void hall_api_item_create(struct req *r);
void hall_api_item_update(struct req *r);

#endif
