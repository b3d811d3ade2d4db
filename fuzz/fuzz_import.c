/*
 * libFuzzer target for registry imports (engines/registry/import.c,
 * xlsx_read.c): the CSV reader, the XLSX reader and the header and value
 * checks of imp_check, which need no store.
 *
 * Input: the first byte chooses the shape.
 *   even  the rest is a whole file (CSV, or an XLSX when it is a zip);
 *   odd   the rest is the worksheet XML of a fixed workbook (zipped here with
 *         libzip), so that mutations reach the XML handlers instead of
 *         breaking the zip.
 * Each row passed on must have NUL-terminated cells of valid UTF-8 (unless
 * refused), at most IMP_MAX_COLS of them, in increasing row order; a check
 * must keep its counts consistent and its report within IMP_MAX_ERRORS.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "core/validate.h"
#include "engines/registry/registry.h"
#include "engines/registry/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char DEF[] =
	"registry fz\n"
	"name 模糊测试\n"
	"owner psb\n"
	"key id_no\n"
	"share conditional \"测试\"\n"
	"field id_no 公民身份号码 idcard required personal source=psb\n"
	"field name 姓名 text(20) required personal source=psb\n"
	"field n 数量 integer source=psb\n"
	"field amount 金额 decimal(2) source=psb\n"
	"field day 日期 date source=psb\n"
	"field ok 是否 boolean source=psb\n"
	"field kind 类别 enum(甲|乙) source=psb\n"
	"field phone 电话 phone personal source=psb\n";

static const char WB[] =
	"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<sheets><sheet name=\"a\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char RELS[] =
	"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
	"Target=\"worksheets/sheet1.xml\"/></Relationships>";
static const char SST[] =
	"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><si><t>id_no</t></si>"
	"<si><t>姓名</t></si><si><r><t>4401061990</t></r><r><t>05171236</t></r></si></sst>";
static const char STYLES[] =
	"<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><numFmts>"
	"<numFmt numFmtId=\"164\" formatCode=\"yyyy-mm-dd\"/></numFmts><cellXfs><xf numFmtId=\"0\"/>"
	"<xf numFmtId=\"164\"/><xf numFmtId=\"14\"/></cellXfs></styleSheet>";

static struct registry REG;
static struct reg_def *PARSED;    /* kept reachable until exit */
static int ready;

struct seen {
	int64_t last_row;
};

static int on_row(void *arg, int64_t row, const struct imp_cell *cells, int ncells)
{
	struct seen *s = arg;
	if (row <= s->last_row || ncells < 0 || ncells > IMP_MAX_COLS)
		abort();
	s->last_row = row;
	for (int i = 0; i < ncells; i++) {
		const struct imp_cell *c = &cells[i];
		if (c->text == NULL) {
			if (c->len != 0)
				abort();
			continue;
		}
		if (c->bad != MSG_NONE || c->len == 0 || c->len > IMP_CELL_MAX || c->text[c->len] != '\0')
			abort();
		if (validate_utf8(c->text, c->len) != 0 || memchr(c->text, '\0', c->len) != NULL)
			abort();
	}
	return 0;
}

static void *zip_sheet(const uint8_t *sheet, size_t n, size_t *len)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *zs = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (zs == NULL)
		abort();
	zip_source_keep(zs);
	zip_t *za = zip_open_from_source(zs, ZIP_TRUNCATE, &ze);
	if (za == NULL)
		abort();
	const char *names[] = { "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
				"xl/styles.xml" };
	const char *texts[] = { WB, RELS, SST, STYLES };
	for (int i = 0; i < 4; i++)
		zip_file_add(za, names[i], zip_source_buffer(za, texts[i], strlen(texts[i]), 0), 0);
	zip_file_add(za, "xl/worksheets/sheet1.xml", zip_source_buffer(za, sheet, n, 0), 0);
	if (zip_close(za) != 0)
		abort();
	zip_stat_t st;
	void *out = NULL;
	if (zip_source_stat(zs, &st) == 0 && zip_source_open(zs) == 0) {
		out = malloc(st.size ? st.size : 1);
		if (out == NULL || zip_source_read(zs, out, st.size) != (zip_int64_t)st.size)
			abort();
		zip_source_close(zs);
		*len = st.size;
	}
	zip_source_free(zs);
	zip_error_fini(&ze);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		char *err = NULL;
		if (regdef_parse(DEF, sizeof DEF - 1, &PARSED, &err) != 0)
			abort();
		REG.def = *PARSED;
		ready = 1;
	}
	if (size == 0 || size > 1 << 20)
		return 0;
	void *owned = NULL;
	const void *buf = data + 1;
	size_t len = size - 1;
	if (data[0] & 1) {
		owned = zip_sheet(data + 1, size - 1, &len);
		if (owned == NULL)
			return 0;
		buf = owned;
	}
	struct imp_source src = { NULL, buf, len, IMP_FMT_AUTO };
	struct imp_read_error e;
	struct seen s = { 0 };
	imp_read(&src, on_row, &s, NULL, NULL, &e);

	struct imp_opts o = { (data[0] & 2) ? IMP_SKIP_INVALID : IMP_ALL_OR_NOTHING, NULL, NULL, NULL, NULL };
	struct imp_plan *plan = NULL;
	struct imp_result res;
	if (imp_check(&REG, &src, &o, &plan, &res) == 0) {
		if (res.invalid < 0 || res.invalid > res.rows || json_array_size(res.errors) > IMP_MAX_ERRORS ||
		    res.errors_total < (int64_t)json_array_size(res.errors) || (res.invalid > 0 && res.errors_total == 0))
			abort();
		if (imp_should_write(plan, &res) && (res.header_bad || res.rows == 0))
			abort();
		json_t *j = imp_result_json(&res);
		if (j == NULL)
			abort();
		json_decref(j);
		imp_plan_free(plan);
		imp_result_release(&res);
	}
	free(owned);
	return 0;
}
