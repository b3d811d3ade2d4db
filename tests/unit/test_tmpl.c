/*
 * Unit tests of core/tmpl (cmocka).  Golden files: tests/golden/tmpl/, read
 * relative to the repository root (tests run from there).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <cmocka.h>

#include "core/tmpl.h"
#include "core/buf.h"
#include "core/xalloc.h"

#define GOLDEN_DIR "tests/golden/tmpl"

static json_t *parse(const char *json)
{
	json_error_t e;
	json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (v == NULL)
		fail_msg("bad test JSON '%s': %s", json, e.text);
	return v;
}

/* Compiles text as "t" into set; fails the test on a compile error. */
static void add_ok(struct tmpl_set *set, const char *name, const char *text)
{
	char *err = NULL;
	int rc = tmpl_set_add(set, name, text, strlen(text), &err);
	if (rc != 0)
		fail_msg("compile of '%s' failed: %s", text, err ? err : "(no message)");
	assert_null(err);
}

/* Renders name of set with json; returns malloc'd output or NULL on -1. */
static char *render_set(const struct tmpl_set *set, const char *name, const char *json)
{
	struct buf out = BUF_INIT(1 << 20);
	json_t *ctx = json ? parse(json) : NULL;
	int rc = tmpl_render(set, name, ctx, &out);
	json_decref(ctx);
	if (rc < 0) {
		buf_release(&out);
		return NULL;
	}
	return buf_detach(&out, NULL);
}

/* Compiles one template and renders it; NULL when rendering fails. */
static char *render(const char *text, const char *json)
{
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "t", text);
	char *s = render_set(set, "t", json);
	tmpl_set_free(set);
	return s;
}

static void check(const char *text, const char *json, const char *want)
{
	char *got = render(text, json);
	if (got == NULL)
		fail_msg("render of '%s' with %s failed", text, json);
	if (strcmp(got, want) != 0)
		fail_msg("render of '%s' with %s:\n got  '%s'\n want '%s'", text, json, got, want);
	free(got);
}

/* Compiles text as name expecting failure; returns the message (free it). */
static char *compile_err(const char *name, const char *text)
{
	struct tmpl_set *set = tmpl_set_new();
	char *err = NULL;
	int rc = tmpl_set_add(set, name, text, strlen(text), &err);
	tmpl_set_free(set);
	if (rc != -1)
		fail_msg("'%s' compiled but should not", text);
	assert_non_null(err);
	return err;
}

static void check_err(const char *text, const char *want_prefix, const char *want_sub)
{
	char *err = compile_err("page", text);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0 || strstr(err, want_sub) == NULL)
		fail_msg("error for '%s' is '%s'; want prefix '%s' and '%s'",
		    text, err, want_prefix, want_sub);
	free(err);
}

/* ---- output and escaping ---------------------------------------------- */

static void test_escaping(void **state)
{
	(void)state;
	check("<p>{{x}}</p>", "{\"x\":\"<>&\\\"'`\"}", "<p>&lt;&gt;&amp;&quot;&#39;&#96;</p>");
	check("{{x}}", "{\"x\":\"<script>alert(1)</script>\"}",
	    "&lt;script&gt;alert(1)&lt;/script&gt;");
	/* template text itself is emitted verbatim */
	check("<a href=\"x\">&amp;</a>", "{}", "<a href=\"x\">&amp;</a>");
	/* {{.}} and section values are escaped too */
	check("{{#a}}{{.}}{{/a}}", "{\"a\":[\"<b>\"]}", "&lt;b&gt;");
}

static void test_raw_html(void **state)
{
	(void)state;
	check("{{&body_html}}", "{\"body_html\":\"<b>x</b>&amp;\"}", "<b>x</b>&amp;");
	check("{{& body_html }}", "{\"body_html\":\"<i>\"}", "<i>");
	check("{{&doc.body_html}}", "{\"doc\":{\"body_html\":\"<p>\"}}", "<p>");
	check_err("a\n{{&body}}", "page:2: ", "_html");
	check_err("{{&html}}", "page:1: ", "_html");
	check_err("{{&body_htmlx}}", "page:1: ", "_html");
	check_err("{{{body_html}}}", "page:1: ", "triple");
}

static void test_scalars(void **state)
{
	(void)state;
	check("{{n}}|{{m}}|{{big}}", "{\"n\":42,\"m\":-7,\"big\":9007199254740993}",
	    "42|-7|9007199254740993");
	check("{{a}}|{{b}}|{{c}}|{{d}}|{{e}}", "{\"a\":0.1,\"b\":1.5,\"c\":2.0,\"d\":1e300,\"e\":-0.25}",
	    "0.1|1.5|2|1e+300|-0.25");
	check("{{r}}", "{\"r\":0.30000000000000004}", "0.30000000000000004");
	check("[{{t}}][{{f}}][{{z}}][{{missing}}]", "{\"t\":true,\"f\":false,\"z\":null}",
	    "[true][][][]");
	/* objects and arrays print nothing */
	check("[{{o}}][{{a}}]", "{\"o\":{\"k\":1},\"a\":[1,2]}", "[][]");
	/* NULL context */
	check("x{{a}}{{.}}y", NULL, "xy");
	/* strings with NUL bytes keep their length */
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "t", "[{{s}}]");
	json_t *ctx = parse("{\"s\":\"a\\u0000<\"}");
	struct buf out = BUF_INIT(64);
	assert_int_equal(tmpl_render(set, "t", ctx, &out), 0);
	assert_int_equal(out.len, 8);
	assert_memory_equal(out.data, "[a\0&lt;]", 8);
	buf_release(&out);
	json_decref(ctx);
	tmpl_set_free(set);
}

static void test_chinese(void **state)
{
	(void)state;
	check("<h1>办事指南：{{title}}</h1>\n<p>承诺时限 {{days}} 个工作日</p>",
	    "{\"title\":\"居民身份证申领（首次）\",\"days\":20}",
	    "<h1>办事指南：居民身份证申领（首次）</h1>\n<p>承诺时限 20 个工作日</p>");
	/* names are ASCII: a Chinese name is refused at compile time */
	check_err("\n{{名称}}", "page:2: ", "bad byte");
}

static void test_whitespace_and_comments(void **state)
{
	(void)state;
	check("  {{ x }}\n\t{{#a}} y {{/a}}\n", "{\"x\":1,\"a\":true}", "  1\n\t y \n");
	check("a{{! a comment }}b", "{}", "ab");
	check("a{{!\nmulti\nline {{x }}b", "{}", "ab");
	/* a comment ends at the first }} */
	check("a{{! {{x}} }}b", "{}", "a }}b");
	/* lines inside comments are counted */
	check_err("{{!\n\n}}\n{{#a}}", "page:4: ", "unclosed section");
	check_err("a{{! never closed", "page:1: ", "unclosed comment");
}

/* ---- sections --------------------------------------------------------- */

static void test_sections_arrays(void **state)
{
	(void)state;
	check("<ul>{{#items}}<li>{{name}}:{{n}}</li>{{/items}}</ul>",
	    "{\"items\":[{\"name\":\"a\",\"n\":1},{\"name\":\"b\",\"n\":2}]}",
	    "<ul><li>a:1</li><li>b:2</li></ul>");
	check("{{#items}}x{{/items}}", "{\"items\":[]}", "");
	/* nested */
	check("{{#depts}}[{{name}}:{{#staff}}{{name}},{{/staff}}]{{/depts}}",
	    "{\"depts\":[{\"name\":\"公安\",\"staff\":[{\"name\":\"张三\"},{\"name\":\"李四\"}]},"
	    "{\"name\":\"民政\",\"staff\":[]}]}",
	    "[公安:张三,李四,][民政:]");
	/* object section pushes the object */
	check("{{#user}}{{name}}{{/user}}", "{\"user\":{\"name\":\"王五\"}}", "王五");
	/* truthy scalar section renders once with the scalar as context */
	check("{{#n}}<{{.}}>{{/n}}", "{\"n\":5}", "<5>");
	/* a section on "." */
	check("{{#a}}{{#.}}[{{.}}]{{/.}}{{/a}}", "{\"a\":[\"x\",\"\"]}", "[x]");
}

static void test_dot_arrays(void **state)
{
	(void)state;
	check("{{#tags}}<i>{{.}}</i>{{/tags}}", "{\"tags\":[\"社保\",\"医保\",\"<x>\"]}",
	    "<i>社保</i><i>医保</i><i>&lt;x&gt;</i>");
	check("{{#ns}}{{.}},{{/ns}}", "{\"ns\":[1,2.5,true,null,false]}", "1,2.5,true,,,");
	check("{{#rows}}({{#.}}{{.}}{{/.}}){{/rows}}", "{\"rows\":[[1,2],[3]]}", "(12)(3)");
}

static void test_inverted(void **state)
{
	(void)state;
	check("{{#items}}x{{/items}}{{^items}}无记录{{/items}}", "{\"items\":[]}", "无记录");
	check("{{^items}}无记录{{/items}}", "{\"items\":[1]}", "");
	check("{{^a}}{{^b}}both{{/b}}{{/a}}", "{}", "both");
	/* inverted sections push nothing: {{.}} is the outer context */
	check("{{#a}}{{^missing}}{{.}}{{/missing}}{{/a}}", "{\"a\":[\"k\"]}", "k");
}

static void test_falsy_values(void **state)
{
	(void)state;
	static const char *const falsy[] = {
		"{}", "{\"v\":null}", "{\"v\":false}", "{\"v\":\"\"}", "{\"v\":0}",
		"{\"v\":0.0}", "{\"v\":-0.0}", "{\"v\":[]}",
	};
	static const char *const truthy[] = {
		"{\"v\":true}", "{\"v\":\"0\"}", "{\"v\":\" \"}", "{\"v\":1}", "{\"v\":-1}",
		"{\"v\":0.5}", "{\"v\":[0]}", "{\"v\":[false]}", "{\"v\":{}}", "{\"v\":{\"a\":1}}",
	};
	for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++)
		check("{{#v}}yes{{/v}}{{^v}}no{{/v}}", falsy[i], "no");
	for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++)
		check("{{#v}}yes{{/v}}{{^v}}no{{/v}}", truthy[i], "yes");
}

/* ---- lookup ----------------------------------------------------------- */

static void test_dotted_and_stack(void **state)
{
	(void)state;
	check("{{a.b.c}}", "{\"a\":{\"b\":{\"c\":\"deep\"}}}", "deep");
	check("[{{a.x.c}}][{{q.b}}]", "{\"a\":{\"b\":{\"c\":1}}}", "[][]");
	/* names found outward through the stack */
	check("{{#items}}{{name}}@{{site}};{{/items}}",
	    "{\"site\":\"一站\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\",\"site\":\"own\"}]}",
	    "a@一站;b@own;");
	/* first segment outward, the rest inward: a found in the inner context
	 * lacks b, and the outer a.b must not be used */
	check("{{#inner}}[{{a.b}}]{{/inner}}",
	    "{\"a\":{\"b\":\"outer\"},\"inner\":{\"a\":{\"c\":1}}}", "[]");
	check("{{#inner}}[{{a.b}}]{{/inner}}",
	    "{\"a\":{\"b\":\"outer\"},\"inner\":{\"x\":1}}", "[outer]");
	/* a key present with null stops the outward search */
	check("{{#inner}}[{{a}}]{{/inner}}", "{\"a\":\"outer\",\"inner\":{\"a\":null}}", "[]");
	/* dotted section */
	check("{{#case.events}}{{at}} {{/case.events}}",
	    "{\"case\":{\"events\":[{\"at\":\"d1\"},{\"at\":\"d2\"}]}}", "d1 d2 ");
	/* names with - and _ and digits */
	check("{{a-b}}{{c_1}}", "{\"a-b\":\"x\",\"c_1\":\"y\"}", "xy");
}

/* ---- catalogue -------------------------------------------------------- */

static void test_messages(void **state)
{
	(void)state;
	check("<title>{{@SITE_NAME}}</title>", "{}", "<title>一站式政务服务平台</title>");
	check("{{@site_name}}|{{ @SITE_SHORT }}", NULL, "一站式政务服务平台|一站");
	check_err("line1\nline2\n{{@NO_SUCH_MESSAGE}}", "page:3: ", "NO_SUCH_MESSAGE");
	check_err("{{@}}", "page:1: ", "empty tag");
}

/* ---- partials --------------------------------------------------------- */

static void test_partials(void **state)
{
	(void)state;
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "page", "<main>{{#items}}{{>common/item}}{{/items}}</main>{{>footer}}");
	/* referenced before it exists: unresolved -> render fails */
	char *s = render_set(set, "page", "{\"items\":[]}");
	assert_null(s);
	add_ok(set, "common/item", "<li>{{name}} {{site}}</li>");
	add_ok(set, "footer", "<footer>{{@SITE_SHORT}}</footer>");
	assert_true(tmpl_exists(set, "common/item"));
	assert_false(tmpl_exists(set, "common/item.html"));
	assert_false(tmpl_exists(set, "nope"));
	s = render_set(set, "page", "{\"site\":\"S\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
	assert_non_null(s);
	assert_string_equal(s, "<main><li>a S</li><li>b S</li></main><footer>一站</footer>");
	free(s);
	/* a partial name that never appears */
	add_ok(set, "broken", "x{{>missing}}");
	assert_null(render_set(set, "broken", "{}"));
	/* unknown template */
	assert_null(render_set(set, "absent", "{}"));
	/* duplicate name */
	char *err = NULL;
	assert_int_equal(tmpl_set_add(set, "footer", "x", 1, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err, "duplicate"));
	free(err);
	tmpl_set_free(set);
}

/* A recursive tree partial: depth 8 renders, depth 9 is an error. */
static void test_partial_depth(void **state)
{
	(void)state;
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "tree", "<ul>{{>node}}</ul>");
	add_ok(set, "node", "<li>{{name}}{{#children}}{{>node}}{{/children}}</li>");
	add_ok(set, "loop", "x{{>loop}}");

	/* tree -> node (depth 1) -> ... -> node (depth 8) */
	char json[1024];
	struct buf j = BUF_INIT(sizeof json);
	for (int levels = 1; levels <= 9; levels++) {
		buf_reset(&j);
		for (int k = 0; k < levels; k++)
			assert_int_equal(buf_addf(&j, "{\"name\":\"%d\",\"children\":[", k), 0);
		for (int k = 0; k < levels; k++)
			assert_int_equal(buf_addstr(&j, "]}"), 0);
		char *s = render_set(set, "tree", j.data);
		if (levels <= 8) {
			assert_non_null(s);
			int lis = 0;
			for (const char *q = s; (q = strstr(q, "<li>")) != NULL; q++)
				lis++;
			assert_int_equal(lis, levels);
			assert_int_equal(strncmp(s, "<ul><li>0", 9), 0);
			free(s);
		} else {
			assert_null(s);
		}
	}
	buf_release(&j);

	/* unbounded recursion is an error, not a crash; out is left unchanged */
	struct buf out = BUF_INIT(1 << 20);
	assert_int_equal(buf_addstr(&out, "keep"), 0);
	assert_int_equal(tmpl_render(set, "loop", NULL, &out), -1);
	assert_int_equal(out.len, 4);
	assert_string_equal(out.data, "keep");
	buf_release(&out);
	tmpl_set_free(set);
}

/* Data-bounded recursion that multiplies work is cut off by the step
 * budget instead of running for minutes. */
static void test_work_limit(void **state)
{
	(void)state;
	struct tmpl_set *set = tmpl_set_new();
	struct buf t = BUF_INIT(4096);
	assert_int_equal(buf_addstr(&t, "{{#a}}"), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(buf_addstr(&t, "{{>r}}"), 0);
	assert_int_equal(buf_addstr(&t, "{{/a}}"), 0);
	add_ok(set, "r", t.data);
	struct buf j = BUF_INIT(4096);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf_addstr(&j, "{\"a\":["), 0);
	assert_int_equal(buf_addstr(&j, "{\"a\":[]}"), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(buf_addstr(&j, "]}"), 0);
	/* 20^8 partial calls: refused */
	assert_null(render_set(set, "r", j.data));
	buf_release(&t);
	buf_release(&j);
	tmpl_set_free(set);
}

/* ---- compile errors --------------------------------------------------- */

static void test_compile_errors(void **state)
{
	(void)state;
	check_err("<p>\n{{#items}}\n<li>\n", "page:2: ", "unclosed section {{#items}}");
	check_err("{{#a}}\n{{^b}}\n{{/a}}", "page:3: ", "does not match {{^b}} opened on line 2");
	check_err("x\n\n{{/a}}", "page:3: ", "closes no open section");
	check_err("{{}}", "page:1: ", "empty tag");
	check_err("\n{{ }}", "page:2: ", "empty tag");
	check_err("{{#}}", "page:1: ", "empty tag");
	check_err("{{a b}}", "page:1: ", "bad character");
	check_err("{{a/b}}", "page:1: ", "bad character '/'");
	check_err("{{a..b}}", "page:1: ", "empty segment");
	check_err("{{.a}}", "page:1: ", "empty segment");
	check_err("{{a.}}", "page:1: ", "empty segment");
	check_err("{{=<% %>=}}", "page:1: ", "bad character");
	check_err("{{a\xe4\xb8\x80}}", "page:1: ", "bad byte 0xe4");
	check_err("a {{b", "page:1: ", "unclosed tag");
	check_err("a {{b\n}}", "page:1: ", "unclosed tag");
	check_err("{{", "page:1: ", "unclosed tag");

	/* 128 bytes between the braces is fine, 129 is too long */
	char tag[200];
	memset(tag, 'x', sizeof tag);
	memcpy(tag, "{{", 2);
	memcpy(tag + 2 + 128, "}}", 3);
	check(tag, "{}", "");
	tag[2 + 128] = 'x';
	memcpy(tag + 2 + 129, "}}", 3);
	char *err = compile_err("page", tag);
	assert_non_null(strstr(err, "page:1: tag too long"));
	free(err);

	/* error messages name the template as given */
	err = compile_err("hall/apply", "ok\nok\n{{#x}}");
	assert_string_equal(err, "hall/apply:3: unclosed section {{#x}}");
	free(err);
}

static void test_nesting_limit(void **state)
{
	(void)state;
	struct buf t = BUF_INIT(4096);
	for (int i = 0; i < 32; i++)
		assert_int_equal(buf_addf(&t, "{{#s%d}}", i), 0);
	assert_int_equal(buf_addstr(&t, "{{v}}"), 0);
	for (int i = 31; i >= 0; i--)
		assert_int_equal(buf_addf(&t, "{{/s%d}}", i), 0);
	check(t.data, "{\"s0\":1,\"s1\":[{\"v\":\"deep\"}]}", "");
	/* each level true: the innermost v is found outward */
	struct buf j = BUF_INIT(4096);
	assert_int_equal(buf_addch(&j, '{'), 0);
	for (int i = 0; i < 32; i++)
		assert_int_equal(buf_addf(&j, "\"s%d\":true,", i), 0);
	assert_int_equal(buf_addstr(&j, "\"v\":\"深\"}"), 0);
	check(t.data, j.data, "深");

	buf_reset(&t);
	assert_int_equal(buf_addstr(&t, "\n"), 0);
	for (int i = 0; i < 33; i++)
		assert_int_equal(buf_addf(&t, "{{#s%d}}", i), 0);
	char *err = compile_err("page", t.data);
	assert_non_null(strstr(err, "page:2: sections nested deeper than 32"));
	free(err);
	buf_release(&t);
	buf_release(&j);
}

/* ---- output limit ----------------------------------------------------- */

static void test_buf_max(void **state)
{
	(void)state;
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "t", "<p>{{#rows}}{{v}}{{/rows}}</p>");
	json_t *ctx = parse("{\"rows\":[{\"v\":\"<<<<\"},{\"v\":\"<<<<\"}]}");

	/* "<p>" + 2 * 16 + "</p>" = 39 bytes */
	struct buf out = BUF_INIT(39);
	assert_int_equal(tmpl_render(set, "t", ctx, &out), 0);
	assert_int_equal(out.len, 39);
	buf_release(&out);

	struct buf small = BUF_INIT(38);
	assert_int_equal(tmpl_render(set, "t", ctx, &small), -1);
	assert_int_equal(small.len, 0);
	buf_release(&small);

	/* limit hit in the middle of an escaped value, after earlier content */
	struct buf mid = BUF_INIT(20);
	assert_int_equal(buf_addstr(&mid, "head"), 0);
	assert_int_equal(tmpl_render(set, "t", ctx, &mid), -1);
	assert_int_equal(mid.len, 4);
	assert_string_equal(mid.data, "head");
	buf_release(&mid);

	json_decref(ctx);
	tmpl_set_free(set);
}

/* ---- loading from an embed table -------------------------------------- */

#define EF(n, s) { (n), (const unsigned char *)(s), sizeof(s) - 1 }

static void test_load(void **state)
{
	(void)state;
	static const struct embed_file files[] = {
		EF("portal/layout.html", "<html><title>{{@SITE_NAME}}</title>{{>portal/nav}}{{&body_html}}</html>"),
		EF("portal/nav.html", "<nav>{{#links}}<a>{{.}}</a>{{/links}}</nav>"),
		EF("portal/readme.txt", "{{#unclosed}} {{&not_checked}} {{>nowhere}}"),
		EF("portal/style.css", "a{color:red}"),
		{ NULL, NULL, 0 },
	};
	struct tmpl_set *set = NULL;
	char *err = NULL;
	assert_int_equal(tmpl_set_load(files, &set, &err), 0);
	assert_null(err);
	assert_non_null(set);
	assert_true(tmpl_exists(set, "portal/layout"));
	assert_true(tmpl_exists(set, "portal/nav"));
	assert_false(tmpl_exists(set, "portal/readme"));
	assert_false(tmpl_exists(set, "portal/readme.txt"));
	char *s = render_set(set, "portal/layout",
	    "{\"links\":[\"首页\",\"办事\"],\"body_html\":\"<p>正文</p>\"}");
	assert_non_null(s);
	assert_string_equal(s, "<html><title>一站式政务服务平台</title>"
	    "<nav><a>首页</a><a>办事</a></nav><p>正文</p></html>");
	free(s);
	tmpl_set_free(set);
}

static void test_load_errors(void **state)
{
	(void)state;
	static const struct embed_file unknown_partial[] = {
		EF("a.html", "ok"),
		EF("hall/item.html", "line1\nline2\n  {{>hall/missing}}"),
		{ NULL, NULL, 0 },
	};
	static const struct embed_file bad_syntax[] = {
		EF("a.html", "ok"),
		EF("office/doc.html", "<h1>\n{{#doc}}\n{{/docs}}"),
		{ NULL, NULL, 0 },
	};
	static const struct embed_file bad_msg[] = {
		EF("x/y.html", "\n\n\n{{@NOT_A_MESSAGE_ID}}"),
		{ NULL, NULL, 0 },
	};
	static const struct embed_file empty[] = {
		{ NULL, NULL, 0 },
	};
	struct tmpl_set *set = (struct tmpl_set *)1;
	char *err = NULL;

	assert_int_equal(tmpl_set_load(unknown_partial, &set, &err), -1);
	assert_null(set);
	assert_string_equal(err, "hall/item.html:3: unknown partial 'hall/missing'");
	free(err);

	assert_int_equal(tmpl_set_load(bad_syntax, &set, &err), -1);
	assert_non_null(strstr(err, "office/doc.html:3: {{/docs}} does not match {{#doc}}"));
	free(err);

	assert_int_equal(tmpl_set_load(bad_msg, &set, &err), -1);
	assert_non_null(strstr(err, "x/y.html:4: unknown message"));
	free(err);

	err = NULL;
	assert_int_equal(tmpl_set_load(empty, &set, &err), 0);
	assert_null(err);
	assert_false(tmpl_exists(set, "a"));
	tmpl_set_free(set);
}

/* ---- concurrency ------------------------------------------------------ */

struct race {
	const struct tmpl_set *set;
	json_t *ctx;
	const char *want;
	int bad;
};

static void *race_run(void *arg)
{
	struct race *r = arg;
	struct buf out = BUF_INIT(1 << 16);
	for (int i = 0; i < 2000; i++) {
		buf_reset(&out);
		if (tmpl_render(r->set, "list", r->ctx, &out) != 0 || strcmp(out.data, r->want) != 0)
			r->bad = 1;
	}
	buf_release(&out);
	return NULL;
}

static void test_concurrent_render(void **state)
{
	(void)state;
	struct tmpl_set *set = tmpl_set_new();
	add_ok(set, "list", "{{#a}}<i>{{n}}{{>x}}</i>{{/a}}");
	add_ok(set, "x", "{{@SITE_SHORT}}{{#b}}!{{/b}}");
	json_t *ctx = parse("{\"a\":[{\"n\":1,\"b\":true},{\"n\":\"<2>\"}]}");
	struct race r[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){ set, ctx, "<i>1一站!</i><i>&lt;2&gt;一站</i>", 0 };
		assert_int_equal(pthread_create(&th[i], NULL, race_run, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
	json_decref(ctx);
	tmpl_set_free(set);
}

/* ---- golden files ----------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(1 << 22);
	char chunk[4096];
	size_t n;
	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_add(&b, chunk, n) < 0)
			fail_msg("%s too large", path);
	fclose(f);
	return buf_detach(&b, len);
}

/*
 * Every NAME.html of tests/golden/tmpl is loaded into one set (so they may
 * use each other as partials); every NAME.json is a context for NAME, and
 * the output must equal NAME.out byte for byte.
 */
static void test_golden(void **state)
{
	(void)state;
	DIR *d = opendir(GOLDEN_DIR);
	if (d == NULL)
		fail_msg("cannot open %s (run the tests from the repository root)", GOLDEN_DIR);
	struct embed_file files[64];
	char *names[64];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".html") != 0)
			continue;
		assert_true(n < 63);
		char *path = xasprintf("%s/%s", GOLDEN_DIR, de->d_name);
		names[n] = strdup(de->d_name);
		files[n].name = names[n];
		files[n].data = (const unsigned char *)slurp(path, &files[n].len);
		assert_non_null(files[n].data);
		free(path);
		n++;
	}
	closedir(d);
	files[n].name = NULL;
	assert_true(n >= 2);

	struct tmpl_set *set = NULL;
	char *err = NULL;
	if (tmpl_set_load(files, &set, &err) != 0)
		fail_msg("golden load: %s", err);

	int checked = 0;
	for (size_t i = 0; i < n; i++) {
		char base[256];
		snprintf(base, sizeof base, "%s/%.*s", GOLDEN_DIR,
		    (int)(strlen(names[i]) - 5), names[i]);
		char path[300];
		snprintf(path, sizeof path, "%s.json", base);
		char *json = slurp(path, NULL);
		if (json == NULL)
			continue;   /* a partial only */
		snprintf(path, sizeof path, "%s.out", base);
		size_t wantlen = 0;
		char *want = slurp(path, &wantlen);
		if (want == NULL)
			fail_msg("%s missing", path);
		char tname[256];
		snprintf(tname, sizeof tname, "%.*s", (int)(strlen(names[i]) - 5), names[i]);
		char *got = render_set(set, tname, json);
		if (got == NULL)
			fail_msg("golden %s: render failed", tname);
		if (strlen(got) != wantlen || memcmp(got, want, wantlen) != 0)
			fail_msg("golden %s differs:\n--- got\n%s\n--- want\n%s", tname, got, want);
		free(got);
		free(want);
		free(json);
		checked++;
	}
	assert_true(checked >= 1);
	tmpl_set_free(set);
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		free((void *)files[i].data);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_raw_html),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_chinese),
		cmocka_unit_test(test_whitespace_and_comments),
		cmocka_unit_test(test_sections_arrays),
		cmocka_unit_test(test_dot_arrays),
		cmocka_unit_test(test_inverted),
		cmocka_unit_test(test_falsy_values),
		cmocka_unit_test(test_dotted_and_stack),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_partials),
		cmocka_unit_test(test_partial_depth),
		cmocka_unit_test(test_work_limit),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_buf_max),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_concurrent_render),
		cmocka_unit_test(test_golden),
	};
	return cmocka_run_group_tests_name("tmpl", tests, NULL, NULL);
}
