/*
 * Private to the service hall: declarations shared by its files (the
 * catalogue, the applicant side and the staff side).  Append only.
 */
#ifndef YZ_HALL_INT_H
#define YZ_HALL_INT_H

#include <jansson.h>
#include <stdint.h>

#include "core/http.h"
#include "core/store.h"

struct case_actor;

/* ---------- handle.c: the staff side (inbox, handling, supervision) ---------- */

/* The routes of the staff side (pages and API); registered by hall_register(). */
extern const struct route hall_handle_routes[];
/* Registers the staff side's desk provider (red and yellow cases); called by hall_register(). */
void hall_handle_register(void);

/*
 * The PD_ROLE_* bits r's user holds for a case owned by dept_id as staff:
 * PD_ROLE_STAFF when staff of that department, PD_ROLE_DEPT_ADMIN when its
 * administrator, PD_ROLE_SUPERVISOR for platform admins (电子政务办); 0 for
 * anyone else (citizens, enterprises, staff of other departments, half
 * sessions) and on a store failure.
 */
unsigned hall_staff_roles(struct req *r, int64_t dept_id);

/*
 * GET /hall/cases/{id} as seen by staff, department admins and supervisors
 * of the case's department: the case, its clocks, timeline, assignment,
 * comments and one form per available action.  Answers 404 itself to
 * anyone with no staff role for the case (hall_staff_roles() == 0).
 */
void hall_case_staff_page(struct req *r, int64_t case_id);

/* How people reach this server ("https://host/"): the base_url setting, else the
 * request's scheme and Host (checked); "/" when neither is usable.  Arena string. */
const char *hall_base_url(struct req *r);

/* ---------- cert.c: electronic certificates (电子证照) ---------- */

/*
 * Issues the certificate of an approved case whose item has a result_name,
 * in the caller's transaction: a unique number ("<DEPT CODE>YYYYMMDD" and a
 * 6-digit sequence), a verification token, the PDF stored with files_put
 * (when data_dir is not NULL; otherwise on first download) and attached to
 * the case (public, labelled with the result name), a notification to the
 * applicant.  base_url ("https://host/") prefixes the verification link.
 * Returns 1 with number (when not NULL) filled, 0 when the item issues no
 * certificate, -1 on a failure (logged; roll back).
 */
int hall_cert_issue(struct store *st, const char *data_dir, const char *base_url, int64_t case_id,
		    const struct case_actor *who, char number[64]);

/* The certificate of a case as JSON ({number,title,holder,issuer,issued_on,issued_on_cn,
 * valid,revoked,status,href}), JSON null when it has none, NULL on a store failure. */
json_t *hall_cert_of_case(struct store *st, int64_t case_id);
/* Route handlers: the public verification page and API, the PDF download. */
void hall_page_verify(struct req *r);
void hall_api_verify(struct req *r);
void hall_cert_download(struct req *r);

/* demo_cases.c: demo applications in every state (called by hall_demo_seed). */
int hall_demo_cases(struct store *st);


/* ---------- apply.c: the applicant side (apply, receipts, 我的办件, status page, API) ---------- */

/* The routes of the applicant side (pages and API); registered by hall_register(). */
extern const struct route hall_apply_routes[];
/* Registers the applicant's desk provider (cases in draft or 待补正); called by hall_register(). */
void hall_apply_register(void);


/* ---------- rating.c, stars.c: 好差评 and department star ratings ---------- */

/* The routes of ratings, statistics and the ranking; registered by hall_register(). */
extern const struct route hall_rating_routes[];
/* Registers the ratings' desk provider (decided cases not yet rated: 请评价). */
void hall_rating_register(void);
/* demo_ratings.c: ratings of the demo's decided cases (called by hall_demo_seed). */
int hall_demo_ratings(struct store *st);

/* The label of a rating score 1..5 (非常不满意 … 非常满意); "" otherwise. */
const char *hall_rate_label(int score);

/* The star rating's configuration (conf keys stars_weights, stars_thresholds, stars_min_cases). */
struct hall_stars_conf {
	double weight[3];      /* online depth, on-time rate, satisfaction; >= 0, positive sum */
	double threshold[4];   /* increasing, in (0, 1): 2, 3, 4, 5 stars from these scores */
	int min_cases;         /* fewer decided cases: 数据不足 (stars 0) */
};
/*
 * Parses the two lists ("0.4,0.3,0.3", "0.2,0.4,0.6,0.8"); NULL or "" takes
 * the default.  0, or -1 with *err (malloc'd) naming the key and the problem.
 */
int hall_stars_conf_parse(const char *weights, const char *thresholds, int min_cases,
			  struct hall_stars_conf *out, char **err);
/* The configuration of the running server (a bad value is logged once and the default used). */
void hall_stars_conf_current(struct hall_stars_conf *out);

/* One department's inputs, as counted by hall_stars_ranking. */
struct hall_stars_in {
	int64_t items;        /* published items */
	int64_t items_deep;   /* of which at depth 4 or 5 (全程网办) */
	int64_t depth_sum;    /* sum of their depths */
	int64_t decided;      /* decided service cases (final, not withdrawn) */
	int64_t on_time;      /* of which used <= the promised limit */
	int64_t ratings;      /* ratings that count (not withdrawn on appeal) */
	int64_t satisfied;    /* of which 4 or 5 */
};
struct hall_stars_out {
	double depth_share;   /* items_deep / items (0 when no items) */
	double depth_mean;    /* depth_sum / items */
	double on_time;       /* on_time / decided; -1 when none decided */
	double satisfaction;  /* satisfied / ratings; -1 when no ratings */
	double score;         /* the weighted score in [0, 1] over the inputs that have data */
	int stars;            /* 1..5, or 0: 数据不足 (decided < min_cases, or no items) */
};
/* Pure: the stars of one department from its inputs. */
void hall_stars_compute(const struct hall_stars_conf *c, const struct hall_stars_in *in,
			struct hall_stars_out *out);
/*
 * Every department with published items, best first (stars, then score,
 * then name; 数据不足 last), as
 * {"departments":[{"rank","dept":{"id","name"},"stars","stars_text","no_data",
 *   "score","items","items_deep","depth_share","depth_mean","decided","on_time",
 *   "on_time_rate","ratings","satisfied","satisfaction"}],
 *  "weights":[3],"thresholds":[4],"min_cases"}; rates are 0..1 or null.
 * NULL on a store failure.
 */
json_t *hall_stars_ranking(struct store *st, const struct hall_stars_conf *c);
/*
 * One department's public statistics, or JSON null when no such department;
 * NULL on a store failure:
 * {"dept":{"id","name"},"ratings":{"total","by_score":[{"score","label","count"}],
 *   "satisfied","satisfaction","withdrawn"},
 *  "rectification":{"total","open","rectified","on_time","overdue","on_time_rate",
 *   "appeals_upheld"},"stars":<the department's ranking entry>|null}
 */
json_t *hall_dept_stats(struct store *st, int64_t dept_id, const struct hall_stars_conf *c);


/* Who rates: the applicant (login and address for the audit entry; ip may be NULL). */
struct hall_rater {
	int64_t user_id;
	const char *login;
	const char *ip;
};
enum hall_rate_rc {
	HALL_RATE_OK = 0,
	HALL_RATE_NOT_FOUND,       /* no such case */
	HALL_RATE_NOT_APPLICANT,   /* who is not its applicant */
	HALL_RATE_NOT_DECIDED,     /* not final, withdrawn, or itself a rectification */
	HALL_RATE_ALREADY,         /* rated before */
	HALL_RATE_BAD_SCORE,       /* score not 1..5 */
	HALL_RATE_NO_COMMENT,      /* a score of 1 or 2 without a comment */
	HALL_RATE_STORE,           /* the store failed: roll back */
};
/*
 * Rates a case in the caller's transaction (the checks in the order above),
 * with its audit entry "hall.rate"; a score of 1 or 2 also opens the
 * rectification case (process hall.rectify) and notifies the department's
 * administrators.  *rating_id, *rectify_id (0 when none) on HALL_RATE_OK;
 * on anything else roll back.
 */
enum hall_rate_rc hall_rate_case(struct store *st, const struct hall_rater *who, int64_t case_id, int score,
				 const char *comment, int64_t *rating_id, int64_t *rectify_id);

/* ---------- appoint.c: appointments (预约) and the hall queue (取号、叫号) ---------- */

/* The routes of appointments, windows and the queue (pages and API); registered by hall_register(). */
extern const struct route hall_appoint_routes[];
/* Registers the desk provider (a person's upcoming appointments, staff's waiting numbers). */
void hall_appoint_register(void);
/* demo_appoint.c: windows, slot templates and bookings of the demo (called by hall_demo_seed). */
int hall_demo_appoint(struct store *st);
/* A new booking code: 8 characters of "23456789ABCDEFGHJKLMNPQRTUVWXYZ" and a check character. */
void hall_appoint_code(char out[10]);

/* ---------- for the applicant's case page (apply.c) ---------- */

/*
 * cert.c: the certificate of a case for its applicant: {"number","title",
 * "issued_on_cn","valid","status","href" (the PDF: /hall/cases/{id}/certificate),
 * "verify_href" (the public verification page, with its token),
 * "file_id" (null until drawn)}; JSON null when the case has none, NULL on
 * a store failure.
 */
json_t *hall_certificate_of_case(struct store *st, int64_t case_id);

/*
 * rating.c: 好差评 of a case for its applicant's page: JSON null when the
 * case cannot be rated (not final, withdrawn, a draft, or itself a
 * rectification), else {"href" (/hall/cases/{id}/rate),"rated":bool,
 * "rating": {"score","label","comment","withdrawn","rectification"}|null}
 * (as GET /api/v1/hall/cases/{id}/rating); NULL on a store failure.
 */
json_t *hall_rating_of_case(struct store *st, int64_t case_id);

/* util.c: JSON getters shared by the hall's files.  hall_jstr: NULL when
 * absent or not a string; hall_jstr0: "" then; hall_jint: an integer, or the
 * decimal text of a form value, else 0. */
const char *hall_jstr(json_t *o, const char *k);
const char *hall_jstr0(json_t *o, const char *k);
int64_t hall_jint(json_t *o, const char *k);

struct calendar;
/* Demo seeding: the case engine's clock set to noon of the working day
 * workdays_ago before today (0: now) until hall_demo_clock_release(). */
void hall_demo_clock(const struct calendar *cal, int workdays_ago);
void hall_demo_clock_release(void);

/* The departments r's user works in, [{id, name}] in tree or role order, each
 * once: where they are dept_admin (and staff, when staff_too); every
 * department for a platform admin.  NULL on a store failure. */
json_t *hall_user_depts(struct req *r, int staff_too);

#endif
