/*
 * files: the content-addressed file store (DESIGN §4).
 *
 * A file's bytes live once in the data folder, under the SHA-256 of their
 * content: DATA/files/ab/cd/abcd…(64 hex).  Each time a file is stored a
 * metadata row is added to the table `files` (id, sha256, mime, size, name,
 * owner_id, created_at), so many rows (materials of different cases, the
 * same scan sent twice) may share one file on disk.  Handlers refer to a
 * file by its row id, never by a path from the outside.
 *
 * The MIME type is what the bytes are (libmagic), never what the client
 * said: a file is stored only when its sniffed type is in the caller's
 * allowed list, so an executable or an HTML page named photo.jpg, or text
 * sent as application/pdf, is refused.  Files are served with that sniffed
 * type (resp_file in http.h).
 *
 * The file is written before the row: if the caller's transaction later
 * rolls back, the file stays on disk without a row (harmless: the same
 * content reuses it; a sweep may remove files no row names).
 */
#ifndef YZ_FILES_H
#define YZ_FILES_H

#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

struct store;

struct file_info {
	int64_t id;
	char sha256[65];   /* lower-case hex */
	char *mime;        /* sniffed type, e.g. "image/png" (malloc'd) */
	char *name;        /* the client's file name, sanitised (malloc'd) */
	int64_t size;
};

/* Longest stored file name, in code points. */
#define FILES_NAME_MAX 200

/*
 * Stores data if its sniffed type is in allowed (NULL-terminated MIME
 * types, e.g. { "image/jpeg", "image/png", "application/pdf", NULL }) and
 * 0 < len <= max: writes DATA/files/ab/cd/<sha256> atomically (temporary
 * file, fsync, rename, fsync of the folder) unless it is already there,
 * then inserts the metadata row inside the caller's transaction.
 * name is the client's file name (may be NULL); it is sanitised
 * (files_clean_name).  owner_id 0 stores no owner.
 * Returns 0 with *out filled (file_info_release it), or -1 with *why:
 * MSG_FILE_EMPTY, MSG_FILE_TOO_LARGE, MSG_FILE_TYPE (the caller may show a
 * message of its own that names what its list accepts) or MSG_HTTP_500
 * (logged).
 */
int files_put(struct store *st, const char *data_dir, const void *data, size_t len, const char *name,
	      const char *const *allowed, size_t max, int64_t owner_id, struct file_info *out,
	      enum msg_id *why);
/* The row of file id.  0 with *out filled, 1 when there is none, -1 on a store error. */
int files_get(struct store *st, int64_t id, struct file_info *out);
/* DATA/files/ab/cd/<sha256> (malloc'd); NULL when sha256 is not 64 lower-case hex digits. */
char *files_path(const char *data_dir, const char *sha256);
void file_info_release(struct file_info *f);

/*
 * The MIME type of data as libmagic sees it ("image/png", "text/plain",
 * "application/octet-stream" …) into mime (cap bytes).  Thread-safe (a
 * small pool of magic handles).  0, or -1 when libmagic cannot be used.
 */
int files_sniff(const void *data, size_t len, char *mime, size_t cap);
/*
 * A client's file name made safe to keep and show (malloc'd): the part
 * after the last '/' or '\', without invalid UTF-8, control characters
 * or bidirectional overrides, trimmed, at most FILES_NAME_MAX code points;
 * "未命名文件" when nothing is left.
 */
char *files_clean_name(const char *name);

#endif
