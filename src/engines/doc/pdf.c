#include "engines/doc/pdf.h"
#include "core/log.h"
#include "core/qr.h"
#include "core/xalloc.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

/* Under AddressSanitizer: mark cairo's known leak (see finish_surface). */
#if defined(__SANITIZE_ADDRESS__)
#define PDF_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PDF_LSAN 1
#endif
#endif
#ifdef PDF_LSAN
#include <sanitizer/lsan_interface.h>
#endif

/* Page geometry in PDF points (1/72 inch). */
#define PAGE_W 595.276              /* A4 */
#define PAGE_H 841.890
#define FRAME_OUT 28.0              /* inset of the outer border line */
#define FRAME_IN 34.0               /* inset of the inner border line */
#define CONTENT_L 78.0              /* left and right edges of the text */
#define CONTENT_R (PAGE_W - CONTENT_L)
#define CONTENT_W (CONTENT_R - CONTENT_L)

#define TITLE_PT 40.0
#define TITLE_MIN_PT 20.0
#define FIELD_PT 14.0
#define FIELD_MIN_PT 9.0
#define QR_SIZE 96.0
#define SEAL_R 58.0

/* fontconfig family lists: pango passes all of them to the match. */
#define FONT_SERIF "Noto Serif CJK SC,Noto Sans CJK SC,serif"
#define FONT_SANS "Noto Sans CJK SC,sans-serif"

struct rgb { double r, g, b; };
static const struct rgb INK = { 0.08, 0.08, 0.08 };
static const struct rgb GREY = { 0.30, 0.30, 0.30 };
static const struct rgb FRAME = { 0.60, 0.16, 0.12 };
static const struct rgb SEAL = { 0.85, 0.08, 0.10 };

/* What every drawing function needs: the cairo context and one pango
 * context (fonts, language) made for it. */
struct pen {
	cairo_t *cr;
	PangoContext *pc;
};

static void pen_color(struct pen *p, struct rgb c)
{
	cairo_set_source_rgb(p->cr, c.r, c.g, c.b);
}

/* A layout of text at pt points; width > 0 wraps lines at that width. */
static PangoLayout *pen_layout(struct pen *p, const char *family, PangoWeight weight,
			       double pt, const char *text, double width)
{
	PangoLayout *l = pango_layout_new(p->pc);
	PangoFontDescription *fd = pango_font_description_new();
	pango_font_description_set_family(fd, family);
	pango_font_description_set_weight(fd, weight);
	pango_font_description_set_absolute_size(fd, pt * PANGO_SCALE);
	pango_layout_set_font_description(l, fd);
	pango_font_description_free(fd);
	if (width > 0) {
		pango_layout_set_width(l, pango_units_from_double(width));
		pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	}
	pango_layout_set_text(l, text, -1);
	return l;
}

static void layout_size(PangoLayout *l, double *w, double *h)
{
	PangoRectangle r;
	pango_layout_get_extents(l, NULL, &r);
	if (w)
		*w = pango_units_to_double(r.width);
	if (h)
		*h = pango_units_to_double(r.height);
}

static void pen_show(struct pen *p, PangoLayout *l, double x, double y)
{
	cairo_move_to(p->cr, x, y);
	pango_cairo_show_layout(p->cr, l);
}

/* The natural width of text on one line. */
static double text_width(struct pen *p, const char *family, PangoWeight weight, double pt,
			 const char *text)
{
	PangoLayout *l = pen_layout(p, family, weight, pt, text, 0);
	double w;
	layout_size(l, &w, NULL);
	g_object_unref(l);
	return w;
}

/*
 * Draws text on one line with its characters spread evenly so the first
 * starts at x and the last ends at x + width (名　　称 over the width of
 * 法定代表人), as Chinese certificates align their labels.  Text wider than
 * width is drawn at its natural spacing.  Returns the line height.
 */
static double draw_spread(struct pen *p, const char *family, PangoWeight weight, double pt,
			  const char *text, double x, double y, double width)
{
	glong n = g_utf8_strlen(text, -1);
	double natural = text_width(p, family, weight, pt, text);
	double gap = n > 1 && width > natural ? (width - natural) / (double)(n - 1) : 0;
	double h = 0;

	for (const char *s = text; *s != '\0'; s = g_utf8_next_char(s)) {
		const char *e = g_utf8_next_char(s);
		PangoLayout *l = pen_layout(p, family, weight, pt, "", 0);
		pango_layout_set_text(l, s, (int)(e - s));
		double w, lh;
		layout_size(l, &w, &lh);
		pen_show(p, l, x, y);
		g_object_unref(l);
		x += w + gap;
		if (lh > h)
			h = lh;
	}
	return h;
}

/* ---- frame and header ---- */

static void draw_frame(struct pen *p)
{
	cairo_t *cr = p->cr;
	pen_color(p, FRAME);
	cairo_set_line_width(cr, 2.4);
	cairo_rectangle(cr, FRAME_OUT, FRAME_OUT, PAGE_W - 2 * FRAME_OUT, PAGE_H - 2 * FRAME_OUT);
	cairo_stroke(cr);
	cairo_set_line_width(cr, 0.8);
	cairo_rectangle(cr, FRAME_IN, FRAME_IN, PAGE_W - 2 * FRAME_IN, PAGE_H - 2 * FRAME_IN);
	cairo_stroke(cr);
	/* A small diamond at each inner corner. */
	const double d = 5.0;
	for (int i = 0; i < 4; i++) {
		double cx = i & 1 ? PAGE_W - FRAME_IN : FRAME_IN;
		double cy = i & 2 ? PAGE_H - FRAME_IN : FRAME_IN;
		cairo_move_to(cr, cx, cy - d);
		cairo_line_to(cr, cx + d, cy);
		cairo_line_to(cr, cx, cy + d);
		cairo_line_to(cr, cx - d, cy);
		cairo_close_path(cr);
	}
	cairo_fill(cr);
}

/* Draws the number, title and subtitle; returns the y below them. */
static double draw_header(struct pen *p, const struct pdf_certificate *c)
{
	double y = FRAME_IN + 18;

	if (c->number != NULL && *c->number != '\0') {
		char *s = c->number_label != NULL && *c->number_label != '\0'
			? xasprintf("%s：%s", c->number_label, c->number)
			: xstrdup(c->number);
		PangoLayout *l = pen_layout(p, FONT_SANS, PANGO_WEIGHT_NORMAL, 10, s, 0);
		double w;
		layout_size(l, &w, NULL);
		pen_color(p, GREY);
		pen_show(p, l, CONTENT_R - w, y);
		g_object_unref(l);
		free(s);
	}

	/* The title: as large as fits up to TITLE_PT, with up to 0.6 em between
	 * characters; a title that does not fit even at TITLE_MIN_PT wraps. */
	y = 112;
	double pt = TITLE_PT, natural;
	glong n = g_utf8_strlen(c->title, -1);
	for (;;) {
		natural = text_width(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, c->title);
		if (natural <= CONTENT_W || pt <= TITLE_MIN_PT)
			break;
		pt -= 2;
	}
	pen_color(p, INK);
	if (natural <= CONTENT_W) {
		double spread = natural;
		if (n > 1)
			spread = fmin(natural + 0.6 * pt * (double)(n - 1),
				      fmax(natural, 0.8 * CONTENT_W));
		y += draw_spread(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, c->title,
				 (PAGE_W - spread) / 2, y, spread);
	} else {
		PangoLayout *l = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, c->title, CONTENT_W);
		pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
		double h;
		layout_size(l, NULL, &h);
		pen_show(p, l, CONTENT_L, y);
		g_object_unref(l);
		y += h;
	}

	if (c->subtitle != NULL && *c->subtitle != '\0') {
		PangoLayout *l = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_NORMAL, 16, c->subtitle,
					    CONTENT_W);
		pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
		double h;
		layout_size(l, NULL, &h);
		pen_show(p, l, CONTENT_L, y + 4);
		g_object_unref(l);
		y += 4 + h;
	}
	return y;
}

/* ---- fields ---- */

/*
 * Lays out the fields at pt points from y down, labels spread to the width
 * of the widest (at least four characters), values wrapped in the rest of
 * the line.  Draws them when draw is set, ending the value that reaches
 * bottom with an ellipsis and leaving out the rows below it.  Returns the
 * height the rows need.
 */
static double fields_rows(struct pen *p, const struct pdf_certificate *c, double pt, double y,
			  double bottom, int draw)
{
	double colw = 4 * pt;
	for (int i = 0; i < c->nfields; i++) {
		const char *label = c->fields[i].label ? c->fields[i].label : "";
		colw = fmax(colw, text_width(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, label));
	}
	double vx = CONTENT_L + colw + 1.5 * pt;
	double gap = 0.75 * pt;
	double top = y;

	for (int i = 0; i < c->nfields; i++) {
		const char *label = c->fields[i].label ? c->fields[i].label : "";
		const char *value = c->fields[i].value ? c->fields[i].value : "";
		PangoLayout *v = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_NORMAL, pt, value,
					    CONTENT_R - vx);
		pango_layout_set_justify(v, TRUE);
		double vh, lh;
		layout_size(v, NULL, &vh);
		if (draw) {
			if (y + vh > bottom) {
				/* At least the first line, then as many as fit. */
				pango_layout_set_height(v, pango_units_from_double(fmax(bottom - y, 1)));
				pango_layout_set_ellipsize(v, PANGO_ELLIPSIZE_END);
				layout_size(v, NULL, &vh);
			}
			pen_color(p, INK);
			lh = draw_spread(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, label, CONTENT_L, y,
					 colw);
			pen_show(p, v, vx, y);
		} else {
			PangoLayout *l = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, label, 0);
			layout_size(l, NULL, &lh);
			g_object_unref(l);
		}
		g_object_unref(v);
		y += fmax(lh, vh) + gap;
		if (draw && y >= bottom)
			break;
	}
	return c->nfields > 0 ? y - gap - top : 0;
}

/* Draws the fields between top and bottom in the largest size that fits
 * (FIELD_PT down to FIELD_MIN_PT); past the smallest size the text that
 * does not fit is left out, its place marked with an ellipsis. */
static void draw_fields(struct pen *p, const struct pdf_certificate *c, double top,
			double bottom)
{
	double pt = FIELD_PT, h;
	for (;;) {
		h = fields_rows(p, c, pt, 0, 0, 0);
		if (h <= bottom - top || pt <= FIELD_MIN_PT)
			break;
		pt -= 0.5;
	}
	double y = top;
	/* Some air above short lists, at most a third of the spare room. */
	if (h < bottom - top)
		y += fmin((bottom - top - h) / 3, 2 * pt);
	fields_rows(p, c, pt, y, bottom, 1);
}

/* ---- seal ---- */

static void star_path(cairo_t *cr, double cx, double cy, double r)
{
	for (int i = 0; i < 10; i++) {
		double a = -M_PI / 2 + i * M_PI / 5;
		double rr = i & 1 ? r * 0.382 : r;
		if (i == 0)
			cairo_move_to(cr, cx + rr * cos(a), cy + rr * sin(a));
		else
			cairo_line_to(cr, cx + rr * cos(a), cy + rr * sin(a));
	}
	cairo_close_path(cr);
}

/*
 * A red seal of radius r centred at (cx, cy): a ring, a five-pointed star
 * and the issuer's name along the top arc, characters upright towards the
 * rim.  Drawn with the multiply blend so text under it stays legible, as
 * ink on paper.
 */
static void draw_seal(struct pen *p, const char *issuer, double cx, double cy, double r)
{
	cairo_t *cr = p->cr;
	cairo_save(cr);
	cairo_new_path(cr);     /* cairo_arc() would join the current point */
	cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
	cairo_set_source_rgba(cr, SEAL.r, SEAL.g, SEAL.b, 0.9);
	double ring = r * 0.055;
	cairo_set_line_width(cr, ring);
	cairo_arc(cr, cx, cy, r - ring / 2, 0, 2 * M_PI);
	cairo_stroke(cr);
	star_path(cr, cx, cy, r * 0.30);
	cairo_fill(cr);

	glong n = issuer != NULL ? g_utf8_strlen(issuer, -1) : 0;
	if (n > 0) {
		/* About 27 degrees a character, the whole between 70 and 250. */
		double span = fmax(70, fmin(250, 27.0 * (double)n)) * M_PI / 180;
		double step = span / (double)n;
		double outer = r - ring - r * 0.07;             /* tops of the characters */
		double pt = fmin(r * 0.27, step * (outer - r * 0.12) * 0.95);
		glong i = 0;
		for (const char *s = issuer; *s != '\0'; s = g_utf8_next_char(s), i++) {
			const char *e = g_utf8_next_char(s);
			PangoLayout *l = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_BOLD, pt, "", 0);
			pango_layout_set_text(l, s, (int)(e - s));
			PangoRectangle ink;
			pango_layout_get_extents(l, &ink, NULL);
			double iw = pango_units_to_double(ink.width);
			double ix = pango_units_to_double(ink.x);
			double iy = pango_units_to_double(ink.y);
			cairo_save(cr);
			cairo_translate(cr, cx, cy);
			cairo_rotate(cr, -span / 2 + step * ((double)i + 0.5));
			cairo_move_to(cr, -ix - iw / 2, -outer - iy);
			pango_cairo_show_layout(cr, l);
			cairo_restore(cr);
			g_object_unref(l);
		}
	}
	cairo_restore(cr);
}

/* ---- bottom: QR code, issuer, date ---- */

/* Draws the QR block and the issuer block; returns the y above both, where
 * the fields must end, or -1 when the QR code cannot hold the URL. */
static double draw_footer(struct pen *p, const struct pdf_certificate *c)
{
	const double bottom = PAGE_H - FRAME_IN - 26;
	double top = bottom;

	if (c->verify_url != NULL && *c->verify_url != '\0') {
		double y = bottom;
		PangoLayout *url = pen_layout(p, FONT_SANS, PANGO_WEIGHT_NORMAL, 6.5, c->verify_url,
					      200);
		pango_layout_set_wrap(url, PANGO_WRAP_CHAR);
		double h;
		layout_size(url, NULL, &h);
		y -= h;
		pen_color(p, GREY);
		pen_show(p, url, CONTENT_L, y);
		g_object_unref(url);
		if (c->note != NULL && *c->note != '\0') {
			PangoLayout *note = pen_layout(p, FONT_SANS, PANGO_WEIGHT_NORMAL, 9, c->note,
						       200);
			layout_size(note, NULL, &h);
			y -= h + 1;
			pen_color(p, INK);
			pen_show(p, note, CONTENT_L, y);
			g_object_unref(note);
		}
		y -= QR_SIZE;
		/* The quiet zone is part of the square: let it reach into the
		 * margin so the dark modules line up with the text. */
		if (qr_draw(p->cr, c->verify_url, CONTENT_L - 8, y, QR_SIZE) < 0)
			return -1;
		top = fmin(top, y);
	}

	PangoLayout *issuer = NULL, *date = NULL;
	double iw = 0, ih = 0, dw = 0, dh = 0;
	if (c->issuer != NULL && *c->issuer != '\0') {
		/* One line unless longer than half the page, then centred lines. */
		double width = 0;
		if (text_width(p, FONT_SERIF, PANGO_WEIGHT_NORMAL, 14, c->issuer) > CONTENT_W / 2)
			width = CONTENT_W / 2;
		issuer = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_NORMAL, 14, c->issuer, width);
		pango_layout_set_alignment(issuer, PANGO_ALIGN_CENTER);
		layout_size(issuer, &iw, &ih);
	}
	if (c->issued_on != NULL && *c->issued_on != '\0') {
		date = pen_layout(p, FONT_SERIF, PANGO_WEIGHT_NORMAL, 14, c->issued_on, 0);
		layout_size(date, &dw, &dh);
	}
	if (issuer != NULL || date != NULL) {
		double w = fmax(fmax(iw, dw), 2 * SEAL_R);
		double mid = CONTENT_R - w / 2;
		double y = bottom - 36 - dh;
		pen_color(p, INK);
		if (date != NULL)
			pen_show(p, date, mid - dw / 2, y);
		double y_issuer = y - 8 - ih;
		if (issuer != NULL)
			pen_show(p, issuer, mid - iw / 2, y_issuer);
		double cy = (y_issuer + y + dh) / 2;
		draw_seal(p, c->issuer, mid, cy, SEAL_R);
		top = fmin(top, fmin(cy - SEAL_R, y_issuer));
	}
	if (issuer != NULL)
		g_object_unref(issuer);
	if (date != NULL)
		g_object_unref(date);
	return top;
}

/* ---- the document ---- */

static cairo_status_t pdf_write(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_add(closure, data, len) == 0 ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/*
 * cairo_surface_finish() writes the font subsets and the rest of the
 * document.  cairo 1.16's CFF subsetter loses about 770 bytes for each CFF
 * font (all the Noto CJK fonts are CFF) of each document it finishes: a
 * library bug we cannot fix here, measured at some 2.3 KB a certificate.
 * Under LeakSanitizer the allocations made while finishing are declared
 * known, so the suite stays strict about everything else; the document is
 * written into pdf.c's own buffer meanwhile, never the caller's.
 */
static void finish_surface(cairo_surface_t *surface)
{
#ifdef PDF_LSAN
	__lsan_disable();
#endif
	cairo_surface_finish(surface);
#ifdef PDF_LSAN
	__lsan_enable();
#endif
}

static int text_ok(const char *s, int required)
{
	if (s == NULL)
		return !required;
	size_t n = strnlen(s, PDF_TEXT_MAX + 1);
	if (n > PDF_TEXT_MAX || (required && n == 0))
		return 0;
	return g_utf8_validate(s, (gssize)n, NULL);
}

/* NULL when c can be rendered, else the name of the first bad member. */
static const char *cert_check(const struct pdf_certificate *c)
{
	if (!text_ok(c->title, 1))
		return "title";
	if (!text_ok(c->subtitle, 0))
		return "subtitle";
	if (!text_ok(c->number, 0) || !text_ok(c->number_label, 0))
		return "number";
	if (!text_ok(c->issuer, 0))
		return "issuer";
	if (!text_ok(c->issued_on, 0))
		return "issued_on";
	if (!text_ok(c->note, 0))
		return "note";
	if (!text_ok(c->verify_url, 0) ||
	    (c->verify_url != NULL && strlen(c->verify_url) > QR_TEXT_MAX))
		return "verify_url";
	if (c->nfields < 0 || c->nfields > PDF_FIELDS_MAX || (c->nfields > 0 && c->fields == NULL))
		return "nfields";
	for (int i = 0; i < c->nfields; i++)
		if (!text_ok(c->fields[i].label, 0) || !text_ok(c->fields[i].value, 0))
			return "fields";
	return NULL;
}

int pdf_render_certificate(const struct pdf_certificate *c, struct buf *out)
{
	int rc = -1;
	cairo_surface_t *surface = NULL;
	cairo_t *cr = NULL;
	PangoContext *pc = NULL;
	struct buf doc = BUF_INIT(0);

	const char *bad = c != NULL ? cert_check(c) : "certificate";
	if (bad != NULL) {
		log_error("pdf: %s missing, too long or not UTF-8", bad);
		return -1;
	}

	/* The document is made in doc and appended to out once complete. */
	buf_init(&doc, out->max > out->len ? out->max - out->len : 0);
	surface = cairo_pdf_surface_create_for_stream(pdf_write, &doc, PAGE_W, PAGE_H);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		log_error("pdf: %s", cairo_status_to_string(cairo_surface_status(surface)));
		goto out;
	}
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, c->title);
	cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "yizhan");
	if (c->number != NULL)
		cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_SUBJECT, c->number);
	if (c->issuer != NULL)
		cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, c->issuer);

	cr = cairo_create(surface);
	/*
	 * A font map of our own for each document, not the per-thread default
	 * one: with TrueType fonts (fallbacks such as DejaVu) cairo 1.16 loses
	 * about 770 bytes a font for each PDF when the font's scaled font
	 * outlives the surface, as it does in the default map's cache.  A fresh
	 * map costs some 7 ms a document (fontconfig's configuration and cache
	 * stay shared), and as nothing is shared between calls, concurrent
	 * calls are safe.
	 */
	PangoFontMap *fm = pango_cairo_font_map_new();
	pc = pango_font_map_create_context(fm);
	g_object_unref(fm);     /* the context holds it */
	pango_cairo_update_context(cr, pc);
	pango_context_set_language(pc, pango_language_from_string("zh-cn"));
	pango_context_set_round_glyph_positions(pc, FALSE);
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	pango_cairo_context_set_font_options(pc, fo);
	cairo_font_options_destroy(fo);
	struct pen p = { cr, pc };

	draw_frame(&p);
	double top = draw_header(&p, c);
	double bottom = draw_footer(&p, c);
	if (bottom < 0) {
		log_error("pdf: verify_url cannot be encoded as a QR code");
		goto out;
	}
	draw_fields(&p, c, top + 28, bottom - 24);
	cairo_show_page(cr);
	if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
		log_error("pdf: drawing: %s", cairo_status_to_string(cairo_status(cr)));
		goto out;
	}
	finish_surface(surface);
	if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
		log_error("pdf: writing: %s", cairo_status_to_string(cairo_surface_status(surface)));
		goto out;
	}
	if (buf_add(out, doc.data, doc.len) < 0) {
		log_error("pdf: the document (%zu bytes) is over the buffer's maximum", doc.len);
		goto out;
	}
	rc = 0;
out:
	buf_release(&doc);
	if (pc != NULL)
		g_object_unref(pc);
	if (cr != NULL)
		cairo_destroy(cr);
	if (surface != NULL)
		cairo_surface_destroy(surface);
	return rc;
}
