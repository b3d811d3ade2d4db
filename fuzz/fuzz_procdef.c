/*
 * libFuzzer target for engines/case/procdef.
 *
 * Input: the text of a process file.  A parse either succeeds with a
 * definition whose every index is in range and whose every promise in
 * docs/process-format.md holds (one initial state, no way out of a final
 * state, require lists never NULL, lookups find each transition), or fails
 * with a message "fuzz.proc:LINE: ..." and no definition.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engines/case/procdef.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct procdef *p)
{
	int ninitial = 0;
	if (p->nstates < 1 || p->nstates > 256 || p->ntr < 0 || p->ntr > 1024)
		abort();
	if (p->initial < 0 || p->initial >= p->nstates || p->name == NULL || p->title == NULL)
		abort();
	if (p->statutory_days < 1 || p->promised_days < 1 || p->promised_days > p->statutory_days)
		abort();
	if (!(p->warn > 0.0 && p->warn < 1.0))
		abort();
	for (int i = 0; i < p->nstates; i++) {
		const struct pd_state *s = &p->states[i];
		if (s->flags & PD_STATE_INITIAL)
			ninitial++;
		if ((s->flags & PD_STATE_FINAL) && s->clock != PD_CLOCK_STOP)
			abort();
		if (!(s->flags & PD_STATE_FINAL) && s->clock == PD_CLOCK_STOP)
			abort();
		if (procdef_state(p, s->name) != i || s->title[0] == '\0')
			abort();
	}
	if (ninitial != 1 || !(p->states[p->initial].flags & PD_STATE_INITIAL))
		abort();
	for (int i = 0; i < p->ntr; i++) {
		const struct pd_transition *t = &p->tr[i];
		if (t->from < 0 || t->from >= p->nstates || t->to < 0 || t->to >= p->nstates)
			abort();
		if (t->roles == 0 || t->require == NULL || t->title[0] == '\0')
			abort();
		if (p->states[t->from].flags & PD_STATE_FINAL)
			abort();
		if (procdef_transition(p, t->from, t->action) != t)
			abort();
		for (char **r = t->require; *r != NULL; r++)
			if (**r == '\0')
				abort();
	}
	for (int i = 0; i < p->nesc; i++)
		if (!(p->esc[i].at > 0.0) || p->esc[i].to == 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procdef *p = NULL;
	char *err = NULL;
	if (procdef_parse("fuzz.proc", (const char *)data, size, &p, &err) == 0) {
		if (p == NULL || err != NULL)
			abort();
		check(p);
		procdef_free(p);
	} else {
		if (p != NULL || err == NULL || strncmp(err, "fuzz.proc:", 10) != 0)
			abort();
		char *end = NULL;
		long line = strtol(err + 10, &end, 10);
		if (line < 1 || end == NULL || *end != ':')
			abort();
		free(err);
	}
	return 0;
}
