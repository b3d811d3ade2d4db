/*
 * pdf: electronic certificates and licences (电子证照) as PDF, drawn with
 * cairo and pango in the Noto CJK fonts.
 *
 * One A4 portrait page: a double border; the number at the top right; the
 * title large and spaced, centred, with an optional subtitle under it; the
 * fields as label/value rows (labels spread to one width, long values
 * wrapped); the issuer and date at the bottom right under a red vector seal;
 * the QR code of verify_url at the bottom left with the note and the URL
 * printed under it.  The title is set in "Noto Serif CJK SC", falling back
 * to "Noto Sans CJK SC", then any serif font fontconfig knows.
 *
 * Every string is UTF-8 and is printed as given: pdf.c holds no words of its
 * own, so the caller takes labels from the message catalogue.  Each string
 * is at most PDF_TEXT_MAX bytes and there are at most PDF_FIELDS_MAX fields.
 * Values too long for the page are set smaller (down to 9 pt) and, past
 * that, cut at the bottom of the field area.
 */
#ifndef YZ_PDF_H
#define YZ_PDF_H

#include "core/buf.h"

#define PDF_FIELDS_MAX 24
#define PDF_TEXT_MAX 4000   /* bytes per string */

struct pdf_field {
	const char *label;        /* 名称 */
	const char *value;        /* 示范市一站科技有限公司 */
};

struct pdf_certificate {
	const char *title;        /* 营业执照; required */
	const char *subtitle;     /* （副本） or NULL */
	const char *number;       /* the 证照编号 itself, or NULL */
	const struct pdf_field *fields;
	int nfields;              /* 名称, 统一社会信用代码, 类型, 法定代表人, 经营范围, 成立日期 ... */
	const char *issuer;       /* 示范市市场监督管理局, also written in the seal; or NULL */
	const char *issued_on;    /* 2026年11月22日, or NULL */
	const char *verify_url;   /* encoded in the QR code, printed small under it; or NULL */
	const char *note;         /* 扫描二维码核验真伪, under the QR code; or NULL */
	const char *number_label; /* 证照编号, printed before the number; or NULL */
};

/*
 * Renders the certificate as a one-page A4 PDF appended to out (whose
 * maximum bounds the document; a few hundred KiB with embedded font
 * subsets).  The PDF's metadata carries the title, the number as subject,
 * the issuer as author and "yizhan" as creator.  Returns 0, or -1 (logged)
 * when a string is missing, too long or not UTF-8 (verify_url: at most
 * QR_TEXT_MAX bytes, core/qr.h) or the document would take out past its
 * maximum; out is then left as it was.  Thread-safe: each call uses its own
 * pango font map.  About 30 ms a page: run it as a job.
 */
int pdf_render_certificate(const struct pdf_certificate *c, struct buf *out);

#endif
