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

#endif
