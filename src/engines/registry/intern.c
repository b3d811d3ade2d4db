/*
 * intern: one stable copy of each distinct generated SQL text (see
 * registry_int.h).  A small open-addressing hash set under a mutex; the
 * texts live until exit, as the store's statement caches point at them.
 */
#include "engines/registry/registry_int.h"

#include "core/xalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char **slots;
static size_t nslots, nused;

static uint64_t hash_text(const char *s)
{
	uint64_t h = 1469598103934665603ull;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void grow(void)
{
	size_t n = nslots ? nslots * 2 : 256;
	char **fresh = xcalloc(n, sizeof *fresh);
	for (size_t i = 0; i < nslots; i++) {
		if (slots[i] == NULL)
			continue;
		size_t j = hash_text(slots[i]) & (n - 1);
		while (fresh[j] != NULL)
			j = (j + 1) & (n - 1);
		fresh[j] = slots[i];
	}
	free(slots);
	slots = fresh;
	nslots = n;
}

const char *reg_sql_intern(const char *sql)
{
	pthread_mutex_lock(&mu);
	if ((nused + 1) * 2 > nslots)
		grow();
	size_t j = hash_text(sql) & (nslots - 1);
	while (slots[j] != NULL && strcmp(slots[j], sql) != 0)
		j = (j + 1) & (nslots - 1);
	if (slots[j] == NULL) {
		slots[j] = xstrdup(sql);
		nused++;
	}
	const char *out = slots[j];
	pthread_mutex_unlock(&mu);
	return out;
}
