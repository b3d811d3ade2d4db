#include "core/qr.h"
#include "core/buf.h"
#include "core/xalloc.h"

#include <qrencode.h>
#include <sodium.h>
#include <string.h>

/* The largest SVG: version 40 (177 modules) with every other module dark
 * costs about 20 bytes a run; a mebibyte is ample. */
#define QR_SVG_MAX (1024 * 1024)

/* The code for text (QRcode_free() it), or NULL.  libqrencode is built with
 * pthread support in Debian, so concurrent calls are safe. */
static QRcode *qr_encode(const char *text)
{
	if (text == NULL)
		return NULL;
	size_t n = strnlen(text, QR_TEXT_MAX + 1);
	if (n == 0 || n > QR_TEXT_MAX)
		return NULL;
	return QRcode_encodeData((int)n, (const unsigned char *)text, 0, QR_ECLEVEL_M);
}

static int qr_dark(const QRcode *q, int x, int y)
{
	return q->data[y * q->width + x] & 1;
}

/*
 * Calls run(arg, x, y, len) for each horizontal run of dark modules, in
 * module coordinates without the quiet zone.  Merging runs keeps the path
 * small and leaves no seams between neighbouring modules when rasterized.
 */
static int qr_runs(const QRcode *q, int (*run)(void *, int, int, int), void *arg)
{
	for (int y = 0; y < q->width; y++) {
		int x = 0;
		while (x < q->width) {
			if (!qr_dark(q, x, y)) {
				x++;
				continue;
			}
			int start = x;
			while (x < q->width && qr_dark(q, x, y))
				x++;
			if (run(arg, start, y, x - start) < 0)
				return -1;
		}
	}
	return 0;
}

static int svg_run(void *arg, int x, int y, int len)
{
	return buf_addf(arg, "M%d %dh%dv1h-%dz", x + QR_QUIET, y + QR_QUIET, len, len);
}

char *qr_svg(const char *text, int module_px)
{
	if (module_px < 0 || module_px > QR_MODULE_PX_MAX)
		return NULL;
	QRcode *q = qr_encode(text);
	if (q == NULL)
		return NULL;

	struct buf b = BUF_INIT(QR_SVG_MAX);
	char *out = NULL;
	int side = q->width + 2 * QR_QUIET;
	if (buf_addf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\"",
		     side, side) < 0)
		goto out;
	if (module_px > 0 &&
	    buf_addf(&b, " width=\"%d\" height=\"%d\"", side * module_px, side * module_px) < 0)
		goto out;
	if (buf_addf(&b, " shape-rendering=\"crispEdges\">"
		     "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
		     side, side) < 0)
		goto out;
	if (qr_runs(q, svg_run, &b) < 0 || buf_addstr(&b, "\"/></svg>\n") < 0)
		goto out;
	out = buf_detach(&b, NULL);
out:
	buf_release(&b);
	QRcode_free(q);
	return out;
}

char *qr_data_uri(const char *text)
{
	static const char prefix[] = "data:image/svg+xml;base64,";
	char *svg = qr_svg(text, 0);
	if (svg == NULL)
		return NULL;
	size_t len = strlen(svg);
	size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(sizeof prefix - 1 + b64);
	memcpy(out, prefix, sizeof prefix - 1);
	sodium_bin2base64(out + sizeof prefix - 1, b64, (const unsigned char *)svg, len,
			  sodium_base64_VARIANT_ORIGINAL);
	free(svg);
	return out;
}

static int cairo_run(void *arg, int x, int y, int len)
{
	cairo_rectangle(arg, x + QR_QUIET, y + QR_QUIET, len, 1);
	return 0;
}

int qr_draw(cairo_t *cr, const char *text, double x, double y, double size)
{
	if (!(size > 0))
		return -1;
	QRcode *q = qr_encode(text);
	if (q == NULL)
		return -1;

	int side = q->width + 2 * QR_QUIET;
	cairo_save(cr);
	cairo_new_path(cr);
	cairo_translate(cr, x, y);
	cairo_scale(cr, size / side, size / side);
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, 0, 0, side, side);
	cairo_fill(cr);
	/* One path, filled once with the non-zero rule: the runs of a row never
	 * overlap and rows only touch, so nothing cancels out. */
	cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
	qr_runs(q, cairo_run, cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_fill(cr);
	cairo_restore(cr);
	QRcode_free(q);
	return 0;
}
