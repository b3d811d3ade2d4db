#include "core/desk.h"
#include "core/log.h"

#include <stdlib.h>

#define DESK_MAX 32

static desk_fn providers[DESK_MAX];
static int nproviders;

void desk_register(desk_fn fn)
{
	if (nproviders == DESK_MAX) {
		log_error("desk: more than %d providers", DESK_MAX);
		abort();
	}
	providers[nproviders++] = fn;
}

json_t *desk_collect(struct req *r)
{
	json_t *items = json_array();
	for (int i = 0; i < nproviders; i++) {
		if (providers[i](r, items) != 0) {
			json_decref(items);
			return NULL;
		}
	}
	return items;
}
