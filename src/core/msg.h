/*
 * msg: the one message catalogue for every string a person reads.
 *
 * src/core/msg.def lists each message once: MSG(ID, "中文").  Handlers use
 * msg(MSG_ID); templates use {{@ID}} (ID in lower case is also accepted).
 * An English catalogue can be added as a second column without touching
 * handlers or templates.
 */
#ifndef YZ_MSG_H
#define YZ_MSG_H

#include <stddef.h>

enum msg_id {
#define MSG(id, zh) MSG_##id,
#include "core/msg.def"
#undef MSG
	MSG__MAX
};

const char *msg(enum msg_id id);
/* The identifier text of id, e.g. "FIELD_REQUIRED" (for machine-readable API codes). */
const char *msg_name(enum msg_id id);
/* Looks a message up by name (case-insensitive); returns -1 when unknown. */
int msg_lookup(const char *name, size_t len);

#endif
