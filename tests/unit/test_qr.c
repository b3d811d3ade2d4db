/*
 * Unit tests of core/qr: the SVG matches libqrencode's modules exactly, is
 * deterministic and script-free; the data: URI decodes to the SVG; limits;
 * qr_draw paints the same modules; and, when zbarimg (Debian zbar-tools) is
 * installed, the drawn code scans back to its text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/qr.h"

#include <qrencode.h>
#include <sodium.h>

#include "testutil.h"

#define URL "https://yizhan.example.gov.cn/verify/YZ2026112200001?c=3f9a2b"
#define OTPAUTH "otpauth://totp/%E4%B8%80%E7%AB%99:zhang?secret=JBSWY3DPEHPK3PXP&issuer=yizhan"

/* The modules libqrencode itself makes for text (level M, 8-bit). */
static QRcode *reference(const char *text)
{
	QRcode *q = QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0,
				      QR_ECLEVEL_M);
	assert_non_null(q);
	return q;
}

/* Reads the SVG's viewBox side and its path back into a side x side bitmap
 * (1 = dark), failing on anything but the "Mx yhNv1h-Nz" runs qr.c writes. */
static unsigned char *svg_bitmap(const char *svg, int *side)
{
	const char *vb = strstr(svg, "viewBox=\"0 0 ");
	assert_non_null(vb);
	int w, h;
	assert_int_equal(sscanf(vb, "viewBox=\"0 0 %d %d\"", &w, &h), 2);
	assert_int_equal(w, h);
	*side = w;
	unsigned char *bm = calloc((size_t)w * (size_t)w, 1);
	assert_non_null(bm);

	const char *d = strstr(svg, "<path fill=\"#000\" d=\"");
	assert_non_null(d);
	d += strlen("<path fill=\"#000\" d=\"");
	while (*d == 'M') {
		int x, y, len, len2, used = 0;
		assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &len, &len2, &used), 4);
		assert_true(used > 0);
		assert_int_equal(len, len2);
		assert_true(x >= 0 && y >= 0 && len > 0 && x + len <= w && y < w);
		for (int i = 0; i < len; i++) {
			assert_int_equal(bm[y * w + x + i], 0);  /* runs never overlap */
			bm[y * w + x + i] = 1;
		}
		d += used;
	}
	assert_int_equal(*d, '"');
	return bm;
}

static void assert_matches_reference(const unsigned char *bm, int side, const QRcode *q)
{
	assert_int_equal(side, q->width + 2 * QR_QUIET);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int qx = x - QR_QUIET, qy = y - QR_QUIET;
			int dark = qx >= 0 && qy >= 0 && qx < q->width && qy < q->width &&
				   (q->data[qy * q->width + qx] & 1);
			assert_int_equal(bm[y * side + x], dark);
		}
}

static void test_svg_shape(void **state)
{
	(void)state;
	char *svg = qr_svg(URL, 4);
	assert_non_null(svg);
	assert_int_equal(strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 40), 0);
	assert_non_null(strstr(svg, "viewBox=\"0 0 "));
	assert_non_null(strstr(svg, "shape-rendering=\"crispEdges\""));
	assert_null(strstr(svg, "<script"));
	assert_null(strstr(svg, "style"));
	assert_null(strstr(svg, "href"));
	assert_null(strstr(svg, "yizhan.example"));  /* the text is not repeated */
	/* One path, one rect, closed. */
	assert_non_null(strstr(svg, "<path"));
	assert_null(strstr(strstr(svg, "<path") + 1, "<path"));
	size_t n = strlen(svg);
	assert_true(n > 7);
	assert_string_equal(svg + n - 7, "</svg>\n");

	/* width and height are modules * module_px, quiet zone included. */
	QRcode *q = reference(URL);
	int side = q->width + 2 * QR_QUIET;
	char want[80];
	snprintf(want, sizeof want, "width=\"%d\" height=\"%d\"", side * 4, side * 4);
	assert_non_null(strstr(svg, want));
	QRcode_free(q);

	/* Deterministic. */
	char *again = qr_svg(URL, 4);
	assert_string_equal(svg, again);
	free(again);
	free(svg);

	/* module_px 0: no fixed size. */
	svg = qr_svg(URL, 0);
	assert_non_null(svg);
	char *gt = strchr(svg, '>');
	assert_non_null(gt);
	*gt = '\0';            /* the <svg> tag alone */
	assert_null(strstr(svg, "width"));
	assert_null(strstr(svg, "height"));
	free(svg);
}

static void test_svg_modules(void **state)
{
	(void)state;
	static const char *texts[] = {
		"A", URL, OTPAUTH,
		"受理编号 YZ-2026-000123 一站式政务服务平台",   /* UTF-8 in byte mode */
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		char *svg = qr_svg(texts[i], 3);
		assert_non_null(svg);
		int side;
		unsigned char *bm = svg_bitmap(svg, &side);
		QRcode *q = reference(texts[i]);
		assert_matches_reference(bm, side, q);
		QRcode_free(q);
		free(bm);
		free(svg);
	}
}

static void test_limits(void **state)
{
	(void)state;
	char *text = malloc(QR_TEXT_MAX + 2);
	assert_non_null(text);
	memset(text, 'a', QR_TEXT_MAX + 1);
	text[QR_TEXT_MAX + 1] = '\0';
	assert_null(qr_svg(text, 2));             /* 1001 bytes */
	assert_null(qr_data_uri(text));
	text[QR_TEXT_MAX] = '\0';
	char *svg = qr_svg(text, 2);              /* 1000 bytes fit */
	assert_non_null(svg);
	int side;
	unsigned char *bm = svg_bitmap(svg, &side);
	QRcode *q = reference(text);
	assert_matches_reference(bm, side, q);
	QRcode_free(q);
	free(bm);
	free(svg);
	free(text);

	assert_null(qr_svg("", 2));
	assert_null(qr_svg(NULL, 2));
	assert_null(qr_svg(URL, -1));
	assert_null(qr_svg(URL, QR_MODULE_PX_MAX + 1));
	svg = qr_svg(URL, QR_MODULE_PX_MAX);
	assert_non_null(svg);
	free(svg);
}

static void test_data_uri(void **state)
{
	(void)state;
	static const char prefix[] = "data:image/svg+xml;base64,";
	char *uri = qr_data_uri(OTPAUTH);
	assert_non_null(uri);
	assert_int_equal(strncmp(uri, prefix, sizeof prefix - 1), 0);
	const char *b64 = uri + sizeof prefix - 1;
	assert_int_equal(strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
			 strlen(b64));

	char *svg = qr_svg(OTPAUTH, 0);
	size_t len = strlen(svg);
	unsigned char *bin = malloc(len + 1);
	size_t got = 0;
	assert_int_equal(sodium_base642bin(bin, len + 1, b64, strlen(b64), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(got, len);
	assert_memory_equal(bin, svg, len);
	free(bin);
	free(svg);
	free(uri);
}

/* Draws text at 4 pixels a module on white and checks each module's centre
 * pixel against libqrencode's data; returns the surface for more checks. */
static cairo_surface_t *draw_checked(const char *text, int *px)
{
	QRcode *q = reference(text);
	int side = q->width + 2 * QR_QUIET;
	*px = side * 4;
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, *px, *px);
	cairo_t *cr = cairo_create(s);
	cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);     /* qr_draw paints its own white */
	cairo_paint(cr);
	cairo_move_to(cr, 1, 1);                     /* a stray current point is harmless */
	assert_int_equal(qr_draw(cr, text, 0, 0, *px), 0);
	assert_int_equal(cairo_status(cr), CAIRO_STATUS_SUCCESS);
	cairo_destroy(cr);
	cairo_surface_flush(s);

	const unsigned char *data = cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s);
	for (int y = 0; y < side; y++)
		for (int x = 0; x < side; x++) {
			int qx = x - QR_QUIET, qy = y - QR_QUIET;
			int dark = qx >= 0 && qy >= 0 && qx < q->width && qy < q->width &&
				   (q->data[qy * q->width + qx] & 1);
			uint32_t pixel;
			memcpy(&pixel, data + (y * 4 + 2) * stride + (x * 4 + 2) * 4, 4);
			assert_int_equal(pixel & 0xffffff, dark ? 0x000000 : 0xffffff);
		}
	QRcode_free(q);
	return s;
}

static int have(const char *tool)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Runs cmd and returns its first line of output without the newline. */
static char *run_line(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[2048] = "";
	if (fgets(line, sizeof line, p) == NULL)
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static void test_draw(void **state)
{
	(void)state;
	int px;
	cairo_surface_t *s = draw_checked(URL, &px);
	cairo_surface_destroy(s);
	s = draw_checked("身份核验 https://yizhan.example.gov.cn/v/1", &px);
	cairo_surface_destroy(s);

	cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 10, 10);
	cairo_t *cr = cairo_create(img);
	assert_int_equal(qr_draw(cr, URL, 0, 0, 0), -1);
	assert_int_equal(qr_draw(cr, "", 0, 0, 10), -1);
	assert_int_equal(qr_draw(cr, NULL, 0, 0, 10), -1);
	cairo_destroy(cr);
	cairo_surface_destroy(img);
}

static void test_scan(void **state)
{
	(void)state;
	if (!have("zbarimg")) {
		printf("SKIP test_scan: zbarimg not installed (Debian zbar-tools)\n");
		skip();
	}
	static const char *texts[] = { URL, OTPAUTH };
	char *dir = test_tmpdir();
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		int px;
		cairo_surface_t *s = draw_checked(texts[i], &px);
		char path[600], cmd[2048];
		snprintf(path, sizeof path, "%s/qr%zu.png", dir, i);
		assert_int_equal(cairo_surface_write_to_png(s, path), CAIRO_STATUS_SUCCESS);
		cairo_surface_destroy(s);
		snprintf(cmd, sizeof cmd, "zbarimg -q --raw '%s' 2>/dev/null", path);
		char *got = run_line(cmd);
		assert_string_equal(got, texts[i]);
		free(got);

		/* The SVG too, when librsvg's converter is there. */
		if (have("rsvg-convert")) {
			char *svg = qr_svg(texts[i], 4);
			snprintf(path, sizeof path, "%s/qr%zu.svg", dir, i);
			FILE *f = fopen(path, "w");
			assert_non_null(f);
			fputs(svg, f);
			fclose(f);
			free(svg);
			snprintf(cmd, sizeof cmd,
				 "rsvg-convert -o '%s.png' '%s' && zbarimg -q --raw '%s.png' 2>/dev/null",
				 path, path, path);
			got = run_line(cmd);
			assert_string_equal(got, texts[i]);
			free(got);
		}
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_svg_shape),
		cmocka_unit_test(test_svg_modules),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_data_uri),
		cmocka_unit_test(test_draw),
		cmocka_unit_test(test_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
