/*
 * qr: QR codes (libqrencode) as SVG, as a data: URI and on a cairo surface.
 *
 * Every code is encoded the same way: error-correction level M, 8-bit
 * (byte) mode, so UTF-8 text goes in byte for byte, the smallest version
 * that holds it, and a quiet zone of QR_QUIET modules on each side.  Text
 * must be 1 to QR_TEXT_MAX bytes; anything else fails.
 *
 * The SVG never repeats the encoded text (an otpauth:// URI holds a TOTP
 * secret), has no scripts, styles or external references, and is safe to
 * inline into an HTML page.  Pages whose CSP forbids inline SVG attributes
 * can use qr_data_uri() as an <img src> instead (CSP img-src allows data:).
 *
 * All functions are thread-safe.
 */
#ifndef YZ_QR_H
#define YZ_QR_H

#include <cairo.h>

#define QR_TEXT_MAX 1000   /* bytes */
#define QR_QUIET 4         /* modules of white border on each side */
#define QR_MODULE_PX_MAX 64

/*
 * A standalone SVG document (malloc'd; free() it): a white square with a
 * viewBox of (modules + 2 * QR_QUIET) units and one <path> holding every
 * dark module, drawn with crispEdges.  module_px 1..QR_MODULE_PX_MAX sets
 * width and height to that many pixels per module; 0 leaves them out so
 * the image takes the size of its box.  NULL when the text is empty, longer
 * than QR_TEXT_MAX, module_px is out of range or encoding fails.
 */
char *qr_svg(const char *text, int module_px);

/*
 * "data:image/svg+xml;base64,..." of qr_svg(text, 0) (malloc'd; free() it),
 * for <img src>.  NULL as for qr_svg().
 */
char *qr_data_uri(const char *text);

/*
 * Draws the code, quiet zone included, as a size x size square (in user
 * units of cr) with its top-left corner at (x, y): a white square, then the
 * dark modules as one filled path.  Leaves cr's state (source, path,
 * transformation) as it found it.  0, or -1 when the text cannot be encoded
 * (as for qr_svg()) or size is not positive.
 */
int qr_draw(cairo_t *cr, const char *text, double x, double y, double size);

#endif
