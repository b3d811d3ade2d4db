/*
 * The deterministic demo city (see gen.h) and `yizhan demo-data`.
 *
 * Randomness: splitmix64 streams keyed by (seed, stream tag, index), so
 * each record draws from its own stream and its values never depend on the
 * order of generation or on anything but (persons, seed).  Uniqueness of
 * keys comes from keyed Feistel permutations (cycle-walking onto the exact
 * domain), which map 0..n-1 one-to-one onto a slot space: distinct indexes
 * give distinct 身份证号, 统一社会信用代码, plates and account numbers
 * without remembering any of them.
 */
#include "apps/share/gen.h"
#include "apps/share/share_int.h"
#include "core/audit.h"
#include "core/csvw.h"
#include "core/embed.h"
#include "core/log.h"
#include "core/validate.h"
#include "core/xalloc.h"
#include "engines/registry/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const struct gen_table gen_tables[GEN__MAX] = {
	[GEN_POPULATION] = { "population",
			     { "id_no", "name", "sex", "birth_date", "address", "phone", "household_no" }, 7 },
	[GEN_ENTERPRISE] = { "enterprise",
			     { "uscc", "name", "legal_rep_id", "legal_rep_name", "reg_capital", "est_date",
			       "address", "status" }, 8 },
	[GEN_HOUSING] = { "housing", { "cert_no", "owner_id", "address", "area", "usage", "reg_date" }, 6 },
	[GEN_VEHICLE] = { "vehicle", { "plate_no", "owner_id", "vin", "brand", "reg_date" }, 5 },
	[GEN_DEPOSIT] = { "deposit", { "account_no", "owner_id", "bank", "open_date", "balance" }, 5 },
	[GEN_PFUND] = { "pfund", { "account_no", "owner_id", "open_date", "balance", "status" }, 5 },
};

/* ---------------------------------------------------------------- randomness */

/* Stream tags: one per kind of draw. */
enum {
	S_ID = 1, S_HOUSEHOLD, S_SURNAME, S_GIVEN, S_ADDR, S_PHONE, S_REP, S_PLANT, S_USCC_PERM,
	S_ENT, S_ENAME_PERM, S_MISS_PERM, S_MISS, S_HOUSE, S_CAR, S_PLATE_PERM, S_DEP,
	S_ACCT_PERM, S_PF, S_PFACCT_PERM,
};

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct rng {
	uint64_t s;
};

static void rng_init(struct rng *r, uint64_t seed, uint64_t tag, uint64_t idx)
{
	r->s = mix64(seed ^ mix64(tag * 0xd1b54a32d192ed03ull ^ mix64(idx)));
}

static uint64_t rng_next(struct rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n < 2^32. */
static uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, n) for any n > 0 (modulo bias below 2^-20 for the sizes used here). */
static uint64_t rng_below64(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Index into a table of weights. */
static int rng_weighted(struct rng *r, const int *w, int n)
{
	int total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	int x = (int)rng_below(r, (uint32_t)total);
	for (int i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

/* A keyed permutation of [0, n): 4-round Feistel on 2*hb bits, cycle-walking into range. */
struct perm {
	uint64_t n, mask;
	int hb;
	uint64_t key[4];
};

static void perm_init(struct perm *p, uint64_t n, uint64_t seed, uint64_t tag)
{
	p->n = n;
	p->hb = 1;
	while (p->hb < 31 && ((uint64_t)1 << (2 * p->hb)) < n)
		p->hb++;
	p->mask = ((uint64_t)1 << p->hb) - 1;
	for (int i = 0; i < 4; i++)
		p->key[i] = mix64(seed ^ mix64(tag * 0x9e3779b97f4a7c15ull + (uint64_t)i));
}

static uint64_t perm_at(const struct perm *p, uint64_t x)
{
	do {
		uint64_t l = x >> p->hb, r = x & p->mask;
		for (int i = 0; i < 4; i++) {
			uint64_t nl = r;
			r = l ^ (mix64(r ^ p->key[i]) & p->mask);
			l = nl;
		}
		x = (l << p->hb) | r;
	} while (x >= p->n);
	return x;
}

/* ---------------------------------------------------------------- dates */

static int32_t days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	int doe = z - era * 146097;
	int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static void date_text(int32_t day, char out[11])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

static int year_of(int32_t day)
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	return y;
}

/* A day in the years y0..y1 (inclusive). */
static int32_t rng_day(struct rng *r, int y0, int y1)
{
	int32_t a = days_from_civil(y0, 1, 1), b = days_from_civil(y1 + 1, 1, 1);
	return a + (int32_t)rng_below(r, (uint32_t)(b - a));
}

/* ---------------------------------------------------------------- tables */

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 示范市's districts: 身份证 region code and name. */
static const struct {
	const char *code, *name;
} districts[] = {
	{ "440103", "东湖区" }, { "440104", "西关区" }, { "440105", "南江区" }, { "440106", "明珠区" },
	{ "440111", "北岭区" }, { "440112", "港湾区" }, { "440113", "新城区" }, { "440114", "花溪区" },
	{ "440115", "滨海区" }, { "440117", "青峰区" }, { "440118", "云台区" },
};

static const char *const streets[] = {
	"海滨街道", "新苑街道", "城东街道", "城西街道", "南湖街道", "北湖街道", "江南街道", "江北街道",
	"龙华街道", "金沙街道", "青山街道", "白云街道", "东湖街道", "凤凰街道", "翠竹街道", "望江街道",
	"长乐街道", "清平街道", "丰乐街道", "桂园街道",
};

static const char *const roads[] = {
	"新苑路", "人民路", "解放路", "中山路", "建设路", "和平路", "文化路", "学府路", "科技园路", "滨江路",
	"滨海大道", "南湖路", "东风路", "青年路", "光明路", "幸福路", "长安街", "迎宾大道", "工业大道", "创业路",
	"花园路", "育才路", "振兴路", "金融街", "明珠大道", "海港路", "凤凰路", "翠竹路", "桂花路", "紫荆路",
	"朝阳路", "胜利路", "友谊路", "建国路", "江南大道", "沿江路", "环城路", "天河路", "越秀路", "珠江路",
};

static const char *const towers[] = {
	"国际金融中心", "创业大厦", "科技大厦", "商务中心", "总部大厦", "环球中心", "世纪大厦", "明珠广场",
};

struct wname {
	const char *s;
	int w;
};

static const struct wname surnames[] = {
	{ "王", 720 }, { "李", 710 }, { "张", 690 }, { "刘", 540 }, { "陈", 450 }, { "杨", 320 }, { "黄", 230 },
	{ "赵", 220 }, { "吴", 200 }, { "周", 190 }, { "徐", 150 }, { "孙", 150 }, { "马", 140 }, { "朱", 130 },
	{ "胡", 130 }, { "郭", 120 }, { "何", 110 }, { "林", 110 }, { "罗", 100 }, { "高", 100 }, { "郑", 90 },
	{ "梁", 90 }, { "谢", 80 }, { "宋", 80 }, { "唐", 80 }, { "许", 70 }, { "韩", 70 }, { "冯", 70 },
	{ "邓", 70 }, { "曹", 70 }, { "彭", 60 }, { "曾", 60 }, { "肖", 60 }, { "田", 60 }, { "董", 50 },
	{ "袁", 50 }, { "潘", 50 }, { "于", 50 }, { "蒋", 50 }, { "蔡", 50 }, { "余", 50 }, { "杜", 50 },
	{ "叶", 50 }, { "程", 50 }, { "苏", 40 }, { "魏", 40 }, { "吕", 40 }, { "丁", 40 }, { "任", 40 },
	{ "沈", 40 }, { "姚", 40 }, { "卢", 40 }, { "姜", 40 }, { "崔", 40 }, { "钟", 40 }, { "谭", 40 },
	{ "陆", 40 }, { "汪", 30 }, { "范", 30 }, { "金", 30 }, { "石", 30 }, { "廖", 30 }, { "贾", 30 },
	{ "夏", 30 }, { "韦", 30 }, { "付", 30 }, { "方", 30 }, { "白", 30 }, { "邹", 30 }, { "孟", 30 },
	{ "熊", 30 }, { "秦", 30 }, { "邱", 30 }, { "江", 30 }, { "尹", 30 }, { "薛", 20 }, { "闫", 20 },
	{ "段", 20 }, { "雷", 20 }, { "侯", 20 }, { "龙", 20 }, { "史", 20 }, { "陶", 20 }, { "黎", 20 },
	{ "贺", 20 }, { "顾", 20 }, { "毛", 20 }, { "郝", 20 }, { "龚", 20 }, { "邵", 20 }, { "万", 20 },
	{ "钱", 20 }, { "严", 20 }, { "覃", 20 }, { "武", 20 }, { "戴", 20 }, { "莫", 20 }, { "孔", 20 },
	{ "向", 20 }, { "汤", 20 }, { "欧阳", 5 }, { "司马", 2 }, { "上官", 2 }, { "诸葛", 1 },
};

/* Given-name characters (each one UTF-8 character of 3 bytes). */
static const char *const given_m[] = {
	"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
	"鑫", "波", "宁", "健", "亮", "俊", "浩", "宇", "凯", "峰", "建", "国", "志", "文", "海", "林",
	"东", "晨", "阳", "博", "宏", "翔", "天", "睿", "轩", "然", "泽", "昊", "瑞", "凡", "锋", "毅",
	"忠", "成", "新", "龙", "德", "永", "荣", "斐",
};
static const char *const given_f[] = {
	"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "玲", "桂", "英", "红", "梅", "琳", "燕",
	"雪", "慧", "婷", "倩", "颖", "洁", "佳", "欣", "怡", "悦", "萍", "兰", "云", "月", "莉", "晶",
	"蕾", "璐", "琪", "雯", "瑶", "诗", "涵", "梦", "思", "雨", "晓", "薇", "丹", "妍", "婉", "嘉",
};
static const char *const middle_m[] = {
	"建", "志", "国", "文", "俊", "子", "浩", "宇", "家", "明", "永", "晓", "天", "海", "振", "立",
	"德", "嘉", "思", "博",
};
static const char *const middle_f[] = {
	"秀", "丽", "晓", "雅", "欣", "佳", "美", "婉", "思", "雨", "子", "诗", "静", "梦", "嘉", "玉",
	"春", "海", "紫", "若",
};

/* 字号 characters of enterprise names (no "信": 示范市华信科技有限公司 is the demo's own). */
static const char *const brand_chars[] = {
	"华", "鑫", "宏", "恒", "瑞", "博", "盛", "嘉", "佳", "德", "润", "泰", "丰", "中", "天", "金",
	"新", "达", "安", "昌", "远", "兴", "通", "海", "启", "智", "锦", "卓", "正", "和", "联", "合",
	"汇", "源", "创", "富", "利", "祥", "隆", "亿", "宇", "诚", "凯", "俊", "明", "辉", "腾", "飞",
	"龙", "鹏", "捷", "迅", "力", "永", "立", "广", "益", "顺", "康", "美", "星", "光", "云", "峰",
};
static const char *const industries[] = {
	"科技", "信息技术", "贸易", "商贸", "建筑工程", "装饰工程", "餐饮管理", "物流", "食品", "文化传媒",
	"机械设备", "医药", "电子", "环保科技", "教育咨询", "房地产开发", "物业管理", "网络科技", "生物科技",
	"新能源", "汽车销售", "服装", "家具", "印刷", "广告", "农业发展", "旅游开发", "供应链管理",
	"人力资源服务", "软件",
};

static const char *const mobile_prefix[] = {
	"130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
	"153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
	"181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
};

static const struct {
	const char *wmi, *model;
} car_models[] = {
	{ "LGX", "比亚迪 秦PLUS" }, { "LGX", "比亚迪 宋PLUS" }, { "LFV", "一汽-大众 速腾" },
	{ "LSV", "上汽大众 朗逸" }, { "LVG", "广汽丰田 凯美瑞" }, { "LHG", "广汽本田 雅阁" },
	{ "LB3", "吉利 帝豪" }, { "LS5", "长安 CS75" }, { "LGB", "东风日产 轩逸" },
	{ "LSG", "上汽通用别克 英朗" }, { "LZW", "上汽通用五菱 宏光MINI EV" }, { "LRW", "特斯拉 Model Y" },
	{ "LE4", "北京奔驰 C级" }, { "LBV", "华晨宝马 3系" }, { "LFV", "一汽奥迪 A4L" },
	{ "LGW", "长城 哈弗H6" }, { "LMG", "广汽传祺 GS4" }, { "LVH", "东风本田 CR-V" },
	{ "LFM", "一汽丰田 卡罗拉" }, { "LGX", "比亚迪 汉" },
};
static const int car_weights[] = { 9, 8, 8, 9, 6, 6, 7, 5, 7, 5, 6, 4, 2, 2, 2, 5, 3, 4, 6, 3 };

static const struct {
	const char *name, *bin;
	int w;
} banks[] = {
	{ "中国工商银行", "622202", 22 }, { "中国建设银行", "621700", 20 }, { "中国农业银行", "622848", 16 },
	{ "中国银行", "621661", 12 }, { "交通银行", "622260", 6 }, { "招商银行", "622588", 8 },
	{ "中国邮政储蓄银行", "621799", 7 }, { "广发银行", "622568", 3 }, { "兴业银行", "622909", 3 },
	{ "示范农村商业银行", "623595", 6 },
};

/* Piecewise-uniform tiers of amounts in cents: a skewed distribution without floating point. */
struct tier {
	int64_t lo, hi;
	int w;
};
static const struct tier deposit_tiers[] = {
	{ 0, 100000, 25 }, { 100000, 1000000, 33 }, { 1000000, 5000000, 22 },
	{ 5000000, 20000000, 12 }, { 20000000, 100000000, 6 }, { 100000000, 500000000, 2 },
};
static const struct tier pfund_tiers[] = {
	{ 0, 500000, 20 }, { 500000, 3000000, 35 }, { 3000000, 10000000, 30 },
	{ 10000000, 30000000, 12 }, { 30000000, 80000000, 3 },
};

static int64_t rng_tier(struct rng *r, const struct tier *t, int n)
{
	int w[8];
	for (int i = 0; i < n && i < 8; i++)
		w[i] = t[i].w;
	int k = rng_weighted(r, w, n);
	return t[k].lo + (int64_t)rng_below64(r, (uint64_t)(t[k].hi - t[k].lo));
}

static void cents_text(int64_t c, char out[32])
{
	snprintf(out, 32, "%lld.%02lld", (long long)(c / 100), (long long)(c % 100));
}

/* ---------------------------------------------------------------- the city */

#define REF_YEAR 2026          /* ages are counted at 2026-01-01, never at "today" */
#define SEQ_BASE 200           /* generated persons use sequence codes 200..999 */
#define SEQ_N 800
#define MISS_SEQ_N 100         /* planted, missing persons use 000..099; fixed ones 1xx */
#define BLOCK 8                /* households are cut inside aligned blocks of 8 persons */
#define HH_BASE 100            /* household numbers below this are the fixed ones' */
#define NFIXED 2               /* chen and her neighbour */
#define MAX_NAME_SLOTS 64

struct gen {
	uint64_t seed;
	int64_t persons, g;        /* g: generated persons (persons - NFIXED) */
	int64_t ents;              /* enterprises, huaxin included */
	int64_t p_missing, p_name;
	int32_t day0, ndays;       /* birth dates: 1930-01-01 .. 2020-12-31 */
	struct perm id_perm, rep_perm, miss_perm, plant_perm, uscc_perm, ename_perm, plate_perm, acct_perm, pf_perm;
	uint64_t ename_domain;
};

struct pcore {
	int64_t g;
	int32_t day;               /* birth date */
	int male;
	char id[19];
};

struct person {
	struct pcore c;
	char name[32];
	int64_t hh_start, hh_end, head;   /* household: persons [hh_start, hh_end), its head */
};

/* 身份证号 from a district, a birth day and a 3-digit sequence code. */
static void make_idcard(int district, int32_t day, int seq, char out[19])
{
	int y, m, d;
	civil_from_days(day, &y, &m, &d);
	snprintf(out, 19, "%.6s%04u%02u%02u%03u", districts[district].code, (unsigned)y % 10000u,
		 (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)seq % 1000u);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

static void pcore_of(const struct gen *G, int64_t g, struct pcore *p)
{
	uint64_t slot = perm_at(&G->id_perm, (uint64_t)g);
	int district = (int)(slot % (uint64_t)NELEM(districts));
	slot /= (uint64_t)NELEM(districts);
	int seq = SEQ_BASE + (int)(slot % SEQ_N);
	p->g = g;
	p->day = G->day0 + (int32_t)(slot / SEQ_N);
	p->male = seq % 2;
	make_idcard(district, p->day, seq, p->id);
}

static int born_between(int32_t day, int y0, int y1)
{
	return day >= days_from_civil(y0, 1, 1) && day < days_from_civil(y1 + 1, 1, 1);
}

static int is_adult(int32_t day)
{
	return day < days_from_civil(REF_YEAR - 18, 1, 1);
}

/* The household of generated person g: [start, end) inside g's block. */
static void household_of(const struct gen *G, int64_t g, int64_t *start, int64_t *end)
{
	static const int size_w[] = { 20, 28, 28, 16, 8 };   /* sizes 1..5 */
	int64_t b0 = g - g % BLOCK, bend = b0 + BLOCK < G->g ? b0 + BLOCK : G->g;
	struct rng r;
	rng_init(&r, G->seed, S_HOUSEHOLD, (uint64_t)(b0 / BLOCK));
	int64_t s = b0;
	for (;;) {
		int64_t e = s + 1 + rng_weighted(&r, size_w, NELEM(size_w));
		if (e > bend)
			e = bend;
		if (g < e) {
			*start = s;
			*end = e;
			return;
		}
		s = e;
	}
}

static const char *pick_surname(struct rng *r)
{
	int w[NELEM(surnames)];
	for (int i = 0; i < NELEM(surnames); i++)
		w[i] = surnames[i].w;
	return surnames[rng_weighted(r, w, NELEM(surnames))].s;
}

/* Given name: one or two characters by sex. */
static void pick_given(struct rng *r, int male, char *out, size_t cap)
{
	const char *const *last = male ? given_m : given_f;
	int nlast = male ? NELEM(given_m) : NELEM(given_f);
	const char *const *mid = male ? middle_m : middle_f;
	int nmid = male ? NELEM(middle_m) : NELEM(middle_f);
	if (rng_below(r, 100) < 30)
		snprintf(out, cap, "%s", last[rng_below(r, (uint32_t)nlast)]);
	else
		snprintf(out, cap, "%s%s", mid[rng_below(r, (uint32_t)nmid)],
			 last[rng_below(r, (uint32_t)nlast)]);
}

static void surname_of(const struct gen *G, int64_t g, char out[16])
{
	struct rng r;
	rng_init(&r, G->seed, S_SURNAME, (uint64_t)g);
	snprintf(out, 16, "%s", pick_surname(&r));
}

/*
 * A whole generated person: its household (members sorted by age: the head
 * is the oldest), and a name: the head's surname, except for the head's
 * spouse (the oldest adult of the other sex within 15 years of the head),
 * who keeps their own.
 */
static void person_of(const struct gen *G, int64_t g, struct person *p)
{
	struct pcore m[BLOCK];
	int64_t s, e;
	household_of(G, g, &s, &e);
	int n = (int)(e - s), head = 0, spouse = -1, self = (int)(g - s);
	for (int i = 0; i < n; i++) {
		pcore_of(G, s + i, &m[i]);
		if (m[i].day < m[head].day)
			head = i;
	}
	for (int i = 0; i < n; i++) {
		if (i == head || m[i].male == m[head].male || !is_adult(m[i].day) ||
		    m[i].day - m[head].day > 15 * 365)
			continue;
		if (spouse < 0 || m[i].day < m[spouse].day)
			spouse = i;
	}
	p->c = m[self];
	p->hh_start = s;
	p->hh_end = e;
	p->head = s + head;
	char sur[16], given[16];
	surname_of(G, self == spouse ? g : s + head, sur);
	struct rng r;
	rng_init(&r, G->seed, S_GIVEN, (uint64_t)g);
	pick_given(&r, p->c.male, given, sizeof given);
	snprintf(p->name, sizeof p->name, "%s%s", sur, given);
}

/* Household facts shared by its members: district, address, household number. */
static void household_facts(const struct gen *G, int64_t start, char *address, size_t cap, char hh_no[32])
{
	struct rng r;
	rng_init(&r, G->seed, S_ADDR, (uint64_t)start);
	int d = (int)rng_below(&r, NELEM(districts));
	const char *street = streets[rng_below(&r, NELEM(streets))];
	const char *road = roads[rng_below(&r, NELEM(roads))];
	int no = 1 + (int)rng_below(&r, 300), bldg = 1 + (int)rng_below(&r, 30);
	int unit = 1 + (int)rng_below(&r, 4), floor = 1 + (int)rng_below(&r, 32), room = 1 + (int)rng_below(&r, 4);
	snprintf(address, cap, "示范市%s%s%s%d号%d栋%d单元%d%02d室", districts[d].name, street, road, no, bldg, unit,
		 floor, room);
	snprintf(hh_no, 32, "%.6s%08lld", districts[d].code, (long long)(start + HH_BASE));
}

/* Replaces the last character of a name (a given-name character) by another one. */
static void alter_name(const char *name, int male, struct rng *r, char *out, size_t cap)
{
	size_t len = strlen(name);
	const char *const *t = male ? given_m : given_f;
	int nt = male ? NELEM(given_m) : NELEM(given_f);
	int k = (int)rng_below(r, (uint32_t)nt);
	if (strcmp(t[k], name + len - 3) == 0)
		k = (k + 1) % nt;
	snprintf(out, cap, "%.*s%s", (int)(len - 3), name, t[k]);
}

/* ---------------------------------------------------------------- fixed records */

struct fixed_person {
	const char *region, *birth, *seq, *name, *address, *phone, *hh_no;
};
/* chen (陈小梅) and her neighbour 赵志强, legal representative of huaxin. */
static const struct fixed_person fixed[NFIXED] = {
	{ "440106", "19900517", "123", "陈小梅", "示范市明珠区海滨街道新苑路18号3栋502室", "13800138000",
	  "44010600000001" },
	{ "440106", "19850312", "151", "赵志强", "示范市明珠区海滨街道新苑路18号3栋501室", "13902461357",
	  "44010600000002" },
};

static void fixed_id(int i, char out[19])
{
	snprintf(out, 19, "%s%s%s", fixed[i].region, fixed[i].birth, fixed[i].seq);
	out[17] = idcard_check_char(out);
	out[18] = '\0';
}

void gen_chen_idcard(char out[19])
{
	fixed_id(0, out);
}

void gen_huaxin_uscc(char out[19])
{
	/* As src/apps/portal/demo.c: 9 1 440106 + organisation code MA5D7K3Q + checks. */
	static const char org[9] = "MA5D7K3Q";
	memcpy(out, "91440106", 8);
	memcpy(out + 8, org, 8);
	out[16] = orgcode_check_char(org);
	out[17] = uscc_check_char(out);
	out[18] = '\0';
}

/* ---------------------------------------------------------------- generation */

static const char uscc_chars[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";   /* 31 */
static const char uscc_chars_no5[] = "012346789ABCDEFGHJKLMNPQRTUWXY";  /* 30: never huaxin's MA5... */
static const char plate_letters[] = "ABCEGHJKLMNPQRSTUVWXYZ";           /* 22: no I O, no D F (new energy) */
static const char vin_chars[] = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";    /* 33: no I O Q */

#define ORG_DOMAIN (30ull * 31 * 31 * 31 * 31 * 31)
#define PLATE_DOMAIN (22ull * 34 * 34 * 34 * 34)
#define ACCT_DOMAIN 900000000000ull    /* deposit: 12 digits 100000000000..999999999999 */
#define PF_DOMAIN 9000000000ull        /* pfund: 10 digits 1000000000..9999999999 */

static int gen_init(struct gen *G, int64_t persons, uint64_t seed)
{
	if (persons < GEN_MIN_PERSONS || persons > GEN_MAX_PERSONS)
		return -1;
	memset(G, 0, sizeof *G);
	G->seed = seed;
	G->persons = persons;
	G->g = persons - NFIXED;
	G->ents = persons / 12;
	G->p_missing = persons / 2000 > 1 ? persons / 2000 : 1;
	G->p_name = persons / 1000 > 1 ? persons / 1000 : 1;
	G->day0 = days_from_civil(1930, 1, 1);
	G->ndays = days_from_civil(2021, 1, 1) - G->day0;
	perm_init(&G->id_perm, (uint64_t)NELEM(districts) * SEQ_N * (uint64_t)G->ndays, seed, S_ID);
	perm_init(&G->rep_perm, (uint64_t)G->g, seed, S_REP);
	perm_init(&G->miss_perm, (uint64_t)NELEM(districts) * MISS_SEQ_N * (uint64_t)G->ndays, seed, S_MISS_PERM);
	perm_init(&G->plant_perm, (uint64_t)(G->ents - 1), seed, S_PLANT);
	perm_init(&G->uscc_perm, ORG_DOMAIN, seed, S_USCC_PERM);
	G->ename_domain = (uint64_t)NELEM(brand_chars) * (NELEM(brand_chars) - 1) * NELEM(industries) *
			  (1 + NELEM(districts));
	perm_init(&G->ename_perm, G->ename_domain, seed, S_ENAME_PERM);
	/* Each adult has at most 2 vehicles: 2 * persons slots are enough; at least every plate of digits. */
	uint64_t plates = (uint64_t)(2 * G->g) > 220000 ? (uint64_t)(2 * G->g) : 220000;
	perm_init(&G->plate_perm, plates < PLATE_DOMAIN ? plates : PLATE_DOMAIN, seed, S_PLATE_PERM);
	perm_init(&G->acct_perm, ACCT_DOMAIN, seed, S_ACCT_PERM);
	perm_init(&G->pf_perm, PF_DOMAIN, seed, S_PFACCT_PERM);
	if ((uint64_t)G->ents > G->ename_domain || G->p_missing + G->p_name > G->ents - 1)
		return -1;
	return 0;
}

void gen_planned(int64_t persons, struct gen_counts *out)
{
	memset(out, 0, sizeof *out);
	out->planted_missing = persons / 2000 > 1 ? persons / 2000 : 1;
	out->planted_name = persons / 1000 > 1 ? persons / 1000 : 1;
}

struct emit {
	gen_row_fn fn;
	void *arg;
	struct gen_counts *out;
};

static int emit(struct emit *em, enum gen_reg reg, const char *const *v)
{
	em->out->rows[reg]++;
	return em->fn(em->arg, reg, v);
}

static int gen_population(const struct gen *G, struct emit *em)
{
	int rc;
	for (int i = 0; i < NFIXED; i++) {
		char id[19];
		fixed_id(i, id);
		char birth[11];
		snprintf(birth, sizeof birth, "%.4s-%.2s-%.2s", fixed[i].birth, fixed[i].birth + 4, fixed[i].birth + 6);
		const char *v[] = { id, fixed[i].name, (id[16] - '0') % 2 ? "男" : "女", birth, fixed[i].address,
				    fixed[i].phone, fixed[i].hh_no };
		if ((rc = emit(em, GEN_POPULATION, v)) != 0)
			return rc;
	}
	char address[256] = "", hh_no[32] = "";
	int64_t cur_hh = -1;
	for (int64_t g = 0; g < G->g; g++) {
		struct person p;
		person_of(G, g, &p);
		if (p.hh_start != cur_hh) {
			cur_hh = p.hh_start;
			household_facts(G, cur_hh, address, sizeof address, hh_no);
		}
		char birth[11], phone[16];
		date_text(p.c.day, birth);
		const char *ph = NULL;
		struct rng r;
		rng_init(&r, G->seed, S_PHONE, (uint64_t)g);
		if (p.c.day < days_from_civil(REF_YEAR - 12, 1, 1) && rng_below(&r, 100) < 95) {
			snprintf(phone, sizeof phone, "%s%08u", mobile_prefix[rng_below(&r, NELEM(mobile_prefix))],
				 rng_below(&r, 100000000));
			ph = phone;
		}
		const char *v[] = { p.c.id, p.name, p.c.male ? "男" : "女", birth, address, ph, hh_no };
		if ((rc = emit(em, GEN_POPULATION, v)) != 0)
			return rc;
	}
	return 0;
}

/*
 * The next legal representative: persons in the order of a keyed
 * permutation, skipping those not aged 22..75 (at REF_YEAR), so no person
 * represents two enterprises.  More than half the persons qualify, so the
 * cursor stays far below the population.  0, or -1 when nobody is left.
 */
static int next_rep(const struct gen *G, uint64_t *cursor, struct person *p)
{
	while (*cursor < (uint64_t)G->g) {
		struct pcore c;
		int64_t g = (int64_t)perm_at(&G->rep_perm, (*cursor)++);
		pcore_of(G, g, &c);
		if (born_between(c.day, REF_YEAR - 75, REF_YEAR - 23)) {
			person_of(G, g, p);
			return 0;
		}
	}
	return -1;
}

static int gen_enterprises(const struct gen *G, struct emit *em)
{
	int rc;
	{
		char uscc[19], rep[19];
		gen_huaxin_uscc(uscc);
		fixed_id(1, rep);
		const char *v[] = { uscc, "示范市华信科技有限公司", rep, fixed[1].name, "500.00", "2016-03-18",
				    "示范市明珠区海滨街道科技园路66号2栋8层", "存续" };
		if ((rc = emit(em, GEN_ENTERPRISE, v)) != 0)
			return rc;
	}
	static const char *const status[] = { "存续", "吊销", "注销", "迁出" };
	static const int status_w[] = { 86, 4, 8, 2 };
	static const int cap_w[] = { 40, 30, 15, 10, 5 };
	static const int cap_lo[] = { 10, 100, 500, 1000, 5000 }, cap_hi[] = { 100, 500, 1000, 5000, 50000 };
	uint64_t rep_cursor = 0;
	for (int64_t k = 0; k < G->ents - 1; k++) {
		struct rng r;
		rng_init(&r, G->seed, S_ENT, (uint64_t)k);
		/* 统一社会信用代码: 9 1 + district + MA + 6 characters (a unique slot) + checks. */
		uint64_t slot = perm_at(&G->uscc_perm, (uint64_t)k);
		uint64_t ns = perm_at(&G->ename_perm, (uint64_t)k);
		int variant = (int)(ns / ((uint64_t)NELEM(brand_chars) * (NELEM(brand_chars) - 1) * NELEM(industries)));
		int d = variant ? variant - 1 : (int)rng_below(&r, NELEM(districts));
		char uscc[19], org[9];
		org[0] = 'M';
		org[1] = 'A';
		org[2] = uscc_chars_no5[slot % 30];
		slot /= 30;
		for (int i = 3; i < 8; i++) {
			org[i] = uscc_chars[slot % 31];
			slot /= 31;
		}
		org[8] = '\0';
		snprintf(uscc, sizeof uscc, "91%.6s%.8s", districts[d].code, org);
		uscc[16] = orgcode_check_char(org);
		uscc[17] = uscc_check_char(uscc);
		uscc[18] = '\0';
		/* Name: 示范市[区]字号行业有限公司, unique; a district's name registers there. */
		int b1 = (int)(ns % NELEM(brand_chars));
		ns /= NELEM(brand_chars);
		int b2 = (int)(ns % (NELEM(brand_chars) - 1));
		ns /= NELEM(brand_chars) - 1;
		if (b2 >= b1)
			b2++;
		int ind = (int)(ns % NELEM(industries));   /* ns / NELEM(industries) is the variant */
		char name[256];
		snprintf(name, sizeof name, "示范市%s%s%s%s有限公司", variant ? districts[variant - 1].name : "",
			 brand_chars[b1], brand_chars[b2], industries[ind]);
		/* Legal representative, planted discrepancies. */
		uint64_t q = perm_at(&G->plant_perm, (uint64_t)k);
		char rep_id[19], rep_name[64];
		int32_t rep_born;
		struct rng rr;
		rng_init(&rr, G->seed, S_REP, (uint64_t)k);
		if (q < (uint64_t)G->p_missing) {
			/* A valid 身份证号 of nobody in the population (sequence codes 000..099). */
			uint64_t ms = perm_at(&G->miss_perm, q);
			int md = (int)(ms % NELEM(districts));
			ms /= NELEM(districts);
			int seq = (int)(ms % MISS_SEQ_N);
			int32_t day = G->day0 + (int32_t)(ms / MISS_SEQ_N);
			make_idcard(md, day, seq, rep_id);
			struct rng nr;
			char given[16];
			rng_init(&nr, G->seed, S_MISS, q);
			const char *sur = pick_surname(&nr);
			pick_given(&nr, seq % 2, given, sizeof given);
			snprintf(rep_name, sizeof rep_name, "%s%s", sur, given);
			rep_born = day;
		} else {
			struct person p;
			if (next_rep(G, &rep_cursor, &p) != 0)
				return -1;
			memcpy(rep_id, p.c.id, sizeof rep_id);
			if (q < (uint64_t)(G->p_missing + G->p_name))
				alter_name(p.name, p.c.male, &rr, rep_name, sizeof rep_name);
			else
				snprintf(rep_name, sizeof rep_name, "%s", p.name);
			rep_born = p.c.day;
		}
		/* Capital in 万元, established after the representative's 20th birthday. */
		int ct = rng_weighted(&r, cap_w, NELEM(cap_w));
		int64_t cap = cap_lo[ct] + (int64_t)rng_below(&r, (uint32_t)(cap_hi[ct] - cap_lo[ct]));
		int frac = rng_below(&r, 10) == 0 ? 50 : 0;
		char capital[32];
		snprintf(capital, sizeof capital, "%lld.%02d", (long long)cap, frac);
		int y0 = year_of(rep_born) + 20;
		if (y0 < 1995)
			y0 = 1995;
		if (y0 > 2025)
			y0 = 2025;
		char est[11];
		date_text(rng_day(&r, y0, 2025), est);
		char addr[256];
		int ad = d;
		const char *street = streets[rng_below(&r, NELEM(streets))], *road = roads[rng_below(&r, NELEM(roads))];
		int no = 1 + (int)rng_below(&r, 300);
		if (rng_below(&r, 3) == 0)
			snprintf(addr, sizeof addr, "示范市%s%s%s%d号%s%d层%d室", districts[ad].name, street, road, no,
				 towers[rng_below(&r, NELEM(towers))], 2 + (int)rng_below(&r, 30),
				 1 + (int)rng_below(&r, 20));
		else
			snprintf(addr, sizeof addr, "示范市%s%s%s%d号%d栋%d层", districts[ad].name, street, road, no,
				 1 + (int)rng_below(&r, 12), 1 + (int)rng_below(&r, 8));
		const char *st = status[rng_weighted(&r, status_w, NELEM(status_w))];
		const char *v[] = { uscc, name, rep_id, rep_name, capital, est, addr, st };
		if ((rc = emit(em, GEN_ENTERPRISE, v)) != 0)
			return rc;
	}
	return 0;
}

static int gen_housing(const struct gen *G, struct emit *em)
{
	int rc;
	char id[19];
	/* chen: one flat; her neighbour: a flat and a parking space. */
	static const struct {
		int who;
		const char *cert, *addr, *area, *usage, *date;
	} fx[] = {
		{ 0, "粤（2018）示范市不动产权第0000001号", "示范市明珠区海滨街道新苑路18号3栋502室", "89.50", "住宅",
		  "2018-06-20" },
		{ 1, "粤（2015）示范市不动产权第0000002号", "示范市明珠区海滨街道新苑路18号3栋501室", "126.80", "住宅",
		  "2015-09-08" },
		{ 1, "粤（2016）示范市不动产权第0000003号", "示范市明珠区海滨街道新苑路18号地下车库B126号", "13.20",
		  "车位", "2016-04-15" },
	};
	for (int i = 0; i < NELEM(fx); i++) {
		fixed_id(fx[i].who, id);
		const char *v[] = { fx[i].cert, id, fx[i].addr, fx[i].area, fx[i].usage, fx[i].date };
		if ((rc = emit(em, GEN_HOUSING, v)) != 0)
			return rc;
	}
	static const int count_w[] = { 50, 40, 10 };
	static const char *const usage[] = { "住宅", "车位", "商业", "办公" };
	static const int usage_w[] = { 60, 25, 10, 5 };
	int64_t serial = 10;
	for (int64_t g = 0; g < G->g; g++) {
		struct pcore c;
		pcore_of(G, g, &c);
		if (!is_adult(c.day))
			continue;
		struct person p;
		person_of(G, g, &p);
		if (p.head != g)
			continue;
		struct rng r;
		rng_init(&r, G->seed, S_HOUSE, (uint64_t)g);
		int n = rng_weighted(&r, count_w, NELEM(count_w));
		for (int j = 0; j < n; j++) {
			char addr[256], hh_no[32], cert[96], area[32], date[11];
			int u = 0;
			if (j == 0) {
				household_facts(G, p.hh_start, addr, sizeof addr, hh_no);
			} else {
				u = rng_weighted(&r, usage_w, NELEM(usage_w));
				int d = (int)rng_below(&r, NELEM(districts));
				snprintf(addr, sizeof addr, "示范市%s%s%s%d号%s%d%s", districts[d].name,
					 streets[rng_below(&r, NELEM(streets))], roads[rng_below(&r, NELEM(roads))],
					 1 + (int)rng_below(&r, 300), u == 1 ? "地下车库B" : "",
					 u == 1 ? 1 + (int)rng_below(&r, 400) : 101 + (int)rng_below(&r, 2000),
					 u == 1 ? "号" : "室");
			}
			int64_t a = u == 1 ? 1100 + rng_below(&r, 1000)
				  : u == 0 ? 4500 + rng_below(&r, 13500) : 3000 + rng_below(&r, 30000);
			cents_text(a, area);
			int y0 = year_of(c.day) + 22 > 2015 ? year_of(c.day) + 22 : 2015;
			if (y0 > 2025)
				y0 = 2025;
			int32_t day = rng_day(&r, y0, 2025);
			date_text(day, date);
			snprintf(cert, sizeof cert, "粤（%d）示范市不动产权第%07lld号", year_of(day), (long long)serial++);
			const char *v[] = { cert, c.id, addr, area, usage[u], date };
			if ((rc = emit(em, GEN_HOUSING, v)) != 0)
				return rc;
		}
	}
	return 0;
}

/* VIN (GB 16735 / ISO 3779) with its check digit in position 9. */
static void make_vin(const char *wmi, struct rng *r, int year, int64_t serial, char out[18])
{
	static const char years[] = "Y123456789ABCDEFGHJKLMNPRST";   /* 2000 .. 2026 */
	static const int weight[17] = { 8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2 };
	memcpy(out, wmi, 3);
	for (int i = 3; i < 8; i++)
		out[i] = vin_chars[rng_below(r, sizeof vin_chars - 1)];
	out[9] = years[(year - 2000) % (int)(sizeof years - 1)];
	out[10] = vin_chars[10 + (serial / 1000000) % 23];   /* plant letter: with the serial, unique */
	snprintf(out + 11, 7, "%06u", (unsigned)((uint64_t)serial % 1000000u));
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		if (i == 8)
			continue;
		char ch = out[i];
		int v;
		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else
			v = (int)"12345678012345070923456789"[ch - 'A'] - '0';   /* transliteration A..Z */
		sum += v * weight[i];
	}
	out[8] = "0123456789X"[sum % 11];
	out[17] = '\0';
}

/*
 * Plate "粤A" + a letter + 4 characters from slot (< PLATE_DOMAIN).  The 16
 * patterns of letter positions among the 4 come in order of how many
 * letters they hold, so a small city only gets plates of digits (粤AB1234)
 * and letters appear as the city grows; each pattern's slots are disjoint.
 */
static void make_plate(uint64_t slot, char out[32])
{
	static const char digits[] = "0123456789";
	static const char letters[] = "ABCDEFGHJKLMNPQRSTUVWXYZ";   /* 24: no I O */
	int pos = snprintf(out, 32, "粤A%c", plate_letters[slot % 22]);
	slot /= 22;
	for (int nl = 0; nl <= 4; nl++)
		for (int mask = 0; mask < 16; mask++) {
			if (__builtin_popcount((unsigned)mask) != nl)
				continue;
			uint64_t size = 1;
			for (int i = 0; i < 4; i++)
				size *= mask & (1 << i) ? 24 : 10;
			if (slot >= size) {
				slot -= size;
				continue;
			}
			for (int i = 0; i < 4; i++) {
				int letter = mask & (1 << i);
				out[pos++] = letter ? letters[slot % 24] : digits[slot % 10];
				slot /= letter ? 24 : 10;
			}
			out[pos] = '\0';
			return;
		}
	out[pos] = '\0';   /* not reached: slot < PLATE_DOMAIN */
}

static int gen_vehicles(const struct gen *G, struct emit *em)
{
	int rc;
	{
		char id[19], vin[18];
		struct rng r;
		rng_init(&r, G->seed, S_CAR, UINT64_MAX);
		fixed_id(1, id);
		make_vin("LGX", &r, 2021, 0, vin);
		const char *v[] = { "粤AD12345", id, vin, "比亚迪 汉", "2021-08-16" };
		if ((rc = emit(em, GEN_VEHICLE, v)) != 0)
			return rc;
	}
	static const int count_w[] = { 63, 34, 3 };
	int64_t serial = 1;
	for (int64_t g = 0; g < G->g; g++) {
		struct pcore c;
		pcore_of(G, g, &c);
		if (!is_adult(c.day))
			continue;
		struct rng r;
		rng_init(&r, G->seed, S_CAR, (uint64_t)g);
		int n = rng_weighted(&r, count_w, NELEM(count_w));
		for (int j = 0; j < n; j++) {
			char plate[32], vin[18], date[11];
			make_plate(perm_at(&G->plate_perm, (uint64_t)(serial - 1)), plate);
			int m = rng_weighted(&r, car_weights, NELEM(car_weights));
			int y0 = year_of(c.day) + 18 > 2005 ? year_of(c.day) + 18 : 2005;
			if (y0 > 2025)
				y0 = 2025;
			int32_t day = rng_day(&r, y0, 2025);
			date_text(day, date);
			make_vin(car_models[m].wmi, &r, year_of(day), serial++, vin);
			const char *v[] = { plate, c.id, vin, car_models[m].model, date };
			if ((rc = emit(em, GEN_VEHICLE, v)) != 0)
				return rc;
		}
	}
	return 0;
}

/* Bank card number: BIN + 12 digits + Luhn check digit. */
static void make_card(const char *bin, uint64_t twelve, char out[24])
{
	snprintf(out, 24, "%.6s%012llu", bin, (unsigned long long)twelve);
	int sum = 0;
	for (int i = 17, dbl = 1; i >= 0; i--, dbl = !dbl) {
		int v = out[i] - '0';
		if (dbl) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	out[18] = (char)('0' + (10 - sum % 10) % 10);
	out[19] = '\0';
}

static int gen_deposits(const struct gen *G, struct emit *em)
{
	int rc;
	/* chen: 7500.00 + 4500.00 = 12000.00; the neighbour: two accounts. */
	static const struct {
		int who, bank;
		uint64_t no;
		const char *open, *balance;
	} fx[] = {
		{ 0, 0, 1, "2012-09-03", "7500.00" },
		{ 0, 9, 2, "2016-05-11", "4500.00" },
		{ 1, 1, 3, "2008-02-27", "186320.45" },
		{ 1, 5, 4, "2015-10-19", "52300.00" },
	};
	for (int i = 0; i < NELEM(fx); i++) {
		char id[19], no[24];
		fixed_id(fx[i].who, id);
		make_card(banks[fx[i].bank].bin, fx[i].no, no);
		const char *v[] = { no, id, banks[fx[i].bank].name, fx[i].open, fx[i].balance };
		if ((rc = emit(em, GEN_DEPOSIT, v)) != 0)
			return rc;
	}
	static const int count_w[] = { 18, 37, 28, 13, 4 };
	int bw[NELEM(banks)];
	for (int i = 0; i < NELEM(banks); i++)
		bw[i] = banks[i].w;
	int64_t serial = 0;
	for (int64_t g = 0; g < G->g; g++) {
		struct pcore c;
		pcore_of(G, g, &c);
		if (!is_adult(c.day))
			continue;
		struct rng r;
		rng_init(&r, G->seed, S_DEP, (uint64_t)g);
		int n = rng_weighted(&r, count_w, NELEM(count_w));
		for (int j = 0; j < n; j++) {
			int b = rng_weighted(&r, bw, NELEM(bw));
			char no[24], open[11], bal[32];
			make_card(banks[b].bin, 100000000000ull + perm_at(&G->acct_perm, (uint64_t)serial++), no);
			int y0 = year_of(c.day) + 18 > 2000 ? year_of(c.day) + 18 : 2000;
			if (y0 > 2025)
				y0 = 2025;
			date_text(rng_day(&r, y0, 2025), open);
			cents_text(rng_tier(&r, deposit_tiers, NELEM(deposit_tiers)), bal);
			const char *v[] = { no, c.id, banks[b].name, open, bal };
			if ((rc = emit(em, GEN_DEPOSIT, v)) != 0)
				return rc;
		}
	}
	return 0;
}

static int gen_pfund(const struct gen *G, struct emit *em)
{
	int rc;
	{
		char id0[19], id1[19];
		fixed_id(0, id0);
		fixed_id(1, id1);
		const char *v0[] = { "440000000001", id0, "2014-07-01", "8500.00", "正常" };
		const char *v1[] = { "440000000002", id1, "2009-03-01", "126430.55", "正常" };
		if ((rc = emit(em, GEN_PFUND, v0)) != 0 || (rc = emit(em, GEN_PFUND, v1)) != 0)
			return rc;
	}
	static const char *const status[] = { "正常", "封存", "销户" };
	static const int status_w[] = { 85, 13, 2 };
	int64_t serial = 0;
	for (int64_t g = 0; g < G->g; g++) {
		struct pcore c;
		pcore_of(G, g, &c);
		/* Employed: aged 22..60, about two in three. */
		if (!born_between(c.day, REF_YEAR - 61, REF_YEAR - 23))
			continue;
		struct rng r;
		rng_init(&r, G->seed, S_PF, (uint64_t)g);
		if (rng_below(&r, 100) >= 65)
			continue;
		char no[24], open[11], bal[32];
		snprintf(no, sizeof no, "44%010llu",
			 (unsigned long long)(1000000000ull + perm_at(&G->pf_perm, (uint64_t)serial++)));
		date_text(rng_day(&r, year_of(c.day) + 22 > 1999 ? year_of(c.day) + 22 : 1999, 2025), open);
		int s = rng_weighted(&r, status_w, NELEM(status_w));
		cents_text(s == 2 ? 0 : rng_tier(&r, pfund_tiers, NELEM(pfund_tiers)), bal);
		const char *v[] = { no, c.id, open, bal, status[s] };
		if ((rc = emit(em, GEN_PFUND, v)) != 0)
			return rc;
	}
	return 0;
}

int gen_run(int64_t persons, uint64_t seed, gen_row_fn fn, void *arg, struct gen_counts *out)
{
	struct gen G;
	int rc;
	memset(out, 0, sizeof *out);
	if (gen_init(&G, persons, seed) != 0)
		return -1;
	out->planted_missing = G.p_missing;
	out->planted_name = G.p_name;
	struct emit em = { fn, arg, out };
	if ((rc = gen_population(&G, &em)) != 0 || (rc = gen_enterprises(&G, &em)) != 0 ||
	    (rc = gen_housing(&G, &em)) != 0 || (rc = gen_vehicles(&G, &em)) != 0 ||
	    (rc = gen_deposits(&G, &em)) != 0 || (rc = gen_pfund(&G, &em)) != 0)
		return rc;
	return 0;
}

/* ---------------------------------------------------------------- into the store */

#define BATCH 10000

struct writer {
	struct store *st;
	const struct registry *reg[GEN__MAX];
	int col[GEN__MAX][REG_MAX_FIELDS];    /* definition field i <- generated column, -1 none */
	struct reg_actor who;
	char source[64];
	int in_tx;
	enum gen_reg cur;
	int64_t batch, done[GEN__MAX], total;
	int64_t expect[GEN__MAX];             /* known in advance: population, enterprise; else 0 */
	int progress, tty;
};

/* Progress on stderr: updated in place on a terminal, one line per registry otherwise. */
static void writer_progress(const struct writer *w, int final)
{
	if (!w->progress || (!final && !w->tty))
		return;
	fprintf(stderr, "%s%-12s %lld", w->tty ? "\r" : "", gen_tables[w->cur].code, (long long)w->done[w->cur]);
	if (w->expect[w->cur] > 0)
		fprintf(stderr, " / %lld", (long long)w->expect[w->cur]);
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int writer_commit(struct writer *w)
{
	if (!w->in_tx)
		return 0;
	const struct registry *reg = w->reg[w->cur];
	char object[64], detail[160];
	snprintf(object, sizeof object, "registry:%s", gen_tables[w->cur].code);
	snprintf(detail, sizeof detail, "{\"records\":%lld,\"source\":\"%s\"}", (long long)w->batch, w->source);
	struct audit_entry a = { 0, "system", "registry.demo_data", object, reg->owner_dept_id, NULL, detail };
	w->in_tx = 0;
	if (audit_append(w->st, &a) != 0 || store_commit(w->st) != STORE_OK) {
		store_rollback(w->st);
		log_error("demo-data: commit of %s failed: %s", gen_tables[w->cur].code, store_errmsg(w->st));
		return -1;
	}
	writer_progress(w, 0);
	w->batch = 0;
	return 0;
}

static int writer_row(void *arg, enum gen_reg reg, const char *const *values)
{
	struct writer *w = arg;
	if (w->in_tx && (reg != w->cur || w->batch >= BATCH)) {
		int changed = reg != w->cur;
		if (writer_commit(w) != 0)
			return -1;
		if (changed)
			writer_progress(w, 1);
	}
	if (!w->in_tx) {
		if (store_begin(w->st) != STORE_OK) {
			log_error("demo-data: begin: %s", store_errmsg(w->st));
			return -1;
		}
		w->in_tx = 1;
		w->cur = reg;
	}
	const struct registry *r = w->reg[reg];
	const char *v[REG_MAX_FIELDS];
	for (int i = 0; i < r->def.nfields; i++)
		v[i] = w->col[reg][i] >= 0 ? values[w->col[reg][i]] : NULL;
	int outcome = 0;
	struct reg_error e = { 0 };
	if (registry_put(w->st, r, v, &w->who, &outcome, &e) != 0 || outcome != 1) {
		log_error("demo-data: %s record %s: %s %s %s", gen_tables[reg].code, values[0] ? values[0] : "",
			  outcome == 1 || e.why != MSG_NONE ? msg(e.why) : "key already present", e.field, e.detail);
		store_rollback(w->st);
		w->in_tx = 0;
		return -1;
	}
	w->batch++;
	w->done[reg]++;
	w->total++;
	return 0;
}

int gen_store(struct store *st, int64_t persons, uint64_t seed, int progress, struct gen_counts *out)
{
	struct writer w;
	memset(&w, 0, sizeof w);
	w.st = st;
	w.progress = progress;
	w.tty = isatty(STDERR_FILENO);
	snprintf(w.source, sizeof w.source, "demo-data:%llu", (unsigned long long)seed);
	w.who.user_id = 0;
	w.who.name = "system";
	w.who.source = w.source;
	w.expect[GEN_POPULATION] = persons;
	w.expect[GEN_ENTERPRISE] = persons / 12;
	for (int r = 0; r < GEN__MAX; r++) {
		w.reg[r] = registry_get(st, gen_tables[r].code);
		if (w.reg[r] == NULL) {
			log_error("demo-data: registry %s is not defined", gen_tables[r].code);
			return -1;
		}
		const struct reg_def *d = &w.reg[r]->def;
		int used = 0;
		for (int i = 0; i < d->nfields; i++) {
			w.col[r][i] = -1;
			for (int c = 0; c < gen_tables[r].nfields; c++)
				if (strcmp(d->fields[i].name, gen_tables[r].fields[c]) == 0) {
					w.col[r][i] = c;
					used++;
				}
		}
		if (used != gen_tables[r].nfields) {
			log_error("demo-data: registry %s lacks fields the generator writes", gen_tables[r].code);
			return -1;
		}
	}
	int rc = gen_run(persons, seed, writer_row, &w, out);
	if (rc == 0 && writer_commit(&w) != 0)
		rc = -1;
	if (rc == 0 && w.total > 0)
		writer_progress(&w, 1);
	if (rc != 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

int gen_apply_registries(struct store *st)
{
	for (int r = 0; r < GEN__MAX; r++) {
		if (registry_get(st, gen_tables[r].code) != NULL)
			continue;
		char name[64];
		snprintf(name, sizeof name, "%s.reg", gen_tables[r].code);
		const struct embed_file *f = embed_registries;
		while (f->name != NULL && strcmp(f->name, name) != 0)
			f++;
		if (f->name == NULL) {
			log_error("demo-data: registries/%s is not built in", name);
			return -1;
		}
		struct reg_actor who = { 0, "system", "demo-data" };
		struct reg_error e = { 0 };
		if (store_begin(st) != STORE_OK)
			return -1;
		if (registry_apply(st, (const char *)f->data, f->len, &who, &e) != 0) {
			store_rollback(st);
			log_error("demo-data: applying registries/%s: %s %s %s", name, msg(e.why), e.field, e.detail);
			return -1;
		}
		if (store_commit(st) != STORE_OK) {
			store_rollback(st);
			log_error("demo-data: applying registries/%s: %s", name, store_errmsg(st));
			return -1;
		}
	}
	return 0;
}

int64_t gen_records_held(struct store *st)
{
	int64_t total = 0;
	for (int r = 0; r < GEN__MAX; r++) {
		const struct registry *reg = registry_get(st, gen_tables[r].code);
		if (reg == NULL)
			continue;
		int64_t n = registry_count(st, reg);
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

/* ---------------------------------------------------------------- CSV */

struct csv_out {
	FILE *f[GEN__MAX];
	int err;
};

static void csv_row(FILE *f, const char *const *v, int n)
{
	for (int i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		csvw_put(f, v[i], 0);
	}
	fputc('\n', f);
}

static int csv_write_row(void *arg, enum gen_reg reg, const char *const *values)
{
	struct csv_out *c = arg;
	csv_row(c->f[reg], values, gen_tables[reg].nfields);
	if (ferror(c->f[reg])) {
		c->err = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

static int gen_csv(const char *dir, int64_t persons, uint64_t seed, struct gen_counts *out)
{
	struct csv_out c = { { 0 }, 0 };
	int rc = -1;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "yizhan demo-data: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (int r = 0; r < GEN__MAX; r++) {
		char *path = xasprintf("%s/%s.csv", dir, gen_tables[r].code);
		c.f[r] = fopen(path, "w");
		if (c.f[r] == NULL) {
			fprintf(stderr, "yizhan demo-data: %s: %s\n", path, strerror(errno));
			free(path);
			goto out;
		}
		free(path);
		setvbuf(c.f[r], NULL, _IOFBF, 1 << 18);
		csv_row(c.f[r], gen_tables[r].fields, gen_tables[r].nfields);
	}
	if (gen_run(persons, seed, csv_write_row, &c, out) != 0) {
		fprintf(stderr, "yizhan demo-data: writing CSV: %s\n", strerror(c.err ? c.err : EIO));
		goto out;
	}
	rc = 0;
out:
	for (int r = 0; r < GEN__MAX; r++)
		if (c.f[r] != NULL && fclose(c.f[r]) != 0 && rc == 0) {
			fprintf(stderr, "yizhan demo-data: closing %s.csv: %s\n", gen_tables[r].code, strerror(errno));
			rc = -1;
		}
	return rc;
}

/* ---------------------------------------------------------------- CLI */

static const char demo_data_usage[] =
	"usage: yizhan demo-data [--persons N] [--seed S] [--csv DIR]\n"
	"  Generates the deterministic demo city: the registries population, enterprise,\n"
	"  housing, vehicle, deposit and pfund (registries/*.reg) with valid 身份证号 and\n"
	"  统一社会信用代码.  The same N and S give the same records on every machine.\n"
	"  --persons N  persons in the population registry (100..10000000, default 100000)\n"
	"  --seed S     seed of the generator (default 2026)\n"
	"  --csv DIR    write DIR/<registry>.csv (header row of field names) instead of\n"
	"               writing into the store\n"
	"  Without --csv the six definitions are applied when missing and the records\n"
	"  written into the store; refused when those registries already hold records.\n"
	"  Planted discrepancies between enterprise.legal_rep_* and population:\n"
	"  max(1, N/2000) legal_rep_id not in population, max(1, N/1000) names that differ.\n";

static int parse_u64(const char *s, uint64_t *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_counts(const struct gen_counts *c)
{
	for (int r = 0; r < GEN__MAX; r++)
		printf("%-12s %10lld\n", gen_tables[r].code, (long long)c->rows[r]);
	printf("planted discrepancies (enterprise.legal_rep_* vs population):\n");
	printf("  legal_rep_id not in population  %lld\n", (long long)c->planted_missing);
	printf("  legal_rep_name differs           %lld\n", (long long)c->planted_name);
}

int share_cli_demo_data(struct store *st, const struct keys *k, const struct conf *c, int argc, char **argv)
{
	(void)k;
	(void)c;
	uint64_t persons = 100000, seed = 2026;
	const char *csv = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
			fputs(demo_data_usage, stdout);
			return 0;
		} else if (strcmp(a, "--persons") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &persons) != 0 || persons < GEN_MIN_PERSONS ||
			    persons > GEN_MAX_PERSONS) {
				fprintf(stderr, "yizhan demo-data: --persons must be a number from %d to %d\n",
					GEN_MIN_PERSONS, GEN_MAX_PERSONS);
				return 2;
			}
		} else if (strcmp(a, "--seed") == 0 && i + 1 < argc) {
			if (parse_u64(argv[++i], &seed) != 0) {
				fprintf(stderr, "yizhan demo-data: --seed must be a non-negative integer\n");
				return 2;
			}
		} else if (strcmp(a, "--csv") == 0 && i + 1 < argc) {
			csv = argv[++i];
		} else {
			fprintf(stderr, "yizhan demo-data: unknown or incomplete argument %s\n%s", a, demo_data_usage);
			return 2;
		}
	}
	struct gen_counts counts;
	double t0 = now_s();
	if (csv != NULL) {
		if (gen_csv(csv, (int64_t)persons, seed, &counts) != 0)
			return 1;
		print_counts(&counts);
		printf("wrote %s/*.csv in %.2f s\n", csv, now_s() - t0);
		return 0;
	}
	if (st == NULL) {
		fputs(demo_data_usage, stderr);
		return 2;
	}
	int64_t held = gen_records_held(st);
	if (held < 0) {
		fprintf(stderr, "yizhan demo-data: store error: %s\n", store_errmsg(st));
		return 1;
	}
	if (held > 0) {
		fprintf(stderr,
			"yizhan demo-data: the demo registries already hold %lld records; nothing was written.\n"
			"  Generate into an empty data folder, or write CSV files with --csv DIR.\n",
			(long long)held);
		return 1;
	}
	if (gen_apply_registries(st) != 0) {
		fprintf(stderr, "yizhan demo-data: the registry definitions could not be applied (see the log; "
				"the departments psb, amr, nr, fin and hpf must exist, e.g. after serve --demo)\n");
		return 1;
	}
	if (gen_store(st, (int64_t)persons, seed, 1, &counts) != 0) {
		fprintf(stderr, "yizhan demo-data: writing the records failed (see the log)\n");
		return 1;
	}
	print_counts(&counts);
	printf("written in %.2f s\n", now_s() - t0);
	return 0;
}
