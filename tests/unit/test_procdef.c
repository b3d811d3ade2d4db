/*
 * Unit tests of engines/case/procdef (cmocka): the shipped process files,
 * every validation error with its line, lookups, the embedded registry.
 * Files are read relative to the repository root (tests run from there).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/embed.h"
#include "core/xalloc.h"
#include "engines/case/procdef.h"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	struct buf b = BUF_INIT(1 << 20);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		assert_int_equal(buf_add(&b, chunk, n), 0);
	fclose(f);
	char *s = buf_detach(&b, len);
	return s ? s : xstrdup("");
}

static struct procdef *parse_file(const char *path)
{
	size_t len = 0;
	char *text = read_file(path, &len), *err = NULL;
	struct procdef *p = NULL;
	if (procdef_parse(path, text, len, &p, &err) != 0)
		fail_msg("%s does not load: %s", path, err);
	assert_null(err);
	free(text);
	return p;
}

static struct procdef *parse_ok(const char *text)
{
	char *err = NULL;
	struct procdef *p = NULL;
	if (procdef_parse("t.proc", text, strlen(text), &p, &err) != 0)
		fail_msg("parse failed: %s\n---\n%s", err, text);
	assert_non_null(p);
	assert_null(err);
	return p;
}

/* Expects text to fail with "t.proc:LINE: " and want in the message. */
static void check_err_at(const char *text, size_t len, int line, const char *want)
{
	char *err = NULL, prefix[64];
	struct procdef *p = (struct procdef *)1;
	int rc = procdef_parse("t.proc", text, len, &p, &err);
	if (rc != -1)
		fail_msg("parsed but should fail at line %d (%s):\n%s", line, want, text);
	assert_null(p);
	assert_non_null(err);
	snprintf(prefix, sizeof prefix, "t.proc:%d: ", line);
	if (strncmp(err, prefix, strlen(prefix)) != 0 || strstr(err, want) == NULL)
		fail_msg("error is '%s'; want prefix '%s' and '%s'\n---\n%s", err, prefix, want,
		    text);
	free(err);
}

static void check_err(const char *text, int line, const char *want)
{
	check_err_at(text, strlen(text), line, want);
}

/* A valid process; error cases below change one thing in it. */
#define HEAD "process 测试流程\n"                        /* 1 */
#define SA   "state a initial title=甲\n"                /* 2 */
#define SB   "state b title=乙\n"                        /* 3 */
#define SZ   "state z final title=终\n"                  /* 4 */
#define TGO  "transition go a -> b roles=staff title=走\n"   /* 5 */
#define TEND "transition end b -> z roles=staff title=完\n"  /* 6 */

/* ---- the shipped files ------------------------------------------------ */

static void test_standard(void **state)
{
	(void)state;
	struct procdef *p = parse_file("processes/hall/standard.proc");
	assert_string_equal(p->name, "hall.standard");
	assert_string_equal(p->title, "行政许可标准流程");
	assert_string_equal(p->file, "processes/hall/standard.proc");
	assert_int_equal(p->statutory_days, 20);
	assert_int_equal(p->promised_days, 10);
	assert_true(p->warn == 0.75);
	assert_int_equal(p->nstates, 12);
	assert_int_equal(p->ntr, 17);
	assert_int_equal(p->nesc, 3);

	static const struct {
		const char *name, *title;
		unsigned flags;
		enum pd_clock clock;
	} want[] = {
		{ "draft", "草稿", PD_STATE_INITIAL, PD_CLOCK_WAIT },
		{ "submitted", "已提交待预审", 0, PD_CLOCK_WAIT },
		{ "correction", "待补正", 0, PD_CLOCK_PAUSE },
		{ "accepted", "已受理", 0, PD_CLOCK_RUN },
		{ "refused", "不予受理", PD_STATE_FINAL, PD_CLOCK_STOP },
		{ "review", "审查中", 0, PD_CLOCK_RUN },
		{ "inspection", "现场勘验", PD_STATE_SPECIAL, PD_CLOCK_PAUSE },
		{ "expert_review", "专家评审", PD_STATE_SPECIAL, PD_CLOCK_PAUSE },
		{ "hearing", "听证", PD_STATE_SPECIAL, PD_CLOCK_PAUSE },
		{ "approved", "准予许可", PD_STATE_FINAL, PD_CLOCK_STOP },
		{ "rejected", "不予许可", PD_STATE_FINAL, PD_CLOCK_STOP },
		{ "withdrawn", "已撤回", PD_STATE_FINAL, PD_CLOCK_STOP },
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		int k = procdef_state(p, want[i].name);
		if (k < 0)
			fail_msg("state %s missing", want[i].name);
		assert_string_equal(p->states[k].title, want[i].title);
		assert_int_equal(p->states[k].flags, want[i].flags);
		assert_int_equal(p->states[k].clock, want[i].clock);
		assert_true(p->states[k].line > 0);
	}
	assert_int_equal(p->initial, procdef_state(p, "draft"));

	/* every transition's states resolved, every one has roles and a title */
	for (int i = 0; i < p->ntr; i++) {
		assert_in_range(p->tr[i].from, 0, p->nstates - 1);
		assert_in_range(p->tr[i].to, 0, p->nstates - 1);
		assert_true(p->tr[i].roles != 0);
		assert_non_null(p->tr[i].require);
		assert_true(p->tr[i].title[0] != '\0');
	}
	const struct pd_transition *t = procdef_transition(p, procdef_state(p, "accepted"),
	    "start_review");
	assert_non_null(t);
	assert_false(t->public);
	assert_string_equal(t->title, "开始审查");
	t = procdef_transition(p, procdef_state(p, "submitted"), "send_back");
	assert_non_null(t);
	assert_true(t->public);
	assert_int_equal(t->to, procdef_state(p, "correction"));
	assert_string_equal(t->title, "一次性告知补正");

	assert_string_equal(p->esc[0].name, "remind");
	assert_string_equal(p->esc[0].title, "催办");
	assert_true(p->esc[0].at == 0.75);
	assert_int_equal(p->esc[0].limit, PD_LIMIT_PROMISED);
	assert_int_equal(p->esc[0].to, PD_ROLE_STAFF);
	assert_string_equal(p->esc[1].name, "supervise");
	assert_string_equal(p->esc[1].title, "督办");
	assert_true(p->esc[1].at == 1.0);
	assert_int_equal(p->esc[1].limit, PD_LIMIT_PROMISED);
	assert_int_equal(p->esc[1].to, PD_ROLE_SUPERVISOR);
	assert_string_equal(p->esc[2].name, "supervise_statutory");
	assert_true(p->esc[2].at == 1.0);
	assert_int_equal(p->esc[2].limit, PD_LIMIT_STATUTORY);
	assert_int_equal(p->esc[2].to, PD_ROLE_SUPERVISOR);
	procdef_free(p);
}

static void test_simple(void **state)
{
	(void)state;
	struct procdef *p = parse_file("processes/hall/simple.proc");
	assert_string_equal(p->name, "hall.simple");
	assert_string_equal(p->title, "即办件流程");
	assert_int_equal(p->statutory_days, 1);
	assert_int_equal(p->promised_days, 1);
	assert_true(p->warn == 0.5);
	assert_int_equal(p->nstates, 3);
	assert_int_equal(p->ntr, 2);
	int sub = procdef_state(p, "submitted");
	assert_int_equal(p->initial, sub);
	assert_int_equal(p->states[sub].clock, PD_CLOCK_RUN);
	const struct pd_transition *t = procdef_transition(p, sub, "approve");
	assert_non_null(t);
	assert_int_equal(t->to, procdef_state(p, "approved"));
	assert_int_equal(t->roles, PD_ROLE_STAFF);
	t = procdef_transition(p, sub, "reject");
	assert_non_null(t);
	assert_int_equal(t->to, procdef_state(p, "rejected"));
	procdef_free(p);
}

/* ---- lookups ---------------------------------------------------------- */

static void test_transition_lookup(void **state)
{
	(void)state;
	struct procdef *p = parse_file("processes/hall/standard.proc");
	int wd = procdef_state(p, "withdrawn");
	assert_true(wd >= 0);
	/* one line, three from-states: three transitions on the same line */
	static const char *froms[] = { "draft", "submitted", "correction" };
	int line = 0;
	for (int i = 0; i < 3; i++) {
		const struct pd_transition *t = procdef_transition(p, procdef_state(p, froms[i]),
		    "withdraw");
		if (t == NULL)
			fail_msg("withdraw from %s missing", froms[i]);
		assert_int_equal(t->from, procdef_state(p, froms[i]));
		assert_int_equal(t->to, wd);
		assert_int_equal(t->roles, PD_ROLE_APPLICANT);
		assert_true(t->public);
		assert_string_equal(t->title, "撤回申请");
		if (line == 0)
			line = t->line;
		assert_int_equal(t->line, line);
	}
	assert_null(procdef_transition(p, procdef_state(p, "accepted"), "withdraw"));
	assert_null(procdef_transition(p, procdef_state(p, "review"), "withdraw"));
	/* back from each special step */
	static const char *specials[] = { "inspection", "expert_review", "hearing" };
	for (int i = 0; i < 3; i++) {
		const struct pd_transition *t = procdef_transition(p,
		    procdef_state(p, specials[i]), "back");
		assert_non_null(t);
		assert_int_equal(t->to, procdef_state(p, "review"));
	}
	/* unknowns and bad arguments */
	assert_null(procdef_transition(p, 0, "fly"));
	assert_null(procdef_transition(p, -1, "submit"));
	assert_null(procdef_transition(p, p->nstates, "submit"));
	assert_null(procdef_transition(p, 0, NULL));
	assert_null(procdef_transition(NULL, 0, "submit"));
	assert_non_null(procdef_transition(p, 0, "submit"));
	/* final states have no way out */
	for (int i = 0; i < p->nstates; i++)
		if (p->states[i].flags & PD_STATE_FINAL)
			for (int j = 0; j < p->ntr; j++)
				assert_int_not_equal(p->tr[j].from, i);
	assert_int_equal(procdef_state(p, "nope"), -1);
	assert_int_equal(procdef_state(p, NULL), -1);
	assert_int_equal(procdef_state(NULL, "draft"), -1);
	procdef_free(p);
}

static void test_roles(void **state)
{
	(void)state;
	struct procdef *p = parse_file("processes/hall/standard.proc");
	int review = procdef_state(p, "review");
	assert_int_equal(procdef_transition(p, review, "approve")->roles,
	    PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN);
	assert_int_equal(procdef_transition(p, review, "reject")->roles,
	    PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN);
	assert_int_equal(procdef_transition(p, p->initial, "submit")->roles, PD_ROLE_APPLICANT);
	procdef_free(p);

	p = parse_ok(HEAD SA SB SZ
	    "transition go a -> b roles=system|supervisor|dept_admin|staff|applicant title=走\n"
	    TEND
	    "escalate x at=2 of=statutory to=staff|dept_admin title=催\n");
	assert_int_equal(p->tr[0].roles, PD_ROLE_APPLICANT | PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN |
	    PD_ROLE_SUPERVISOR | PD_ROLE_SYSTEM);
	assert_int_equal(p->esc[0].to, PD_ROLE_STAFF | PD_ROLE_DEPT_ADMIN);
	assert_true(p->esc[0].at == 2.0);
	procdef_free(p);
}

static void test_require(void **state)
{
	(void)state;
	struct procdef *p = parse_file("processes/hall/standard.proc");
	const struct pd_transition *t = procdef_transition(p, procdef_state(p, "submitted"),
	    "send_back");
	assert_string_equal(t->require[0], "missing_list");
	assert_null(t->require[1]);
	t = procdef_transition(p, procdef_state(p, "review"), "approve");
	assert_string_equal(t->require[0], "opinion");
	assert_null(t->require[1]);
	t = procdef_transition(p, procdef_state(p, "hearing"), "back");
	assert_string_equal(t->require[0], "result");
	/* no require= is an empty list, never NULL */
	t = procdef_transition(p, p->initial, "submit");
	assert_non_null(t->require);
	assert_null(t->require[0]);
	procdef_free(p);

	p = parse_ok(HEAD SA SB SZ
	    "transition go a -> b roles=staff require=reason,doc_no2,opinion title=走\n" TEND);
	assert_string_equal(p->tr[0].require[0], "reason");
	assert_string_equal(p->tr[0].require[1], "doc_no2");
	assert_string_equal(p->tr[0].require[2], "opinion");
	assert_null(p->tr[0].require[3]);
	procdef_free(p);
}

/* ---- format details --------------------------------------------------- */

static void test_syntax(void **state)
{
	(void)state;
	/* comments, blanks, tabs, CRLF, a byte order mark, quoted titles with
	 * blanks, '#' and escapes, states named before they are declared */
	struct procdef *p = parse_ok(
	    "\xef\xbb\xbf# a comment\r\n"
	    "\r\n"
	    "process \"测试 流程 #1\"   # trailing comment\r\n"
	    "transition go a -> b roles=staff public title=\"走 \\\"一\\\" \\\\ 步\"\n"
	    "transition end b -> z roles=staff title=完#comment\n"
	    "\tstate a initial title=甲\n"
	    "state b title=\"乙=丙\"\n"
	    "state z final clock=stop title=终");   /* no newline at the end */
	assert_string_equal(p->title, "测试 流程 #1");
	assert_string_equal(p->tr[0].title, "走 \"一\" \\ 步");
	assert_true(p->tr[0].public);
	assert_false(p->tr[1].public);
	assert_string_equal(p->tr[1].title, "完");
	assert_string_equal(p->states[1].title, "乙=丙");
	assert_int_equal(p->tr[0].line, 4);
	assert_int_equal(p->states[0].line, 6);
	assert_int_equal(p->states[2].line, 8);
	assert_int_equal(p->initial, 0);
	procdef_free(p);
}

static void test_defaults(void **state)
{
	(void)state;
	/* no limits line: 20/20/0.75; clocks: initial waits, special pauses,
	 * others run, finals stop */
	struct procdef *p = parse_ok(HEAD SA SB SZ TGO TEND
	    "state sp special title=勘验\n"
	    "transition to_sp b -> sp roles=staff title=转\n"
	    "transition back sp -> b roles=staff title=回\n");
	assert_int_equal(p->statutory_days, 20);
	assert_int_equal(p->promised_days, 20);
	assert_true(p->warn == 0.75);
	assert_int_equal(p->states[0].clock, PD_CLOCK_WAIT);
	assert_int_equal(p->states[1].clock, PD_CLOCK_RUN);
	assert_int_equal(p->states[2].clock, PD_CLOCK_STOP);
	assert_int_equal(p->states[3].clock, PD_CLOCK_PAUSE);
	assert_int_equal(p->states[3].flags, PD_STATE_SPECIAL);
	assert_string_equal(p->name, "t");
	procdef_free(p);

	/* promised defaults to statutory; an explicit clock on a special step */
	p = parse_ok("limits statutory=15\n" HEAD SA SB SZ TGO TEND
	    "state sp special clock=run title=勘验\n"
	    "transition to_sp b -> sp roles=staff title=转\n"
	    "transition back sp -> b roles=staff title=回\n");
	assert_int_equal(p->statutory_days, 15);
	assert_int_equal(p->promised_days, 15);
	assert_int_equal(p->states[3].clock, PD_CLOCK_RUN);
	procdef_free(p);

	p = parse_ok("limits warn=0.5 promised=3 statutory=3650\n" HEAD SA SB SZ TGO TEND);
	assert_int_equal(p->statutory_days, 3650);
	assert_int_equal(p->promised_days, 3);
	assert_true(p->warn == 0.5);
	procdef_free(p);
}

/* ---- every validation error, with its line ---------------------------- */

static void test_errors_directives(void **state)
{
	(void)state;
	check_err(HEAD SA "stat b title=乙\n", 3, "unknown directive 'stat'");
	check_err(HEAD SA "title=x\n", 3, "unknown directive 'title=x'");
	check_err(HEAD HEAD SA SB SZ TGO TEND, 2, "second 'process' directive (the first is on line 1)");
	check_err("process\n", 1, "usage: process");
	check_err("process 甲 乙\n", 1, "usage: process");
	check_err("process a=b\n", 1, "usage: process");
	check_err("process \"\"\n", 1, "empty title");
	check_err(SA SB SZ TGO TEND, 1, "no 'process' directive");
	check_err("", 1, "no 'process' directive");
	check_err(HEAD, 1, "no states");
	check_err(HEAD "state b title=乙\n" SZ "transition end b -> z roles=staff title=完\n", 1,
	    "no initial state");
	check_err(HEAD SA SB "transition go a -> b roles=staff title=走\n", 1, "no final state");
}

static void test_errors_words(void **state)
{
	(void)state;
	check_err(HEAD SA SB SZ TGO "transition end b -> z roles=staff title=\"完\n", 6,
	    "unterminated quoted string");
	check_err(HEAD SA SB SZ TGO "transition end b -> z roles=staff title=\"\\n\"\n", 6,
	    "unknown escape");
	check_err(HEAD SA "state b =乙\n", 3, "'=' without a key");
	check_err(HEAD SA "state b title=乙\r\r\n", 3, "control character 0x0d");
	check_err_at(HEAD SA "state b title=乙\0\n", sizeof(HEAD SA "state b title=乙\0\n") - 1, 3,
	    "control character 0x00");
	check_err(HEAD SA "state b title=\xe4\xb9\n", 3, "invalid UTF-8");
	check_err(HEAD SA "state b title=\xc0\xaf\n", 3, "invalid UTF-8");            /* overlong */
	check_err(HEAD SA "state b title=\xed\xa0\x80\n", 3, "invalid UTF-8");        /* surrogate */
	check_err(HEAD SA "state b title=\xf4\x90\x80\x80\n", 3, "invalid UTF-8");    /* > U+10FFFF */

	/* line length: 1024 bytes is fine, 1025 is not (CR LF not counted) */
	struct buf b = BUF_INIT(1 << 16);
	buf_addstr(&b, HEAD SA SB SZ TGO TEND "#");
	for (int i = 0; i < 1023; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\r\n");
	struct procdef *p = parse_ok(b.data);
	procdef_free(p);
	buf_reset(&b);
	buf_addstr(&b, HEAD SA SB SZ TGO TEND "#");
	for (int i = 0; i < 1024; i++)
		buf_addch(&b, 'x');
	buf_addstr(&b, "\n");
	check_err(b.data, 7, "line longer than 1024 bytes");

	/* too many words on a line */
	buf_reset(&b);
	buf_addstr(&b, HEAD SA SB SZ TGO "transition end b -> z roles=staff title=完");
	for (int i = 0; i < 60; i++)
		buf_addstr(&b, " public");
	buf_addstr(&b, "\n");
	check_err(b.data, 6, "more than 64 words");
	buf_release(&b);
}

static void test_errors_states(void **state)
{
	(void)state;
	check_err(HEAD SA SB "state b title=乙2\n" SZ TGO TEND, 4, "duplicate state 'b' (first on line 3)");
	check_err(HEAD SA "state B title=乙\n", 3, "bad state name 'B'");
	check_err(HEAD SA "state b1 title=乙\n", 3, "bad state name 'b1'");
	check_err(HEAD SA "state _b title=乙\n", 3, "bad state name '_b'");
	check_err(HEAD SA "state title=乙\n", 3, "usage: state");
	check_err(HEAD SA "state b\n", 3, "state 'b' has no title=");
	check_err(HEAD SA "state b title=乙 title=丙\n", 3, "title= given twice");
	check_err(HEAD SA "state b colour=red title=乙\n", 3, "unknown key 'colour' in state");
	check_err(HEAD SA "state b initiall title=乙\n", 3, "unknown word 'initiall' in state");
	check_err(HEAD SA "state b final final title=乙\n", 3, "'final' given twice");
	check_err(HEAD SA "state b clock=fast title=乙\n", 3, "clock=fast: want wait, run, pause or stop");
	check_err(HEAD SA "state b clock=run clock=run title=乙\n", 3, "clock= given twice");
	check_err(HEAD SA "state b clock=stop title=乙\n", 3, "clock=stop on state 'b', which is not final");
	check_err(HEAD SA "state b final clock=run title=乙\n", 3, "final state 'b' has clock=run");
	check_err(HEAD SA "state b initial title=乙\n", 3,
	    "second initial state 'b' (the first is 'a' on line 2)");
	check_err(HEAD "state a initial final title=甲\n", 2, "both initial and final");
	check_err(HEAD "state a initial special title=甲\n", 2, "cannot be initial or final");
	check_err(HEAD SA "state b final special title=乙\n", 3, "cannot be initial or final");
}

static void test_errors_transitions(void **state)
{
	(void)state;
	/* unknown states, reported at the transition's line */
	check_err(HEAD SA SB SZ "transition go a -> c roles=staff title=走\n" TEND, 5,
	    "transition 'go' to unknown state 'c'");
	check_err(HEAD SA SB SZ TGO "transition end x -> z roles=staff title=完\n", 6,
	    "transition 'end' from unknown state 'x'");
	check_err(HEAD SA SB SZ TGO "transition end b,x -> z roles=staff title=完\n", 6,
	    "from unknown state 'x'");
	/* roles */
	check_err(HEAD SA SB SZ "transition go a -> b title=走\n" TEND, 5,
	    "transition 'go' has no roles=");
	check_err(HEAD SA SB SZ "transition go a -> b roles=clerk title=走\n" TEND, 5,
	    "unknown role 'clerk'");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff| title=走\n" TEND, 5,
	    "empty role");
	check_err(HEAD SA SB SZ "transition go a -> b roles= title=走\n" TEND, 5, "empty roles=");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff|staff title=走\n" TEND, 5,
	    "role 'staff' given twice");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff roles=staff title=走\n" TEND, 5,
	    "roles= given twice");
	/* shape */
	check_err(HEAD SA SB SZ "transition go a b roles=staff title=走\n" TEND, 5,
	    "usage: transition");
	check_err(HEAD SA SB SZ "transition go a->b roles=staff title=走\n" TEND, 5,
	    "usage: transition");
	check_err(HEAD SA SB SZ "transition Go a -> b roles=staff title=走\n" TEND, 5,
	    "bad action name 'Go'");
	check_err(HEAD SA SB SZ "transition go a, -> b roles=staff title=走\n" TEND, 5,
	    "bad state name '' before '->'");
	check_err(HEAD SA SB SZ "transition go a -> B roles=staff title=走\n" TEND, 5,
	    "bad state name 'B' after '->'");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff\n" TEND, 5,
	    "transition 'go' has no title=");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff public public title=走\n" TEND, 5,
	    "'public' given twice");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff internal title=走\n" TEND, 5,
	    "unknown word 'internal' in transition");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff when=now title=走\n" TEND, 5,
	    "unknown key 'when' in transition");
	/* require lists */
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff require= title=走\n" TEND, 5,
	    "empty require=");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff require=a,,b title=走\n" TEND, 5,
	    "bad field name '' in require=");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff require=Reason title=走\n" TEND, 5,
	    "bad field name 'Reason'");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff require=a,b,a title=走\n" TEND, 5,
	    "field 'a' required twice");
	check_err(HEAD SA SB SZ "transition go a -> b roles=staff require=a require=b title=走\n"
	    TEND, 5, "require= given twice");
	/* duplicate action from one state, also within a from-list */
	check_err(HEAD SA SB SZ TGO TEND "transition go a -> z roles=staff title=走2\n", 7,
	    "action 'go' from state 'a' is already defined on line 5");
	check_err(HEAD SA SB SZ TGO "transition end b,b -> z roles=staff title=完\n", 6,
	    "action 'end' from state 'b' is already defined on line 6");
	/* the same action from different states is fine */
	procdef_free(parse_ok(HEAD SA SB SZ TGO TEND "transition end a -> z roles=staff title=完\n"));
	/* a final state with a way out, at the transition's line */
	check_err(HEAD SA SB SZ TGO TEND "transition reopen z -> b roles=staff title=重开\n", 7,
	    "transition 'reopen' leaves final state 'z'");
}

static void test_errors_graph(void **state)
{
	(void)state;
	/* unreachable: the state's line */
	check_err(HEAD SA SB "state lost title=失\n" SZ TGO TEND
	    "transition fin lost -> z roles=staff title=完\n", 4,
	    "state 'lost' cannot be reached from the initial state 'a'");
	check_err(HEAD SA SB SZ "state never final title=从未\n" TGO TEND, 5,
	    "state 'never' cannot be reached");
	/* dead end */
	check_err(HEAD SA SB "state c title=丙\n" SZ TGO TEND
	    "transition go_c a -> c roles=staff title=走\n", 4,
	    "state 'c' is a dead end");
	/* a self-loop is no way out */
	check_err(HEAD SA SB "state c title=丙\n" SZ TGO TEND
	    "transition go_c a -> c roles=staff title=走\n"
	    "transition note c -> c roles=staff title=备注\n", 4, "state 'c' is a dead end");
	/* a cycle with no way to a final state */
	check_err(HEAD SA SB "state c title=丙\n" "state d title=丁\n" SZ TGO TEND
	    "transition go_c a -> c roles=staff title=走\n"
	    "transition go_d c -> d roles=staff title=走\n"
	    "transition go_e d -> c roles=staff title=走\n", 4,
	    "no final state can be reached from state 'c'");
	/* special steps need a way back to an ordinary state */
	check_err(HEAD SA SB SZ TGO TEND "state sp special title=勘验\n"
	    "transition to_sp b -> sp roles=staff title=转\n"
	    "transition stop sp -> z roles=staff title=终止\n", 7,
	    "special state 'sp' has no transition back to an ordinary state");
	check_err(HEAD SA SB SZ TGO TEND "state sp special title=勘验\n"
	    "transition to_sp b -> sp roles=staff title=转\n", 7,
	    "special state 'sp' has no transition back");
	/* the earliest line wins: dead end at 4 before unreachable at 5 */
	check_err(HEAD SA SB "state c title=丙\n" "state lost title=失\n" SZ TGO TEND
	    "transition go_c a -> c roles=staff title=走\n"
	    "transition fin lost -> z roles=staff title=完\n", 4, "dead end");
}

static void test_errors_limits(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "limits statutory=0\n", "statutory=0: want whole working days" },
		{ "limits statutory=-5\n", "statutory=-5" },
		{ "limits statutory=2.5\n", "statutory=2.5" },
		{ "limits statutory=\n", "statutory=: want" },
		{ "limits statutory=3651\n", "from 1 to 3650" },
		{ "limits statutory=99999999999\n", "statutory=99999999999" },
		{ "limits promised=x\n", "promised=x" },
		{ "limits statutory=10 promised=11\n", "promised=11 is longer than statutory=10" },
		{ "limits promised=21\n", "promised=21 is longer than statutory=20" },
		{ "limits warn=0\n", "warn=0: want a share between 0 and 1" },
		{ "limits warn=1\n", "warn=1:" },
		{ "limits warn=1.0\n", "warn=1.0:" },
		{ "limits warn=.5\n", "warn=.5:" },
		{ "limits warn=0.\n", "warn=0.:" },
		{ "limits warn=0,5\n", "warn=0,5:" },
		{ "limits warn=1e-1\n", "warn=1e-1:" },
		{ "limits warn=-0.5\n", "warn=-0.5:" },
		{ "limits statutory=5 statutory=6\n", "statutory= given twice" },
		{ "limits days=5\n", "unknown key 'days' in limits" },
		{ "limits 5\n", "unknown word '5' in limits" },
		{ "limits\n", "usage: limits" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xasprintf(HEAD SA "%s" SB SZ TGO TEND, cases[i].line);
		check_err(text, 3, cases[i].want);
		free(text);
	}
	check_err(HEAD "limits statutory=5\n" SA "limits promised=3\n", 4,
	    "second 'limits' directive (the first is on line 2)");
}

static void test_errors_escalations(void **state)
{
	(void)state;
	static const struct {
		const char *line, *want;
	} cases[] = {
		{ "escalate remind at=0 of=promised to=staff title=催办\n", "at=0: want a share" },
		{ "escalate remind at=-1 of=promised to=staff title=催办\n", "at=-1:" },
		{ "escalate remind at=0.0 of=promised to=staff title=催办\n", "at=0.0:" },
		{ "escalate remind at=10.5 of=promised to=staff title=催办\n", "at=10.5:" },
		{ "escalate remind at=x of=promised to=staff title=催办\n", "at=x:" },
		{ "escalate remind at=0.75 of=legal to=staff title=催办\n",
		  "of=legal: want statutory or promised" },
		{ "escalate remind at=0.75 of=promised to=boss title=催办\n", "unknown role 'boss'" },
		{ "escalate remind of=promised to=staff title=催办\n", "needs at=, of=, to= and title=" },
		{ "escalate remind at=0.75 to=staff title=催办\n", "needs at=" },
		{ "escalate remind at=0.75 of=promised title=催办\n", "needs at=" },
		{ "escalate remind at=0.75 of=promised to=staff\n", "needs at=" },
		{ "escalate remind at=0.75 at=0.8 of=promised to=staff title=催办\n",
		  "at= given twice" },
		{ "escalate remind at=0.75 of=promised to=staff title=催办 loud\n",
		  "unknown word 'loud' in escalate" },
		{ "escalate remind at=0.75 of=promised to=staff via=sms title=催办\n",
		  "unknown key 'via' in escalate" },
		{ "escalate Remind at=0.75 of=promised to=staff title=催办\n", "bad escalation name" },
		{ "escalate\n", "usage: escalate" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xasprintf(HEAD SA SB SZ TGO TEND "%s", cases[i].line);
		check_err(text, 7, cases[i].want);
		free(text);
	}
	check_err(HEAD SA SB SZ TGO TEND
	    "escalate remind at=0.75 of=promised to=staff title=催办\n"
	    "escalate remind at=0.9 of=promised to=staff title=催办\n", 8,
	    "duplicate escalation 'remind' (first on line 7)");
}

static void test_errors_sizes(void **state)
{
	(void)state;
	struct buf b = BUF_INIT(1 << 22);
	/* 256 states load, the 257th fails on its own line */
	buf_addstr(&b, HEAD SA SZ);
	char name[16];
	for (int i = 0; i < 254; i++) {
		int k = i;
		for (int j = 0; j < 4; j++, k /= 26)
			name[j] = (char)('a' + k % 26);
		name[4] = '\0';
		buf_addf(&b, "state s%s title=中\ntransition t%s a -> s%s roles=staff title=去\n"
		    "transition done s%s -> z roles=staff title=完\n", name, name, name, name);
	}
	buf_addstr(&b, "transition end a -> z roles=staff title=完\n");
	struct procdef *p = parse_ok(b.data);
	assert_int_equal(p->nstates, 256);
	assert_int_equal(p->ntr, 254 * 2 + 1);
	procdef_free(p);
	buf_addstr(&b, "state extra title=多\n");
	int lines = 3 + 254 * 3 + 1 + 1;
	check_err(b.data, lines, "more than 256 states");

	/* 1024 transitions (counted after from-lists are expanded) */
	buf_reset(&b);
	buf_addstr(&b, HEAD SA SB SZ TGO TEND);
	for (int i = 0; i < 1022; i++) {
		int k = i;
		for (int j = 0; j < 4; j++, k /= 26)
			name[j] = (char)('a' + k % 26);
		name[4] = '\0';
		buf_addf(&b, "transition x%s a -> b roles=staff title=多\n", name);
	}
	p = parse_ok(b.data);
	assert_int_equal(p->ntr, 1024);
	procdef_free(p);
	buf_addstr(&b, "transition one_more a,b -> z roles=staff title=多\n");
	check_err(b.data, 6 + 1022 + 1, "more than 1024 transitions");
	buf_release(&b);
}

/* ---- names and the registry ------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	static const struct {
		const char *file, *name;
	} cases[] = {
		{ "processes/hall/standard.proc", "hall.standard" },
		{ "hall/simple.proc", "hall.simple" },
		{ "x.proc", "x" },
		{ "/abs/dir/y.proc", "dir.y" },
		{ "petition/letters", "petition.letters" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *text = HEAD SA SB SZ TGO TEND;
		struct procdef *p = NULL;
		char *err = NULL;
		assert_int_equal(procdef_parse(cases[i].file, text, strlen(text), &p, &err), 0);
		assert_string_equal(p->name, cases[i].name);
		assert_string_equal(p->file, cases[i].file);
		procdef_free(p);
	}
	/* errors name the file as given */
	struct procdef *p = NULL;
	char *err = NULL;
	assert_int_equal(procdef_parse("processes/x/y.proc", "bogus\n", 6, &p, &err), -1);
	assert_string_equal(err, "processes/x/y.proc:1: unknown directive 'bogus' (process, "
	    "limits, state, transition, escalate)");
	free(err);
	/* a NULL err is allowed */
	assert_int_equal(procdef_parse("t.proc", "bogus\n", 6, &p, NULL), -1);
	assert_null(p);
}

#define GOOD HEAD SA SB SZ TGO TEND

static void test_registry(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(procdef_get("hall.standard"));
	assert_int_equal(procdef_load_all(embed_processes, &err), 0);
	assert_null(err);
	const struct procdef *std = procdef_get("hall.standard");
	assert_non_null(std);
	assert_string_equal(std->file, "processes/hall/standard.proc");
	assert_int_equal(std->nstates, 12);
	const struct procdef *simple = procdef_get("hall.simple");
	assert_non_null(simple);
	assert_int_equal(simple->nstates, 3);
	assert_null(procdef_get("hall"));
	assert_null(procdef_get("standard"));
	assert_null(procdef_get(NULL));
	/* every embedded .proc file is there */
	int n = 0;
	for (const struct embed_file *f = embed_processes; f->name != NULL; f++) {
		char *name = xstrdup(f->name);
		char *slash = strchr(name, '/'), *dot = strrchr(name, '.');
		assert_non_null(slash);
		assert_non_null(dot);
		*slash = '.';
		*dot = '\0';
		if (procdef_get(name) == NULL)
			fail_msg("%s not loaded as %s", f->name, name);
		free(name);
		n++;
	}
	assert_true(n >= 2);

	/* a bad file fails the whole load with file:line, and the loaded set stays */
	static const char bad[] = HEAD SA SB SZ TGO TEND "transition x a -> q roles=staff title=坏\n";
	static const char good[] = GOOD;
	const struct embed_file set1[] = {
		{ "test/good.proc", (const unsigned char *)good, sizeof good - 1 },
		{ "test/bad.proc", (const unsigned char *)bad, sizeof bad - 1 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set1, &err), -1);
	assert_non_null(err);
	assert_string_equal(err, "processes/test/bad.proc:7: transition 'x' to unknown state 'q'");
	free(err);
	assert_ptr_equal(procdef_get("hall.standard"), std);
	assert_null(procdef_get("test.good"));

	/* bad registry names and duplicates */
	const struct embed_file set2[] = {
		{ "Test/good.proc", (const unsigned char *)good, sizeof good - 1 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set2, &err), -1);
	assert_non_null(strstr(err, "processes/Test/good.proc: process files are"));
	free(err);
	const struct embed_file set3[] = {
		{ "good.proc", (const unsigned char *)good, sizeof good - 1 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set3, &err), -1);
	free(err);
	const struct embed_file set4[] = {
		{ "x/a/b.proc", (const unsigned char *)good, sizeof good - 1 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set4, &err), -1);
	assert_non_null(strstr(err, "processes/x/a/b.proc: process files are"));
	free(err);
	const struct embed_file set5[] = {
		{ "a/b.proc", (const unsigned char *)good, sizeof good - 1 },
		{ "a/b.proc", (const unsigned char *)good, sizeof good - 1 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set5, &err), -1);
	assert_string_equal(err, "processes/a/b.proc: process a.b is also defined in "
	    "processes/a/b.proc");
	free(err);
	assert_ptr_equal(procdef_get("hall.standard"), std);

	/* a successful load replaces the set; files not ending in .proc are skipped */
	const struct embed_file set6[] = {
		{ "test/good.proc", (const unsigned char *)good, sizeof good - 1 },
		{ "test/README.md", (const unsigned char *)"bogus", 5 },
		{ NULL, NULL, 0 },
	};
	assert_int_equal(procdef_load_all(set6, &err), 0);
	assert_null(err);
	assert_non_null(procdef_get("test.good"));
	assert_null(procdef_get("test.README"));
	assert_null(procdef_get("hall.standard"));

	procdef_unload_all();
	assert_null(procdef_get("test.good"));
	procdef_unload_all();   /* twice is harmless */
	assert_int_equal(procdef_load_all(NULL, &err), 0);   /* nothing to load */
	assert_null(procdef_get("hall.standard"));
	procdef_unload_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_transition_lookup),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_require),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors_directives),
		cmocka_unit_test(test_errors_words),
		cmocka_unit_test(test_errors_states),
		cmocka_unit_test(test_errors_transitions),
		cmocka_unit_test(test_errors_graph),
		cmocka_unit_test(test_errors_limits),
		cmocka_unit_test(test_errors_escalations),
		cmocka_unit_test(test_errors_sizes),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_registry),
	};
	return cmocka_run_group_tests_name("procdef", tests, NULL, NULL);
}
