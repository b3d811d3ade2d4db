/*
 * embed: files compiled into the binary (migrations, templates, web assets).
 * The tables are generated at build time by tools/embed.c from the folders
 * migrations/, templates/, web/, processes/, calendar/ and registries/; names are paths relative to that folder.
 * Each table ends with an entry whose name is NULL.  All data is static.
 */
#ifndef YZ_EMBED_H
#define YZ_EMBED_H

#include <stddef.h>

struct embed_file {
	const char *name;
	const unsigned char *data;   /* NUL-terminated for convenience */
	size_t len;
};

extern const struct embed_file embed_migrations[];
extern const struct embed_file embed_templates[];
extern const struct embed_file embed_web[];
extern const struct embed_file embed_processes[];
extern const struct embed_file embed_calendars[];   /* calendar/YYYY.txt: yearly working-day files */
extern const struct embed_file embed_registries[];  /* registries/NAME.reg: registry definitions the demo applies */

#endif
