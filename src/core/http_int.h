/* Private to the http layer (http.c, router.c, resp.c). */
#ifndef YZ_HTTP_INT_H
#define YZ_HTTP_INT_H

#include "core/http.h"

const struct route *router_match(struct req *r, enum http_method m, const char *path,
				 int *path_matched);
/* Builds and queues the MHD response of r (security headers, cookies). */
int resp_send(struct req *r);
/* Whether the request's path is an API path (errors as JSON). */
int http_is_api_path(const char *path);
/* Adds the shared security headers to a static (cached) MHD response. */
void resp_static_headers(void *mhd_response);
/*
 * The server's request callbacks on a libmicrohttpd daemon without a
 * listening socket or threads of its own (struct MHD_Daemon *, or NULL):
 * the caller adds connections (MHD_add_connection) and runs it (MHD_run).
 * For fuzz/fuzz_multipart.c, which drives whole requests through the real
 * request path without http_serve.  ctx is borrowed.
 */
void *http_start_external(const struct server_ctx *ctx);

#endif
