#include "core/openapi.h"
#include "core/http.h"
#include "core/xalloc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

static json_t *doc;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static json_t *field_schema(const struct field_spec *f)
{
	json_t *s = json_object();
	switch (f->type) {
	case FT_INT:
		json_object_set_new(s, "type", json_string("integer"));
		json_object_set_new(s, "format", json_string("int64"));
		if (f->min < f->max) {
			json_object_set_new(s, "minimum", json_integer(f->min));
			json_object_set_new(s, "maximum", json_integer(f->max));
		}
		break;
	case FT_BOOL:
		json_object_set_new(s, "type", json_string("boolean"));
		break;
	case FT_FILE:
		/* A part of a multipart/form-data body. */
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "format", json_string("binary"));
		if (f->max > 0)
			json_object_set_new(s, "x-max-bytes", json_integer(f->max));
		break;
	case FT_CHOICE: {
		json_t *e = json_array();
		for (const char *const *c = f->choices; c && *c; c++)
			json_array_append_new(e, json_string(*c));
		json_object_set_new(s, "type", json_string("string"));
		json_object_set_new(s, "enum", e);
		break;
	}
	default:
		json_object_set_new(s, "type", json_string("string"));
		if (f->max > 0)
			json_object_set_new(s, "maxLength", json_integer(f->max));
		if (f->min > 0)
			json_object_set_new(s, "minLength", json_integer(f->min));
		break;
	}
	static const char *const formats[] = {
		[FT_IDCARD] = "gb11643-id", [FT_USCC] = "gb32100-uscc", [FT_PHONE] = "cn-mobile",
		[FT_EMAIL] = "email", [FT_PASSWORD] = "password", [FT_DATE] = "date",
	};
	if ((size_t)f->type < sizeof formats / sizeof formats[0] && formats[f->type] != NULL)
		json_object_set_new(s, "format", json_string(formats[f->type]));
	if (f->label)
		json_object_set_new(s, "description", json_string(f->label));
	return s;
}

static const char *method_name(enum http_method m)
{
	static const char *const names[] = { "get", "head", "post", "put", "patch", "delete" };
	return (int)m < HM__MAX ? names[m] : "get";
}

static const char *role_name(enum role r)
{
	static const char *const names[] = { "public", "anonymous", "user", "person", "staff",
					     "dept_admin", "platform_admin" };
	return (int)r < ROLE__MAX ? names[r] : "public";
}

static void build(void)
{
	json_t *paths = json_object();
	for (size_t i = 0; http_route_at(i) != NULL; i++) {
		const struct route *rt = http_route_at(i);
		if (!(rt->flags & RF_API))
			continue;
		json_t *item = json_object_get(paths, rt->path);
		if (item == NULL) {
			item = json_object();
			json_object_set_new(paths, rt->path, item);
		}
		json_t *op = json_pack("{s:s,s:s}", "summary", rt->summary ? rt->summary : "",
				       "x-yizhan-role", role_name(rt->role));
		json_t *params = json_array();
		/* Path parameters */
		for (const char *p = strchr(rt->path, '{'); p; p = strchr(p + 1, '{')) {
			const char *e = strchr(p, '}');
			if (e == NULL)
				break;
			char *name = xstrndup(p + 1, (size_t)(e - p - 1));
			json_array_append_new(params, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", name, "in",
								"path", "required", 1, "schema", "type",
								"string"));
			free(name);
		}
		int body = rt->method == HM_POST || rt->method == HM_PUT || rt->method == HM_PATCH;
		if (rt->fields != NULL) {
			json_t *props = json_object(), *req = json_array();
			for (const struct field_spec *f = rt->fields; f->name; f++) {
				if (body) {
					json_object_set_new(props, f->name, field_schema(f));
					if (f->flags & FS_REQUIRED)
						json_array_append_new(req, json_string(f->name));
				} else {
					json_array_append_new(params,
							      json_pack("{s:s,s:s,s:b,s:o}", "name", f->name, "in",
									"query", "required",
									(f->flags & FS_REQUIRED) != 0, "schema",
									field_schema(f)));
				}
			}
			if (body) {
				json_t *schema = json_pack("{s:s,s:o,s:b}", "type", "object", "properties",
							   props, "additionalProperties", 0);
				if (json_array_size(req) > 0)
					json_object_set(schema, "required", req);
				json_object_set_new(op, "requestBody",
						    json_pack("{s:b,s:{s:{s:o}}}", "required", 1, "content",
							      (rt->flags & RF_UPLOAD) ? "multipart/form-data"
										       : "application/json",
							      "schema", schema));
			} else {
				json_decref(props);
			}
			json_decref(req);
		}
		if (json_array_size(params) > 0)
			json_object_set_new(op, "parameters", params);
		else
			json_decref(params);
		if (rt->flags & RF_CSRF)
			json_object_set_new(op, "x-yizhan-csrf-header", json_string("X-CSRF-Token"));
		if (rt->flags & RF_IDEM)
			json_object_set_new(op, "x-yizhan-idempotency-header", json_string("Idempotency-Key"));
		json_object_set_new(op, "responses",
				    json_pack("{s:{s:s},s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "OK",
					      "4XX", "description", "Error", "content", "application/json",
					      "schema", "$ref", "#/components/schemas/Error"));
		json_object_set_new(item, method_name(rt->method), op);
	}
	doc = json_pack(
		"{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:{s:{s:s,s:{s:{s:s,s:{s:{s:s},s:{s:s},s:{s:s}}}}}}}}",
		"openapi", "3.0.3", "info", "title", "yizhan 一站 API", "version", "1",
		"description",
		"一站式政务服务平台 JSON API. Lists use cursor pagination (?after=&limit=, answered with "
		"items and next). Errors are {\"error\":{\"code\",\"message\",\"field\"}}. Sign in with "
		"POST /api/v1/session; send the returned csrf_token as X-CSRF-Token on unsafe calls.",
		"servers", "url", "/", "paths", paths, "components", "schemas", "Error", "type", "object",
		"properties", "error", "type", "object", "properties", "code", "type", "string", "message",
		"type", "string", "field", "type", "string");
}

json_t *openapi_document(void)
{
	pthread_once(&once, build);
	return doc ? json_incref(doc) : NULL;
}
