/*
 * portal: the public home page, sign-in and registration, the desks of
 * citizens, enterprises and staff, the administration of departments and
 * accounts, jobs pages, and their JSON API under /api/v1/.
 */
#ifndef YZ_PORTAL_H
#define YZ_PORTAL_H

#include <stdio.h>

#include "core/crypto.h"
#include "core/http.h"
#include "core/store.h"

extern const struct route portal_routes[];
extern const struct route portal_api_routes[];

/* Registers the portal's job kinds (department import). */
void portal_register_jobs(void);
/* Registers the portal's desk providers (jobs, password, administrators' items). */
void portal_register_desk(void);

/*
 * Seeds the demo city when the store has no accounts yet: departments named
 * as in the sample bulletins, staff, department admins, a platform admin,
 * citizens and an enterprise, with random passwords written to
 * DATA/demo-credentials.txt (mode 0600).  Returns 0 (also when already seeded).
 */
int portal_demo_seed(struct store *st, const struct keys *k, const char *data_dir);
/* Prints the demo credentials file, if any, to out. */
void portal_demo_banner(const char *data_dir, const char *url, FILE *out);

/* Registers the desk provider of the inbox (unread messages; messages.c). */
void portal_register_messages(void);

#endif
