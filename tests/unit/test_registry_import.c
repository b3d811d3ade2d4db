/*
 * Unit tests of registry import and export (engines/registry/import.c,
 * xlsx_read.c, export.c): the CSV and XLSX readers, header and value
 * errors with row and field, both modes, duplicate keys, re-import with
 * history, and the three export formats, on the store under test.
 */
#include "testutil.h"

#include <sys/stat.h>
#include <xlsxwriter.h>
#include <zip.h>

#include "core/validate.h"
#include "engines/registry/registry.h"
#include "engines/registry/transfer.h"

/* ------------------------------------------------------------ helpers */

static char *TMP;

static void make_id(char out[19], const char *first14, int serial)
{
	snprintf(out, 19, "%s%03d", first14, serial % 1000);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

static char *tmp_path(const char *name)
{
	char *p = NULL;
	if (asprintf(&p, "%s/%s", TMP, name) < 0)
		abort();
	return p;
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	long n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Rows read by a reader: "row|cell|cell" lines ("<bad:ID>" for refused cells, "#" marks numeric). */
struct collect {
	char out[65536];
	int rows;
};

static void cat(struct collect *c, const char *fmt, ...)
{
	size_t o = strlen(c->out);
	va_list ap;
	va_start(ap, fmt);
	if (o + 1 < sizeof c->out)
		vsnprintf(c->out + o, sizeof c->out - o, fmt, ap);
	va_end(ap);
}

static int collect_row(void *arg, int64_t row, const struct imp_cell *cells, int ncells)
{
	struct collect *c = arg;
	cat(c, "%lld", (long long)row);
	for (int i = 0; i < ncells; i++) {
		if (cells[i].bad != MSG_NONE)
			cat(c, "|<bad:%s>", msg_name(cells[i].bad));
		else
			cat(c, "|%s%.*s", cells[i].numeric ? "#" : "", (int)cells[i].len,
			    cells[i].text ? cells[i].text : "");
		if (cells[i].text != NULL)
			assert_int_equal(cells[i].text[cells[i].len], '\0');
	}
	cat(c, "\n");
	c->rows++;
	return 0;
}

static int read_mem(const char *data, size_t len, struct collect *c, struct imp_read_error *e)
{
	struct imp_source src = { NULL, data, len, IMP_FMT_AUTO };
	memset(c, 0, sizeof *c);
	return imp_read(&src, collect_row, c, NULL, NULL, e);
}

/* ------------------------------------------------------------ CSV reader */

static void test_csv_quoting(void **state)
{
	(void)state;
	struct collect c;
	struct imp_read_error e;
	static const char csv[] = "\xEF\xBB\xBF" "a,b,c\r\n"
				  "1,\"x,y\",\"he said \"\"hi\"\"\"\r\n"
				  "2,\"two\nlines\", spaced \r\n"
				  "\r\n"
				  "3,,\r\n"
				  "4,\u5f20\u4e09,last";
	assert_int_equal(read_mem(csv, sizeof csv - 1, &c, &e), 0);
	assert_string_equal(c.out, "1|a|b|c\n"
				   "2|1|x,y|he said \"hi\"\n"
				   "3|2|two\nlines| spaced \n"
				   "4|3||\n"
				   "5|4|\u5f20\u4e09|last\n");
	/* LF only, and no BOM */
	static const char lf[] = "a,b\n1,2\n";
	assert_int_equal(read_mem(lf, sizeof lf - 1, &c, &e), 0);
	assert_string_equal(c.out, "1|a|b\n2|1|2\n");
	/* a row of empty fields is not passed on */
	static const char empties[] = "a,b\n,\n1,2\n";
	assert_int_equal(read_mem(empties, sizeof empties - 1, &c, &e), 0);
	assert_string_equal(c.out, "1|a|b\n3|1|2\n");
}

static void test_csv_malformed(void **state)
{
	(void)state;
	struct collect c;
	struct imp_read_error e;
	static const char bad_quote[] = "a,b\n1,2\n3,x\"y\n";
	assert_int_equal(read_mem(bad_quote, sizeof bad_quote - 1, &c, &e), -1);
	assert_int_equal(e.why, MSG_IMP_CSV_MALFORMED);
	assert_int_equal(e.row, 3);
	static const char open_quote[] = "a,b\n1,\"never closed\n";
	assert_int_equal(read_mem(open_quote, sizeof open_quote - 1, &c, &e), -1);
	assert_int_equal(e.why, MSG_IMP_CSV_MALFORMED);
	/* bad UTF-8 and NUL are per cell */
	static const char bytes[] = "a,b\n\xff\xfe,x\0y\n";
	assert_int_equal(read_mem(bytes, sizeof bytes - 1, &c, &e), 0);
	assert_string_equal(c.out, "1|a|b\n2|<bad:IMP_BAD_UTF8>|<bad:IMP_CELL_CONTROL>\n");
}

/* ------------------------------------------------------------ XLSX reader */

/* An XLSX made by libxlsxwriter: shared strings (or inline in constant memory), numbers,
 * booleans, a date cell, a formula with its value, a gap between columns. */
static char *xlsx_made(int constant_memory)
{
	char *path = tmp_path(constant_memory ? "made_cm.xlsx" : "made.xlsx");
	lxw_workbook_options opt = { .constant_memory = (uint8_t)constant_memory };
	lxw_workbook *wb = workbook_new_opt(path, &opt);
	assert_non_null(wb);
	lxw_worksheet *ws = workbook_add_worksheet(wb, "人口");
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "yyyy\"年\"m\"月\"d\"日\"");
	worksheet_write_string(ws, 0, 0, "公民身份号码", NULL);
	worksheet_write_string(ws, 0, 1, "name", NULL);
	worksheet_write_string(ws, 0, 3, "age", NULL);
	worksheet_write_number(ws, 1, 0, 440106199005171234.0, NULL);
	worksheet_write_string(ws, 1, 1, "张三, \"老张\"", NULL);
	worksheet_write_number(ws, 1, 3, 34, NULL);
	worksheet_write_boolean(ws, 1, 4, 1, NULL);
	lxw_datetime dt = { 2020, 1, 5, 0, 0, 0 };
	worksheet_write_datetime(ws, 2, 0, &dt, date);
	worksheet_write_formula_num(ws, 2, 1, "=1+2", NULL, 3);
	worksheet_write_number(ws, 2, 2, 1234.5, NULL);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
	return path;
}

static void test_xlsx_libxlsxwriter(void **state)
{
	(void)state;
	for (int cm = 0; cm <= 1; cm++) {
		char *path = xlsx_made(cm);
		struct collect c;
		struct imp_read_error e;
		struct imp_source src = { path, NULL, 0, IMP_FMT_AUTO };
		memset(&c, 0, sizeof c);
		assert_int_equal(imp_read(&src, collect_row, &c, NULL, NULL, &e), 0);
		assert_string_equal(c.out, "1|公民身份号码|name||age\n"
					   "2|#4.401061990051713E+17|张三, \"老张\"||#34|true\n"
					   "3|2020-01-05|#3|#1234.5\n");
		free(path);
	}
}

/* A zip in memory with the given parts (name, text pairs, NULL-terminated). */
static void *zip_parts(const char *const *parts, size_t *len)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *zs = zip_source_buffer_create(NULL, 0, 0, &ze);
	assert_non_null(zs);
	zip_source_keep(zs);
	zip_t *za = zip_open_from_source(zs, ZIP_TRUNCATE, &ze);
	assert_non_null(za);
	for (int i = 0; parts[i] != NULL; i += 2) {
		zip_source_t *s = zip_source_buffer(za, parts[i + 1], strlen(parts[i + 1]), 0);
		assert_true(zip_file_add(za, parts[i], s, ZIP_FL_ENC_UTF_8) >= 0);
	}
	assert_int_equal(zip_close(za), 0);
	zip_stat_t st;
	assert_int_equal(zip_source_stat(zs, &st), 0);
	void *out = malloc(st.size);
	assert_int_equal(zip_source_open(zs), 0);
	assert_int_equal(zip_source_read(zs, out, st.size), (zip_int64_t)st.size);
	zip_source_close(zs);
	zip_source_free(zs);
	*len = st.size;
	return out;
}

static const char WB[] =
	"<?xml version=\"1.0\"?><x:workbook xmlns:x=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
	"xmlns:rel=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
	"<x:workbookPr date1904=\"1\"/><x:sheets><x:sheet name=\"A\" sheetId=\"3\" rel:id=\"rId7\"/>"
	"<x:sheet name=\"B\" sheetId=\"1\" rel:id=\"rId1\"/></x:sheets></x:workbook>";
static const char RELS[] =
	"<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	"<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/other.xml\"/>"
	"<Relationship Id=\"rId7\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"/xl/worksheets/../worksheets/first.xml\"/>"
	"<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings\" Target=\"strings.xml\"/>"
	"<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
	"</Relationships>";
static const char SST[] =
	"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
	"<si><t>id_no</t></si>"
	"<si><r><t>na</t></r><r><rPr><b/></rPr><t>me</t></r><rPh><t>ミ</t></rPh></si>"
	"<si><t xml:space=\"preserve\">a_x000D_b _x005F_x000D_</t></si>"
	"</sst>";
static const char STYLES[] =
	"<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
	"<numFmts><numFmt numFmtId=\"170\" formatCode=\"[$-804]yyyy/mm/dd;@\"/><numFmt numFmtId=\"171\" "
	"formatCode=\"h:mm\"/></numFmts>"
	"<cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"170\"/><xf numFmtId=\"171\"/><xf numFmtId=\"14\"/></cellXfs>"
	"</styleSheet>";
static const char SHEET[] =
	"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
	"<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"C1\" t=\"s\"><v>1</v></c></row>"
	"<row r=\"4\"><c r=\"A4\" t=\"inlineStr\"><is><t>in</t><r><t>line</t></r></is></c>"
	"<c r=\"B4\" t=\"s\"><v>2</v></c><c r=\"C4\"><f>SUM(A1:A2)</f></c><c r=\"D4\" t=\"e\"><v>#N/A</v></c></row>"
	"<row r=\"5\"><c r=\"A5\" s=\"1\"><v>0</v></c><c r=\"B5\" s=\"2\"><v>43835</v></c><c r=\"C5\" s=\"3\"><v>1.5</v></c>"
	"<c r=\"D5\" t=\"str\"><f>A1</f><v>x</v></c><c r=\"E5\" t=\"b\"><v>0</v></c></row>"
	"<row r=\"6\"><c r=\"B6\" s=\"1\"/></row>"
	"</sheetData></worksheet>";

static void test_xlsx_handmade(void **state)
{
	(void)state;
	const char *parts[] = { "xl/workbook.xml", WB, "xl/_rels/workbook.xml.rels", RELS, "xl/strings.xml", SST,
				"xl/styles.xml", STYLES, "xl/worksheets/first.xml", SHEET,
				"xl/worksheets/other.xml", "<worksheet/>", NULL };
	size_t len = 0;
	void *z = zip_parts(parts, &len);
	struct collect c;
	struct imp_read_error e;
	assert_int_equal(read_mem(z, len, &c, &e), 0);
	/* date1904: serial 0 is 1904-01-01; a time format is not a date; row 6 is empty */
	assert_string_equal(c.out, "1|id_no||name\n"
				   "4|inline|a\rb _x000D_|<bad:IMP_XLSX_FORMULA>|<bad:IMP_XLSX_ERROR_CELL>\n"
				   "5|1904-01-01|#43835|#1.5|x|false\n");
	free(z);

	/* a DOCTYPE is refused; a zip without a workbook is not a workbook */
	const char *doctype[] = { "xl/workbook.xml", "<!DOCTYPE x [<!ENTITY a \"b\">]><workbook/>", NULL };
	z = zip_parts(doctype, &len);
	assert_int_equal(read_mem(z, len, &c, &e), -1);
	assert_int_equal(e.why, MSG_IMP_XLSX_BAD);
	free(z);
	const char *nothing[] = { "readme.txt", "hello", NULL };
	z = zip_parts(nothing, &len);
	assert_int_equal(read_mem(z, len, &c, &e), -1);
	assert_int_equal(e.why, MSG_IMP_XLSX_BAD);
	free(z);
	/* a truncated zip */
	static const char trunc[] = "PK\x03\x04garbage";
	assert_int_equal(read_mem(trunc, sizeof trunc - 1, &c, &e), -1);
	assert_int_equal(e.why, MSG_IMP_XLSX_BAD);
}

/* ------------------------------------------------------------ the world */

static const char PEOPLE[] =
	"registry people\n"
	"name 测试人口库\n"
	"owner psb\n"
	"key id_no\n"
	"share conditional \"仅用于测试\"\n"
	"field id_no 公民身份号码 idcard required personal source=psb\n"
	"field name 姓名 text(20) required personal source=psb\n"
	"field age 年龄 integer source=psb\n"
	"field income 月收入 decimal(2) source=psb\n"
	"field birth 出生日期 date source=psb\n"
	"field married 已婚 boolean source=psb\n"
	"field sex 性别 enum(男|女) source=psb\n"
	"field phone 联系电话 phone personal source=psb\n";

static struct store *ST;
static const struct registry *REG;
static const struct reg_actor WHO = { 0, "test", "import:test" };

static const char SQL_DEPT[] = "INSERT INTO departments (code, name, level, created_at, updated_at) "
			       "VALUES ($1, $2, 'city', 0, 0) RETURNING id";
static const char SQL_HISTORY[] = "SELECT COUNT(*) FROM reg_history WHERE registry_id = $1";

static int setup(void **state)
{
	(void)state;
	int64_t id = 0;
	ST = test_store_open();
	assert_int_equal(store_migrate(ST), 0);
	assert_int_equal(store_begin(ST), STORE_OK);
	struct sval d[] = { SVT("psb"), SVT("公安局") };
	assert_int_equal(store_query_int(ST, SQL_DEPT, d, 2, &id), STORE_OK);
	struct reg_error e = { 0 };
	struct reg_actor sys = { 0, "system", "test:1" };
	if (registry_apply(ST, PEOPLE, strlen(PEOPLE), &sys, &e) != 0)
		fail_msg("registry_apply: %s %s %s", msg_name(e.why), e.field, e.detail);
	assert_int_equal(store_commit(ST), STORE_OK);
	REG = registry_get(ST, "people");
	assert_non_null(REG);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_close(ST);
	return 0;
}

/* Runs both passes on data; res is filled (release it). Returns whether pass 2 ran. */
static int import_mem(const char *data, size_t len, enum imp_mode mode, struct imp_result *res)
{
	struct imp_source src = { NULL, data, len, IMP_FMT_AUTO };
	struct imp_opts o = { mode, NULL, NULL, NULL, NULL };
	struct imp_plan *plan = NULL;
	assert_int_equal(imp_check(REG, &src, &o, &plan, res), 0);
	int wrote = 0;
	if (imp_should_write(plan, res)) {
		struct reg_error e;
		assert_int_equal(store_begin(ST), STORE_OK);
		if (imp_write(ST, REG, plan, &o, &WHO, res, &e) != 0)
			fail_msg("imp_write: %s %s", msg_name(e.why), e.field);
		assert_int_equal(store_commit(ST), STORE_OK);
		wrote = 1;
	}
	imp_plan_free(plan);
	return wrote;
}

static int import_str(const char *csv, enum imp_mode mode, struct imp_result *res)
{
	return import_mem(csv, strlen(csv), mode, res);
}

/* The error entry i: "row|field|reason|value". */
static void err_is(const struct imp_result *res, size_t i, int64_t row, const char *field, enum msg_id why,
		   const char *value)
{
	json_t *e = json_array_get(res->errors, i);
	if (e == NULL)
		fail_msg("no error entry %zu (%zu entries)", i, json_array_size(res->errors));
	assert_int_equal(json_integer_value(json_object_get(e, "row")), row);
	assert_string_equal(json_string_value(json_object_get(e, "field")), field);
	if (why != MSG_NONE && strcmp(json_string_value(json_object_get(e, "reason")), msg(why)) != 0)
		fail_msg("entry %zu: reason \"%s\", want %s \"%s\"", i,
			 json_string_value(json_object_get(e, "reason")), msg_name(why), msg(why));
	if (value != NULL)
		assert_string_equal(json_string_value(json_object_get(e, "value")), value);
}

static int64_t count(void)
{
	return registry_count(ST, REG);
}

static json_t *record(const char *key)
{
	struct reg_view all = { NULL, 1 };
	return registry_get_record(ST, REG, key, &all);
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ------------------------------------------------------------ import */

static void test_header_errors(void **state)
{
	(void)state;
	struct imp_result res;
	int64_t before = count();
	/* unknown column, a column twice (once by name, once by label), required name missing */
	import_str("id_no,年龄,age,colour\n110101199003071230,1,2,red\n", IMP_SKIP_INVALID, &res);
	assert_true(res.header_bad);
	assert_false(res.written);
	assert_int_equal(json_array_size(res.errors), 3);
	err_is(&res, 0, 1, "age", MSG_IMP_COL_DUP, "age");
	err_is(&res, 1, 1, "colour", MSG_IMP_COL_UNKNOWN, "colour");
	err_is(&res, 2, 1, "name", MSG_IMP_COL_MISSING, "");
	imp_result_release(&res);
	/* the key column missing */
	import_str("姓名\n张三\n", IMP_ALL_OR_NOTHING, &res);
	assert_true(res.header_bad);
	err_is(&res, 0, 1, "id_no", MSG_IMP_COL_MISSING, NULL);
	imp_result_release(&res);
	/* an empty file */
	import_str("", IMP_ALL_OR_NOTHING, &res);
	assert_true(res.header_bad);
	err_is(&res, 0, 0, "", MSG_IMP_FILE_EMPTY, NULL);
	imp_result_release(&res);
	assert_int_equal(count(), before);
}

static void test_type_errors_all_or_nothing(void **state)
{
	(void)state;
	char a[19], b[19], c[19], bad_check[19];
	make_id(a, "11010119900307", 101);
	make_id(b, "11010119900307", 102);
	make_id(c, "11010119900307", 103);
	make_id(bad_check, "11010119900307", 104);
	bad_check[17] = bad_check[17] == '0' ? '1' : '0';
	char csv[2048];
	snprintf(csv, sizeof csv,
		 "公民身份号码,姓名,年龄,月收入,出生日期,已婚,性别,联系电话\r\n"
		 "%s,张三,34,1234.5,1990-03-07,是,男,13812345678\r\n"          /* row 2: good */
		 "%s,李四,12.0,1234.567,2026/11/22,maybe,未知,12345\r\n"        /* row 3: six bad */
		 "%s, 王五,,,,,,\r\n"                                          /* row 4: spaces */
		 "%s,赵六,,,,,,\r\n"                                           /* row 5: bad check char */
		 "%s,,,,,,,\r\n",                                              /* row 6: name required */
		 a, b, c, bad_check, c);
	struct imp_result res;
	int64_t before = count();
	assert_int_equal(import_str(csv, IMP_ALL_OR_NOTHING, &res), 0);
	assert_int_equal(res.rows, 5);
	assert_int_equal(res.invalid, 4);
	assert_false(res.written);
	assert_int_equal(count(), before);      /* nothing written */
	err_is(&res, 0, 3, "age", MSG_REG_NOT_INTEGER, "12.0");
	err_is(&res, 1, 3, "income", MSG_REG_DECIMAL_SCALE, "1234.567");
	err_is(&res, 2, 3, "birth", MSG_REG_BAD_DATE, "2026/11/22");
	err_is(&res, 3, 3, "married", MSG_REG_NOT_BOOLEAN, "maybe");
	err_is(&res, 4, 3, "sex", MSG_REG_BAD_ENUM, "未知");
	err_is(&res, 5, 3, "phone", MSG_REG_BAD_PHONE, "****");     /* personal: masked */
	err_is(&res, 6, 4, "name", MSG_REG_SPACES, NULL);
	err_is(&res, 7, 5, "id_no", MSG_IDCARD_CHECK, NULL);
	/* the value of a personal field is masked */
	char masked[32];
	snprintf(masked, sizeof masked, "%.6s********%s", bad_check, bad_check + 14);
	err_is(&res, 7, 5, "id_no", MSG_NONE, masked);
	/* row 6: the key duplicates row 4's, and the name is missing */
	err_is(&res, 8, 6, "id_no", MSG_NONE, NULL);
	assert_non_null(strstr(jstr(json_array_get(res.errors, 8), "reason"), "第 4 行"));
	err_is(&res, 9, 6, "name", MSG_REG_REQUIRED, NULL);
	assert_int_equal(res.errors_total, 10);
	json_t *j = imp_result_json(&res);
	assert_int_equal(json_integer_value(json_object_get(j, "invalid")), 4);
	assert_false(json_is_true(json_object_get(j, "errors_truncated")));
	json_decref(j);
	imp_result_release(&res);

	/* skip-invalid writes the good row only */
	assert_int_equal(import_str(csv, IMP_SKIP_INVALID, &res), 1);
	assert_int_equal(res.inserted, 1);
	assert_int_equal(res.invalid, 4);
	assert_int_equal(count(), before + 1);
	json_t *r = record(a);
	assert_non_null(r);
	assert_string_equal(jstr(r, "income"), "1234.50");
	assert_string_equal(jstr(r, "sex"), "男");
	json_decref(r);
	r = record(b);
	assert_null(r);
	imp_result_release(&res);
}

static void test_reimport_history_and_missing_columns(void **state)
{
	(void)state;
	char a[19], b[19], csv[1024];
	make_id(a, "11010119850101", 201);
	make_id(b, "11010119850101", 202);
	snprintf(csv, sizeof csv, "id_no,name,age,phone\n%s,甲,30,13800000001\n%s,乙,40,\n", a, b);
	struct imp_result res;
	struct sval p[] = { SVI(REG->id) };
	int64_t h0 = 0, h1 = 0;
	assert_int_equal(store_query_int(ST, SQL_HISTORY, p, 1, &h0), STORE_OK);
	assert_int_equal(import_str(csv, IMP_ALL_OR_NOTHING, &res), 1);
	assert_int_equal(res.inserted, 2);
	imp_result_release(&res);
	/* the same file again: unchanged */
	assert_int_equal(import_str(csv, IMP_ALL_OR_NOTHING, &res), 1);
	assert_int_equal(res.unchanged, 2);
	assert_int_equal(res.inserted + res.updated, 0);
	imp_result_release(&res);
	/* without the phone column: a's phone stays; b's age changes (one history row) */
	snprintf(csv, sizeof csv, "name,id_no,age\n甲,%s,30\n乙,%s,41\n", a, b);
	assert_int_equal(import_str(csv, IMP_ALL_OR_NOTHING, &res), 1);
	assert_int_equal(res.updated, 1);
	assert_int_equal(res.unchanged, 1);
	imp_result_release(&res);
	json_t *r = record(a);
	assert_string_equal(jstr(r, "phone"), "13800000001");
	json_decref(r);
	r = record(b);
	assert_string_equal(jstr(r, "age"), "41");
	json_decref(r);
	assert_int_equal(store_query_int(ST, SQL_HISTORY, p, 1, &h1), STORE_OK);
	assert_int_equal(h1, h0 + 1);
	/* the history names the import as its source */
	struct reg_view all = { NULL, 1 };
	json_t *h = registry_history(ST, REG, b, &all);
	assert_non_null(h);
	json_t *ch = json_array_get(json_object_get(h, "changes"), 0);
	assert_string_equal(jstr(ch, "source"), "import:test");
	json_decref(h);
}

static void test_duplicate_and_width(void **state)
{
	(void)state;
	char a[19], csv[1024];
	make_id(a, "11010119700101", 301);
	snprintf(csv, sizeof csv, "id_no,name\n%s,一\n%s,二\n%s,三,多\n", a, a, a);
	struct imp_result res;
	import_str(csv, IMP_SKIP_INVALID, &res);
	assert_int_equal(res.invalid, 2);
	err_is(&res, 0, 3, "id_no", MSG_NONE, NULL);
	assert_non_null(strstr(jstr(json_array_get(res.errors, 0), "reason"), "第 2 行"));
	err_is(&res, 1, 4, "", MSG_IMP_ROW_WIDER, NULL);
	/* the first row was written, the later duplicates were not */
	json_t *r = record(a);
	assert_string_equal(jstr(r, "name"), "一");
	json_decref(r);
	imp_result_release(&res);
}

static void test_xlsx_import(void **state)
{
	(void)state;
	char a[19], b[19];
	make_id(a, "44010619900517", 123);
	make_id(b, "44010619900517", 124);
	char *path = tmp_path("people.xlsx");
	lxw_workbook *wb = workbook_new(path);
	lxw_worksheet *ws = workbook_add_worksheet(wb, NULL);
	lxw_format *date = workbook_add_format(wb);
	format_set_num_format(date, "yyyy-mm-dd");
	worksheet_write_string(ws, 0, 0, "公民身份号码", NULL);
	worksheet_write_string(ws, 0, 1, "姓名", NULL);
	worksheet_write_string(ws, 0, 2, "出生日期", NULL);
	worksheet_write_string(ws, 0, 3, "月收入", NULL);
	worksheet_write_string(ws, 0, 4, "已婚", NULL);
	worksheet_write_string(ws, 0, 5, "联系电话", NULL);
	worksheet_write_string(ws, 1, 0, a, NULL);
	worksheet_write_string(ws, 1, 1, "陈小梅", NULL);
	lxw_datetime dt = { 1990, 5, 17, 0, 0, 0 };
	worksheet_write_datetime(ws, 1, 2, &dt, date);
	worksheet_write_number(ws, 1, 3, 8800.5, NULL);
	worksheet_write_boolean(ws, 1, 4, 0, NULL);
	worksheet_write_number(ws, 1, 5, 13912345678.0, NULL);   /* a number, but exactly the text */
	/* an identifier typed as a number: Excel keeps 4.4E+17, never the text */
	worksheet_write_number(ws, 2, 0, 440106199005171240.0, NULL);
	worksheet_write_string(ws, 2, 1, "数字号", NULL);
	worksheet_write_string(ws, 3, 0, b, NULL);
	worksheet_write_string(ws, 3, 1, "公式", NULL);
	worksheet_write_formula_num(ws, 3, 3, "=1/3", NULL, 1.0 / 3.0);
	assert_int_equal(workbook_close(wb), LXW_NO_ERROR);

	struct imp_source src = { path, NULL, 0, IMP_FMT_AUTO };
	struct imp_opts o = { IMP_SKIP_INVALID, NULL, NULL, NULL, NULL };
	struct imp_plan *plan = NULL;
	struct imp_result res;
	assert_int_equal(imp_check(REG, &src, &o, &plan, &res), 0);
	assert_int_equal(res.rows, 3);
	assert_int_equal(res.invalid, 2);
	err_is(&res, 0, 3, "id_no", MSG_IMP_XLSX_NUMBER, NULL);
	err_is(&res, 1, 4, "income", MSG_REG_DECIMAL_SCALE, "0.3333333333333333");
	assert_true(imp_should_write(plan, &res));
	struct reg_error e;
	assert_int_equal(store_begin(ST), STORE_OK);
	assert_int_equal(imp_write(ST, REG, plan, &o, &WHO, &res, &e), 0);
	assert_int_equal(store_commit(ST), STORE_OK);
	assert_int_equal(res.inserted, 1);
	imp_plan_free(plan);
	imp_result_release(&res);
	json_t *r = record(a);
	assert_non_null(r);
	assert_string_equal(jstr(r, "birth"), "1990-05-17");
	assert_string_equal(jstr(r, "income"), "8800.50");
	assert_string_equal(jstr(r, "phone"), "13912345678");
	json_t *m = json_object_get(r, "married");
	assert_true(json_is_false(m) || (json_is_string(m) && strcmp(json_string_value(m), "false") == 0));
	json_decref(r);
	free(path);
}

/* The file changed between the passes: nothing is half-written with other rows. */
static void test_file_changed(void **state)
{
	(void)state;
	char a[19], csv[256];
	make_id(a, "11010119600101", 401);
	snprintf(csv, sizeof csv, "id_no,name\n%s,原\n", a);
	char *path = tmp_path("changing.csv");
	write_file(path, csv, strlen(csv));
	struct imp_source src = { path, NULL, 0, IMP_FMT_AUTO };
	struct imp_opts o = { IMP_ALL_OR_NOTHING, NULL, NULL, NULL, NULL };
	struct imp_plan *plan = NULL;
	struct imp_result res;
	assert_int_equal(imp_check(REG, &src, &o, &plan, &res), 0);
	snprintf(csv, sizeof csv, "id_no,name,age\n%s,改,1\n", a);
	write_file(path, csv, strlen(csv));
	struct reg_error e;
	assert_int_equal(store_begin(ST), STORE_OK);
	assert_int_equal(imp_write(ST, REG, plan, &o, &WHO, &res, &e), -1);
	assert_int_equal(e.why, MSG_IMP_FILE_CHANGED);
	store_rollback(ST);
	imp_plan_free(plan);
	imp_result_release(&res);
	assert_null(record(a));
	free(path);
}

/* Progress every 1000 rows and the batch hook every IMP_BATCH rows, on a generated file. */
struct counts {
	int progress1, progress2, batches;
};
static void count_progress(void *arg, int phase, int64_t rows, int64_t est)
{
	struct counts *c = arg;
	(void)rows, (void)est;
	if (phase == 1)
		c->progress1++;
	else
		c->progress2++;
}
static int count_batch(void *arg, int64_t rows)
{
	struct counts *c = arg;
	(void)rows;
	c->batches++;
	if (store_commit(ST) != STORE_OK)
		return -1;
	return store_begin(ST) == STORE_OK ? 0 : -1;
}

static void test_many_rows(void **state)
{
	(void)state;
	int n = 12000;
	size_t cap = (size_t)n * 64 + 64, o = 0;
	char *csv = malloc(cap);
	o += (size_t)snprintf(csv + o, cap - o, "id_no,name,age\n");
	for (int i = 0; i < n; i++) {
		char id[19], first14[24];
		snprintf(first14, sizeof first14, "32010219800%03u", (unsigned)(i / 1000 + 101) % 1000u);
		make_id(id, first14, i % 1000);
		o += (size_t)snprintf(csv + o, cap - o, "%s,某%d,%d\n", id, i, i % 100);
	}
	struct counts c = { 0 };
	struct imp_source src = { NULL, csv, o, IMP_FMT_CSV };
	struct imp_opts opt = { IMP_ALL_OR_NOTHING, count_progress, &c, count_batch, &c };
	struct imp_plan *plan = NULL;
	struct imp_result res;
	int64_t before = count();
	assert_int_equal(imp_check(REG, &src, &opt, &plan, &res), 0);
	assert_int_equal(res.rows, n);
	assert_int_equal(res.invalid, 0);
	assert_true(c.progress1 >= n / 1000);
	struct reg_error e;
	assert_int_equal(store_begin(ST), STORE_OK);
	assert_int_equal(imp_write(ST, REG, plan, &opt, &WHO, &res, &e), 0);
	assert_int_equal(store_commit(ST), STORE_OK);
	assert_int_equal(res.inserted, n);
	assert_int_equal(c.batches, n / IMP_BATCH);
	assert_true(c.progress2 >= n / 1000);
	assert_int_equal(count(), before + n);
	imp_plan_free(plan);
	imp_result_release(&res);
	free(csv);
}

/* More than IMP_MAX_ERRORS problems: the first 1000 kept, all counted. */
static void test_error_cap(void **state)
{
	(void)state;
	size_t cap = 1300 * 32, o = 0;
	char *csv = malloc(cap);
	o += (size_t)snprintf(csv + o, cap - o, "id_no,name\n");
	for (int i = 0; i < 1200; i++)
		o += (size_t)snprintf(csv + o, cap - o, "bad%d,x\n", i);
	struct imp_result res;
	import_mem(csv, o, IMP_ALL_OR_NOTHING, &res);
	assert_int_equal(res.invalid, 1200);
	assert_int_equal(res.errors_total, 1200);
	assert_int_equal(json_array_size(res.errors), IMP_MAX_ERRORS);
	json_t *j = imp_result_json(&res);
	assert_true(json_is_true(json_object_get(j, "errors_truncated")));
	json_decref(j);
	imp_result_release(&res);
	free(csv);
}

/* ------------------------------------------------------------ export */

static void test_export_formats(void **state)
{
	(void)state;
	char a[19], f[19], csv[512];
	make_id(a, "11010119550101", 501);
	make_id(f, "11010119550101", 503);
	snprintf(csv, sizeof csv,
		 "id_no,name,age,income,birth,married,sex,phone\n"
		 "%s,\"逗号,与\"\"引号\"\"\",-7,12345678901.25,1955-01-01,true,女,010-12345678\n"
		 "%s,=SUM(1+2),-3,-0.50,,,,\n",
		 a, f);
	struct imp_result res;
	assert_int_equal(import_str(csv, IMP_ALL_OR_NOTHING, &res), 1);
	assert_int_equal(res.invalid, 0);
	imp_result_release(&res);
	int64_t total = count();

	/* CSV: BOM, field names, RFC 4180 quoting, CRLF */
	char *path = tmp_path("out.csv");
	int64_t rows = 0;
	enum msg_id why;
	assert_int_equal(registry_export(ST, REG, EXP_CSV, NULL, path, NULL, NULL, &rows, &why), 0);
	assert_int_equal(rows, total);
	char *text = read_file(path, NULL);
	static const char head[] = "\xEF\xBB\xBFid_no,name,age,income,birth,married,sex,phone\r\n";
	assert_memory_equal(text, head, sizeof head - 1);
	char line[256];
	snprintf(line, sizeof line, "%s,\"逗号,与\"\"引号\"\"\",-7,12345678901.25,1955-01-01,true,女,010-12345678\r\n", a);
	assert_non_null(strstr(text, line));
	/* text that a spreadsheet would run as a formula goes behind an apostrophe; numbers stay numbers */
	snprintf(line, sizeof line, "%s,\"'=SUM(1+2)\",-3,-0.50,,,,\r\n", f);
	assert_non_null(strstr(text, line));
	free(text);
	/* and the CSV reads back unchanged (the apostrophe taken off) */
	struct imp_source back = { path, NULL, 0, IMP_FMT_AUTO };
	struct imp_opts o = { IMP_ALL_OR_NOTHING, NULL, NULL, NULL, NULL };
	struct imp_plan *plan = NULL;
	assert_int_equal(imp_check(REG, &back, &o, &plan, &res), 0);
	assert_int_equal(res.invalid, 0);
	struct reg_error e;
	assert_int_equal(store_begin(ST), STORE_OK);
	assert_int_equal(imp_write(ST, REG, plan, &o, &WHO, &res, &e), 0);
	assert_int_equal(store_commit(ST), STORE_OK);
	assert_int_equal(res.unchanged, total);
	imp_plan_free(plan);
	imp_result_release(&res);
	free(path);

	/* JSON: typed values, a masked view limited to two fields */
	path = tmp_path("out.json");
	const char *fields[] = { "id_no", "age", "married", NULL };
	struct reg_view masked = { fields, 0 };
	assert_int_equal(registry_export(ST, REG, EXP_JSON, &masked, path, NULL, NULL, &rows, &why), 0);
	text = read_file(path, NULL);
	json_error_t je;
	json_t *arr = json_loads(text, 0, &je);
	if (arr == NULL)
		fail_msg("export JSON does not parse: %s: %s", je.text, text);
	assert_int_equal(json_array_size(arr), (size_t)total);
	size_t i;
	json_t *it;
	int found = 0;
	char want[32];
	snprintf(want, sizeof want, "%.6s********%s", a, a + 14);
	json_array_foreach(arr, i, it) {
		assert_int_equal(json_object_size(it), 3);
		if (strcmp(jstr(it, "id_no"), want) == 0) {
			found = 1;
			assert_int_equal(json_integer_value(json_object_get(it, "age")), -7);
			assert_true(json_is_true(json_object_get(it, "married")));
		}
	}
	assert_true(found);
	json_decref(arr);
	free(text);
	free(path);

	/* XLSX: constant memory, reads back through the importer unchanged */
	path = tmp_path("out.xlsx");
	assert_int_equal(registry_export(ST, REG, EXP_XLSX, NULL, path, NULL, NULL, &rows, &why), 0);
	assert_int_equal(rows, total);
	struct stat sb;
	char *part = tmp_path("out.xlsx.part");
	assert_int_equal(stat(part, &sb), -1);     /* renamed into place */
	free(part);
	struct imp_source xs = { path, NULL, 0, IMP_FMT_AUTO };
	assert_int_equal(imp_check(REG, &xs, &o, &plan, &res), 0);
	if (res.invalid != 0)
		fail_msg("exported XLSX re-import: %s", json_dumps(res.errors, 0));
	assert_int_equal(store_begin(ST), STORE_OK);
	assert_int_equal(imp_write(ST, REG, plan, &o, &WHO, &res, &e), 0);
	assert_int_equal(store_commit(ST), STORE_OK);
	assert_int_equal(res.unchanged, total);
	imp_plan_free(plan);
	imp_result_release(&res);
	/* the header uses labels, the identifier is a text cell */
	struct collect c;
	struct imp_read_error re;
	memset(&c, 0, sizeof c);
	assert_int_equal(imp_read(&xs, collect_row, &c, NULL, NULL, &re), 0);
	assert_non_null(strstr(c.out, "1|公民身份号码|姓名|年龄|月收入|出生日期|已婚|性别|联系电话\n"));
	snprintf(line, sizeof line, "|%s|逗号,与\"引号\"|#-7|#12345678901.25|1955-01-01|true|女|010-12345678\n", a);
	assert_non_null(strstr(c.out, line));
	free(path);
	/* unknown format */
	assert_int_equal(registry_export(ST, REG, (enum exp_format)7, NULL, "/nonexistent/x", NULL, NULL, &rows, &why),
			 -1);
	assert_int_equal(why, MSG_EXP_BAD_FORMAT);
	assert_int_equal(exp_format_parse("xlsx"), EXP_XLSX);
	assert_int_equal(exp_format_parse("xls"), -1);
}

static void test_msg_fill(void **state)
{
	(void)state;
	char out[256];
	imp_msg_fill(out, sizeof out, MSG_IMP_DUP_KEY, 1, "7");
	assert_non_null(strstr(out, "第 7 行"));
	imp_msg_fill(out, 8, MSG_IMP_DUP_KEY, 1, "7");
	assert_true(strlen(out) < 8);
}

int main(void)
{
	TMP = test_tmpdir();
	const struct CMUnitTest readers[] = {
		cmocka_unit_test(test_csv_quoting),
		cmocka_unit_test(test_csv_malformed),
		cmocka_unit_test(test_xlsx_libxlsxwriter),
		cmocka_unit_test(test_xlsx_handmade),
		cmocka_unit_test(test_msg_fill),
	};
	const struct CMUnitTest imports[] = {
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_type_errors_all_or_nothing),
		cmocka_unit_test(test_reimport_history_and_missing_columns),
		cmocka_unit_test(test_duplicate_and_width),
		cmocka_unit_test(test_xlsx_import),
		cmocka_unit_test(test_file_changed),
		cmocka_unit_test(test_many_rows),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_export_formats),
	};
	int failed = cmocka_run_group_tests_name("registry import readers", readers, NULL, NULL);
	failed += cmocka_run_group_tests_name("registry import and export", imports, setup, teardown);
	return failed;
}
