/*
 * stars: department star ratings (部门星级评价) of the online service hall,
 * in the manner of Guangdong's public ratings of every department by how
 * deeply its items can be handled online, and the public statistics of
 * ratings (好差评) per department.
 *
 * A department's three inputs, each a share in [0, 1]:
 *   online depth   the share of its published items at depth 4 or 5 (全程网办);
 *                  the mean depth is shown beside it;
 *   on-time rate   decided service cases (final, not withdrawn) whose used
 *                  working days are within the promised limit (the case's
 *                  stopped clock: used_days <= promised_days);
 *   satisfaction   ratings of 4 or 5 among its ratings, leaving out those
 *                  withdrawn on appeal (rectification case in appeal_upheld).
 * score = Σ weight·input / Σ weight over the inputs that have data (a
 * department nobody has rated yet is scored on the other two); stars: 1
 * below the first threshold, 2 from it, … 5 from the fourth.  Fewer than
 * stars_min_cases decided cases: 数据不足, no stars.
 *
 * Everything is counted with three GROUP BY aggregates (portable SQL) and
 * merged here; nothing is cached.
 */
#include "apps/hall/hall.h"
#include "apps/hall/hall_int.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/msg.h"
#include "core/xalloc.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEF_WEIGHTS "0.4,0.3,0.3"
#define DEF_THRESHOLDS "0.2,0.4,0.6,0.8"
#define DEF_MIN_CASES 5

enum {
	S_ITEMS,
	S_DECIDED,
	S_RATED,
	S_DEPT,
	S_BY_SCORE,
	S_WITHDRAWN,
	S_RECTIFY,
	S__MAX
};

/* A service case: a hall process other than the rectification, with an item. */
#define SERVICE_CASE "c.process LIKE 'hall.%' AND c.process <> 'hall.rectify' AND c.item_code IS NOT NULL"
/* A rating that counts: its rectification (if any) has not ended in an upheld appeal. */
#define RATING_COUNTS "(x.id IS NULL OR x.state <> 'appeal_upheld')"

static const char *const sql[S__MAX] = {
	[S_ITEMS] = "SELECT i.dept_id, d.name, COUNT(*), SUM(CASE WHEN i.depth >= 4 THEN 1 ELSE 0 END), "
		    "SUM(i.depth) FROM hall_items i JOIN departments d ON d.id = i.dept_id "
		    "WHERE i.status = 'published' GROUP BY i.dept_id, d.name ORDER BY i.dept_id",
	[S_DECIDED] = "SELECT c.dept_id, COUNT(*), SUM(CASE WHEN c.promised_days <= 0 OR "
		      "c.used_days <= c.promised_days THEN 1 ELSE 0 END) FROM cases c "
		      "WHERE c.state_final = 1 AND c.state <> 'withdrawn' AND " SERVICE_CASE " "
		      "GROUP BY c.dept_id ORDER BY c.dept_id",
	[S_RATED] = "SELECT r.dept_id, COUNT(*), SUM(CASE WHEN r.score >= 4 THEN 1 ELSE 0 END) "
		    "FROM hall_ratings r LEFT JOIN cases x ON x.id = r.rectify_case_id "
		    "WHERE " RATING_COUNTS " GROUP BY r.dept_id ORDER BY r.dept_id",
	[S_DEPT] = "SELECT id, name FROM departments WHERE id = $1",
	[S_BY_SCORE] = "SELECT r.score, COUNT(*) FROM hall_ratings r LEFT JOIN cases x ON x.id = r.rectify_case_id "
		       "WHERE r.dept_id = $1 AND " RATING_COUNTS " GROUP BY r.score ORDER BY r.score",
	[S_WITHDRAWN] = "SELECT COUNT(*) FROM hall_ratings r JOIN cases x ON x.id = r.rectify_case_id "
			"WHERE r.dept_id = $1 AND x.state = 'appeal_upheld'",
	[S_RECTIFY] = "SELECT COUNT(*), SUM(CASE WHEN state_final = 0 THEN 1 ELSE 0 END), "
		      "SUM(CASE WHEN state = 'rectified' THEN 1 ELSE 0 END), "
		      "SUM(CASE WHEN state = 'rectified' AND used_days <= promised_days THEN 1 ELSE 0 END), "
		      "SUM(CASE WHEN state_final = 0 AND light = 2 THEN 1 ELSE 0 END), "
		      "SUM(CASE WHEN state = 'appeal_upheld' THEN 1 ELSE 0 END) "
		      "FROM cases WHERE process = 'hall.rectify' AND dept_id = $1",
};

/* ------------------------------------------------------------ configuration */

/* A decimal "0", "0.25", "1.0": digits, optionally a point and digits.  0 or -1. */
static int parse_decimal(const char *s, size_t n, double *out)
{
	char tmp[32];
	size_t i = 0, digits = 0;
	if (n == 0 || n >= sizeof tmp)
		return -1;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (digits == 0)
		return -1;
	if (i < n && s[i] == '.') {
		size_t frac = 0;
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, frac++;
		if (frac == 0)
			return -1;
	}
	if (i != n)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

/* Exactly want comma-separated decimals (spaces around them allowed). */
static int parse_list(const char *text, double *out, int want)
{
	const char *p = text;
	for (int k = 0; k < want; k++) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ',' && *e != ' ')
			e++;
		if (parse_decimal(p, (size_t)(e - p), &out[k]) != 0)
			return -1;
		p = e;
		while (*p == ' ')
			p++;
		if (k < want - 1) {
			if (*p != ',')
				return -1;
			p++;
		}
	}
	return *p == '\0' ? 0 : -1;
}

int hall_stars_conf_parse(const char *weights, const char *thresholds, int min_cases,
			  struct hall_stars_conf *out, char **err)
{
	if (weights == NULL || *weights == '\0')
		weights = DEF_WEIGHTS;
	if (thresholds == NULL || *thresholds == '\0')
		thresholds = DEF_THRESHOLDS;
	out->min_cases = min_cases > 0 ? min_cases : DEF_MIN_CASES;
	if (parse_list(weights, out->weight, 3) != 0 ||
	    out->weight[0] + out->weight[1] + out->weight[2] <= 0) {
		*err = xasprintf("stars_weights: three decimals >= 0 separated by commas, with a positive sum "
				 "(such as %s), got \"%s\"", DEF_WEIGHTS, weights);
		return -1;
	}
	int ok = parse_list(thresholds, out->threshold, 4) == 0 && out->threshold[0] > 0 &&
		 out->threshold[3] < 1;
	for (int i = 1; ok && i < 4; i++)
		ok = out->threshold[i] > out->threshold[i - 1];
	if (!ok) {
		*err = xasprintf("stars_thresholds: four increasing decimals between 0 and 1 separated by "
				 "commas (such as %s), got \"%s\"", DEF_THRESHOLDS, thresholds);
		return -1;
	}
	return 0;
}

static pthread_once_t conf_once = PTHREAD_ONCE_INIT;
static struct hall_stars_conf conf_current;

static void conf_load_once(void)
{
	const struct server_ctx *ctx = http_ctx();
	const struct conf *c = ctx ? ctx->conf : NULL;
	char *err = NULL;
	if (c == NULL || hall_stars_conf_parse(c->stars_weights, c->stars_thresholds, c->stars_min_cases,
					       &conf_current, &err) != 0) {
		if (err != NULL)
			log_error("%s; using the defaults", err);
		free(err);
		err = NULL;
		if (hall_stars_conf_parse(NULL, NULL, c ? c->stars_min_cases : 0, &conf_current, &err) != 0)
			abort();   /* the defaults parse */
	}
}

void hall_stars_conf_current(struct hall_stars_conf *out)
{
	pthread_once(&conf_once, conf_load_once);
	*out = conf_current;
}

/* ------------------------------------------------------------ computation */

void hall_stars_compute(const struct hall_stars_conf *c, const struct hall_stars_in *in,
			struct hall_stars_out *out)
{
	memset(out, 0, sizeof *out);
	out->on_time = in->decided > 0 ? (double)in->on_time / (double)in->decided : -1;
	out->satisfaction = in->ratings > 0 ? (double)in->satisfied / (double)in->ratings : -1;
	if (in->items > 0) {
		out->depth_share = (double)in->items_deep / (double)in->items;
		out->depth_mean = (double)in->depth_sum / (double)in->items;
	}
	double v[3] = { out->depth_share, out->on_time, out->satisfaction }, sum = 0, wsum = 0;
	int have[3] = { in->items > 0, in->decided > 0, in->ratings > 0 };
	for (int i = 0; i < 3; i++)
		if (have[i]) {
			sum += c->weight[i] * v[i];
			wsum += c->weight[i];
		}
	out->score = wsum > 0 ? sum / wsum : 0;
	/* Rounded to 1e-9 so that 0.6 computed as 0.59999… still reaches a 0.6 threshold. */
	out->score = round(out->score * 1e9) / 1e9;
	if (in->items <= 0 || in->decided < c->min_cases || wsum <= 0) {
		out->stars = 0;
		return;
	}
	out->stars = 1;
	for (int i = 0; i < 4; i++)
		if (out->score >= c->threshold[i])
			out->stars = i + 2;
}

/* ------------------------------------------------------------ ranking */

struct dept_row {
	int64_t id;
	const char *name;
	struct hall_stars_in in;
	struct hall_stars_out out;
};

static json_t *rate_json(double v)
{
	return v < 0 ? json_null() : json_real(round(v * 10000) / 10000);
}

static json_t *row_json(const struct dept_row *d, int rank)
{
	json_t *o = json_pack("{s:i,s:{s:I,s:s},s:i,s:b,s:o,s:I,s:I,s:o,s:o,s:I,s:I,s:o,s:I,s:I,s:o}", "rank",
			      rank, "dept", "id", (json_int_t)d->id, "name", d->name, "stars", d->out.stars, "no_data",
			      d->out.stars == 0, "score", json_real(round(d->out.score * 10000) / 10000), "items",
			      (json_int_t)d->in.items, "items_deep", (json_int_t)d->in.items_deep, "depth_share",
			      rate_json(d->out.depth_share), "depth_mean",
			      json_real(round(d->out.depth_mean * 100) / 100), "decided", (json_int_t)d->in.decided,
			      "on_time", (json_int_t)d->in.on_time, "on_time_rate", rate_json(d->out.on_time),
			      "ratings", (json_int_t)d->in.ratings, "satisfied", (json_int_t)d->in.satisfied,
			      "satisfaction", rate_json(d->out.satisfaction));
	json_object_set_new(o, "stars_text", json_string(d->out.stars ? "" : msg(MSG_STARS_NO_DATA)));
	if (d->out.stars == 0)
		json_object_set_new(o, "rank", json_null());   /* 数据不足: not ranked */
	return o;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct dept_row *x = a, *y = b;
	int xs = x->out.stars, ys = y->out.stars;
	if (xs != ys)
		return ys - xs;   /* more stars first; 0 (数据不足) last */
	if (x->out.score != y->out.score)
		return x->out.score < y->out.score ? 1 : -1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct dept_row *find_row(struct dept_row *rows, int n, int64_t id)
{
	for (int i = 0; i < n; i++)
		if (rows[i].id == id)
			return &rows[i];
	return NULL;
}

json_t *hall_stars_ranking(struct store *st, const struct hall_stars_conf *c)
{
	struct store_res *items = NULL, *dec = NULL, *rat = NULL;
	struct dept_row *rows = NULL;
	json_t *out = NULL;
	if (store_query(st, sql[S_ITEMS], NULL, 0, &items) != STORE_OK ||
	    store_query(st, sql[S_DECIDED], NULL, 0, &dec) != STORE_OK ||
	    store_query(st, sql[S_RATED], NULL, 0, &rat) != STORE_OK)
		goto out;
	int n = store_res_rows(items);
	rows = xcalloc((size_t)n + 1, sizeof *rows);
	for (int i = 0; i < n; i++) {
		rows[i].id = store_res_int(items, i, 0);
		rows[i].name = store_res_text(items, i, 1);
		rows[i].in.items = store_res_int(items, i, 2);
		rows[i].in.items_deep = store_res_int(items, i, 3);
		rows[i].in.depth_sum = store_res_int(items, i, 4);
	}
	for (int i = 0; i < store_res_rows(dec); i++) {
		struct dept_row *d = find_row(rows, n, store_res_int(dec, i, 0));
		if (d != NULL) {
			d->in.decided = store_res_int(dec, i, 1);
			d->in.on_time = store_res_int(dec, i, 2);
		}
	}
	for (int i = 0; i < store_res_rows(rat); i++) {
		struct dept_row *d = find_row(rows, n, store_res_int(rat, i, 0));
		if (d != NULL) {
			d->in.ratings = store_res_int(rat, i, 1);
			d->in.satisfied = store_res_int(rat, i, 2);
		}
	}
	for (int i = 0; i < n; i++)
		hall_stars_compute(c, &rows[i].in, &rows[i].out);
	qsort(rows, (size_t)n, sizeof *rows, cmp_rows);
	json_t *arr = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(arr, row_json(&rows[i], i + 1));
	out = json_pack("{s:o,s:[f,f,f],s:[f,f,f,f],s:i}", "departments", arr, "weights", c->weight[0],
			c->weight[1], c->weight[2], "thresholds", c->threshold[0], c->threshold[1], c->threshold[2],
			c->threshold[3], "min_cases", c->min_cases);
out:
	free(rows);
	store_res_free(items);
	store_res_free(dec);
	store_res_free(rat);
	return out;
}

/* ------------------------------------------------------------ one department */

json_t *hall_dept_stats(struct store *st, int64_t dept_id, const struct hall_stars_conf *c)
{
	struct store_res *d = NULL, *bs = NULL, *rx = NULL;
	json_t *out = NULL, *ranking = NULL;
	struct sval p[] = { SVI(dept_id) };
	int64_t withdrawn = 0;
	if (store_query(st, sql[S_DEPT], p, 1, &d) != STORE_OK)
		goto out;
	if (store_res_rows(d) == 0) {
		out = json_null();
		goto out;
	}
	if (store_query(st, sql[S_BY_SCORE], p, 1, &bs) != STORE_OK ||
	    store_query_int(st, sql[S_WITHDRAWN], p, 1, &withdrawn) != STORE_OK ||
	    store_query(st, sql[S_RECTIFY], p, 1, &rx) != STORE_OK || store_res_rows(rx) != 1)
		goto out;
	ranking = hall_stars_ranking(st, c);
	if (ranking == NULL)
		goto out;

	int64_t count[6] = { 0 }, total = 0;
	for (int i = 0; i < store_res_rows(bs); i++) {
		int64_t s = store_res_int(bs, i, 0);
		if (s >= 1 && s <= 5)
			count[s] = store_res_int(bs, i, 1);
	}
	json_t *by = json_array();
	for (int s = 5; s >= 1; s--) {
		total += count[s];
		json_array_append_new(by, json_pack("{s:i,s:s,s:I}", "score", s, "label", hall_rate_label(s), "count",
						    (json_int_t)count[s]));
	}
	int64_t satisfied = count[4] + count[5];
	/* percentages of the total, for the bars of the page */
	size_t i;
	json_t *e;
	json_array_foreach(by, i, e) {
		int64_t n = json_integer_value(json_object_get(e, "count"));
		json_object_set_new(e, "percent", json_integer(total ? (json_int_t)llround(100.0 * (double)n / (double)total) : 0));
	}

	int64_t rtotal = store_res_int(rx, 0, 0), ropen = store_res_int(rx, 0, 1), rdone = store_res_int(rx, 0, 2),
		rontime = store_res_int(rx, 0, 3), roverdue = store_res_int(rx, 0, 4), rupheld = store_res_int(rx, 0, 5);
	/* On time among the rectifications that are due: those done, and those still open past the limit. */
	int64_t rdue = rdone + roverdue;

	json_t *mine = json_null();
	json_array_foreach(json_object_get(ranking, "departments"), i, e) {
		if (json_integer_value(json_object_get(json_object_get(e, "dept"), "id")) == dept_id) {
			mine = json_incref(e);
			break;
		}
	}
	out = json_pack("{s:{s:I,s:s},s:{s:I,s:o,s:I,s:o,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:o,s:I},s:o,s:O,s:O,s:i}",
			"dept", "id", (json_int_t)dept_id, "name", store_res_text(d, 0, 1), "ratings", "total",
			(json_int_t)total, "by_score", by, "satisfied", (json_int_t)satisfied, "satisfaction",
			rate_json(total ? (double)satisfied / (double)total : -1), "withdrawn", (json_int_t)withdrawn,
			"rectification", "total", (json_int_t)rtotal, "open", (json_int_t)ropen, "rectified",
			(json_int_t)rdone, "on_time", (json_int_t)rontime, "overdue", (json_int_t)roverdue,
			"on_time_rate", rate_json(rdue ? (double)rontime / (double)rdue : -1), "appeals_upheld",
			(json_int_t)rupheld, "stars", mine, "weights", json_object_get(ranking, "weights"),
			"thresholds", json_object_get(ranking, "thresholds"), "min_cases", c->min_cases);
out:
	json_decref(ranking);
	store_res_free(d);
	store_res_free(bs);
	store_res_free(rx);
	return out;
}
