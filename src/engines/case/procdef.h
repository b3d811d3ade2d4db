/*
 * procdef: process definitions of the case engine, in a declarative text
 * file format (docs/process-format.md), loaded and validated at start.
 *
 * Files live in processes/<app>/<name>.proc and are embedded into the
 * binary (embed_processes).  A definition names its states, the transitions
 * between them (action, from, to, roles allowed, fields required, whether
 * the event is public), the default time limits in working days and the
 * escalation rules.  Problems are start-up errors naming file and line:
 * unknown states, states no transition reaches, transitions without roles,
 * duplicate names, no initial state, a final state with a way out, ...
 */
#ifndef YZ_PROCDEF_H
#define YZ_PROCDEF_H

#include <stddef.h>

#include "core/embed.h"

/* Who may take a transition. */
#define PD_ROLE_APPLICANT   0x01u  /* the citizen or enterprise who applied */
#define PD_ROLE_STAFF       0x02u  /* staff of the case's department */
#define PD_ROLE_DEPT_ADMIN  0x04u  /* an administrator of the case's department */
#define PD_ROLE_SUPERVISOR  0x08u  /* the e-government office (电子政务监察) */
#define PD_ROLE_SYSTEM      0x10u  /* the engine itself (deadlines, sweeps) */

/* What a state does to the clocks. */
enum pd_clock {
	PD_CLOCK_WAIT,    /* not started yet (draft, submitted before acceptance if so defined) */
	PD_CLOCK_RUN,     /* counting working days */
	PD_CLOCK_PAUSE,   /* stopped for a while (补正; special steps that do not count) */
	PD_CLOCK_STOP,    /* finished */
};

#define PD_STATE_INITIAL 0x1u
#define PD_STATE_FINAL   0x2u
#define PD_STATE_SPECIAL 0x4u  /* a special step (特殊环节): pauses or runs as the item says */

struct pd_state {
	char *name;           /* [a-z_]+ */
	char *title;          /* Chinese, shown to people */
	unsigned flags;
	enum pd_clock clock;
	int line;
};

struct pd_transition {
	char *action;         /* [a-z_]+, unique per from-state */
	int from, to;         /* indexes into states */
	unsigned roles;       /* PD_ROLE_* */
	char **require;       /* NULL-terminated names of fields the actor must give */
	int public;           /* the timeline event is shown to the applicant */
	char *title;          /* Chinese: the button and the timeline entry */
	int line;
};

enum pd_limit { PD_LIMIT_STATUTORY, PD_LIMIT_PROMISED };

struct pd_escalation {
	char *name;           /* "remind" (催办), "supervise" (督办), ... */
	char *title;          /* Chinese */
	double at;            /* share of the limit used: 0.75, 1.0, 1.2 ... */
	enum pd_limit limit;
	unsigned to;          /* PD_ROLE_STAFF (the assignee), PD_ROLE_SUPERVISOR, ... */
	int line;
};

struct procdef {
	char *name;           /* "<app>.<name>", from the file path */
	char *title;
	char *file;
	int statutory_days;   /* defaults; a case may carry its own */
	int promised_days;
	double warn;          /* yellow at this share of a limit (0 < warn < 1) */
	struct pd_state *states;
	int nstates;
	struct pd_transition *tr;
	int ntr;
	struct pd_escalation *esc;
	int nesc;
	int initial;          /* index of the initial state */
};

/* Parses and validates one file. On error returns -1 and *err = "file:line: problem" (malloc'd). */
int procdef_parse(const char *file, const char *text, size_t len, struct procdef **out, char **err);
void procdef_free(struct procdef *p);

int procdef_state(const struct procdef *p, const char *name);   /* index or -1 */
/* The transition named action out of state from, or NULL. */
const struct pd_transition *procdef_transition(const struct procdef *p, int from, const char *action);

/* The process registry: every embedded *.proc file, loaded once at start. */
int procdef_load_all(const struct embed_file *files, char **err);
const struct procdef *procdef_get(const char *name);
void procdef_unload_all(void);

#endif
