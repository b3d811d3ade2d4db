/*
 * openapi: the OpenAPI 3.0 document of every registered API route (RF_API),
 * generated from the route tables and their field specifications, so the
 * description can never drift from what the server accepts.
 */
#ifndef YZ_OPENAPI_H
#define YZ_OPENAPI_H

#include <jansson.h>

/* A new reference to the document (built once, then shared). */
json_t *openapi_document(void);

#endif
