/*
 * hall: the online service hall (网上办事大厅) — the service-item catalogue,
 * applications as cases of the case engine, the departments' inboxes,
 * electronic supervision, appointments and queues, ratings.
 */
#ifndef YZ_HALL_H
#define YZ_HALL_H

#include <stdio.h>

#include "core/crypto.h"
#include "core/http.h"
#include "core/store.h"

extern const struct route hall_routes[];
extern const struct route hall_api_routes[];

/* Registers the hall's jobs and desk providers (before the server starts). */
void hall_register(void);
/* Seeds the demo items (and later demo applications) in the caller's transaction. */
int hall_demo_seed(struct store *st);

#endif
