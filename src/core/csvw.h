/*
 * csvw: writing CSV fields (RFC 4180), one implementation for every CSV the
 * platform produces (registry exports, comparison reports, the catalogue,
 * the demo generator's files).
 *
 * A field is quoted when it holds a comma, a double quote or a line end
 * (quotes doubled).  With guard set, a value a spreadsheet would take for a
 * formula (it begins with = + - @, a tab or a carriage return: "CSV
 * injection") is written behind an apostrophe, which spreadsheets show as
 * text; the registry import takes such an apostrophe off again for the
 * same kinds of fields (reg_import), so an exported file imports unchanged.
 * Callers guard text a person or another department wrote, not numbers or
 * dates (a negative amount must stay a number).
 */
#ifndef YZ_CSVW_H
#define YZ_CSVW_H

#include <stdio.h>

struct buf;

/* 1 when a spreadsheet would read s as a formula. */
int csvw_formula(const char *s);
/* s as one field at the end of b (NULL: an empty field).  0, or -1 when b's maximum is reached. */
int csvw_add(struct buf *b, const char *s, int guard);
/* The same to a stream; 0, or -1 on a write error. */
int csvw_put(FILE *f, const char *s, int guard);

#endif
