#include "core/msg.h"

#include <stddef.h>
#include <strings.h>

static const char *const zh[MSG__MAX] = {
#define MSG(id, text) [MSG_##id] = text,
#include "core/msg.def"
#undef MSG
};

static const char *const names[MSG__MAX] = {
#define MSG(id, text) [MSG_##id] = #id,
#include "core/msg.def"
#undef MSG
};

const char *msg(enum msg_id id)
{
	if ((int)id < 0 || id >= MSG__MAX)
		return "";
	return zh[id];
}

const char *msg_name(enum msg_id id)
{
	if ((int)id < 0 || id >= MSG__MAX)
		return "";
	return names[id];
}

int msg_lookup(const char *name, size_t len)
{
	for (int i = 0; i < MSG__MAX; i++)
		if (strncasecmp(names[i], name, len) == 0 && names[i][len] == '\0')
			return i;
	return -1;
}
