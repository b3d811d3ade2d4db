/*
 * desk: what is waiting for the signed-in person, collected from every
 * application.  Each application registers providers at start-up; a
 * provider appends items to the list for the request's user (or none).
 *
 * An item: {"kind","title","href","status","count"?,"level"?} where level is
 * "info", "warn" or "alert" (the desk shows it as a coloured badge).
 */
#ifndef YZ_DESK_H
#define YZ_DESK_H

#include <jansson.h>

#include "core/http.h"

/* Appends items for r's user; 0, or -1 on a store failure. */
typedef int (*desk_fn)(struct req *r, json_t *items);

/* Registers a provider before the server starts (at most 32). */
void desk_register(desk_fn fn);
/* Every provider's items for r, in registration order; NULL on a failure. */
json_t *desk_collect(struct req *r);

#endif
