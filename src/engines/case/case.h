/*
 * case: workflow instances ("cases", 办件) of the case engine.
 *
 * A case follows one process definition (procdef.h): it sits in one state,
 * moves by transitions guarded by roles, keeps a timeline of events (each
 * public — shown to the applicant — or internal), attachments and comments,
 * carries a tracking code for the public status page, and runs two clocks
 * side by side: the statutory limit (法定时限) and the promised limit
 * (承诺时限), both counted in working days on the deployment calendar.
 * Service applications, petitions, inquiries, disclosure and data-access
 * requests, document circulation and bulletin submissions are all cases.
 *
 * Transactions
 * ------------
 * Every function that writes does so in the caller's transaction
 * (store_begin ... store_commit) and appends its audit entry there, except
 * case_sweep and case_sweep_full, which run their own transactions, one
 * per batch.  When a function returns anything but CASE_OK the caller
 * rolls back: nothing it did may be kept (a failed statement poisons the
 * transaction anyway).
 *
 * Optimistic locking
 * ------------------
 * A case has a version, 1 at creation and one more at every state change
 * or assignment.  case_act and case_assign take the version the person saw
 * and change the case only if it is still that version ("UPDATE ... WHERE
 * id = $1 AND version = $2"): of two staff acting on the same page at once
 * one wins and the other gets CASE_CONFLICT with nothing changed.  Comments
 * and attachments do not change the version (they never conflict).
 *
 * Clocks (all days are cal_day, see core/calendar.h)
 * ------
 * Each case stores its clock state and counters:
 *   clock_state   wait (not started), run, pause, stop (final state reached)
 *   clock_started the day the clock started (e.g. 受理); it does not count
 *   used_days     working days used before run_since
 *   run_since     the day the current running stretch began
 *   paused_since  the day the current pause began; paused_days in total
 * used(today) = used_days + working days in (run_since, today] while
 * running; the frozen used_days while paused or stopped.  So over the life
 * of a case, used = working days in (started, today] minus the paused
 * working days.  Entering a state:
 *   - whose clock is RUN starts the clock (from wait) or resumes it (from
 *     pause): the deadline moves on by the working days the pause took;
 *   - whose clock is PAUSE pauses a running clock (a clock never started
 *     stays waiting: 补正 before 受理 does not start it);
 *   - WAIT on a started clock pauses it (the clock is never reset);
 *   - a final state stops it;
 *   - a special state (PD_STATE_SPECIAL: 补正, 现场勘验, 专家评审, 听证 …)
 *     pauses unless its name is in the case's special_counts list, in
 *     which case the clock runs through it.
 * Per limit L (statutory, promised; a limit <= 0 has no clock):
 *   deadline = the day on which L working days are used (stored);
 *   light    = red (2) when used > L (the deadline day has passed),
 *              yellow (1) when used >= ceil(warn * L), green (0) otherwise;
 * the case's light is the worse of the two.  Stored on the row with the
 * nearer deadline ("deadline", INT32_MAX when none) so that the inbox is
 * one index range per light.
 *
 * Escalations (procdef's pd_escalation) fire from the sweep when
 * used >= ceil(at * L) on the rule's limit (at=1.0: on the deadline day,
 * when the limit is used up; at=1.2 of 5 days: on the second overdue
 * working day), each once per case (a bit in esc_level; a rule already due
 * when a person acts fires at the next sweep): an internal timeline event
 * titled with the rule's title (系统催办, 电子监察督办) and a notification to
 * the rule's recipients —
 * PD_ROLE_STAFF: the assignee (the department's administrators while
 * nobody is assigned); PD_ROLE_DEPT_ADMIN: the department's
 * administrators; PD_ROLE_SUPERVISOR: every platform admin (电子政务办);
 * PD_ROLE_APPLICANT: the applicant — with dedup key
 * "case:<id>:esc:<rule>".
 *
 * The calendar: case_create, case_act and case_json read the deployment
 * calendar from the store (calendar_load) so an edit applies at once on
 * every node; case_sweep takes the caller's snapshot.
 *
 * Tracking codes
 * --------------
 * CASE_TRACKING_LEN (10) characters from the 32-character alphabet
 * "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" (no 0/O, 1/I): 9 random characters
 * (libsodium CSPRNG, 45 bits) and one check character.  The check is a
 * Damm-style check over GF(32) (x^5 + x^2 + 1): the quasigroup
 * x∘y = 2·x ⊕ y is totally anti-symmetric, so the check catches every
 * single-character substitution and every transposition of two adjacent
 * characters (the check character included).  Printed grouped, 4-4-2:
 * "K7M3-Q9TR-2X".  Input is case-insensitive and ignores hyphens and
 * spaces.  The public status page needs the code and the last four digits
 * of the applicant's phone; a wrong tail answers exactly like an unknown
 * code, and a mistyped code is refused before the store is asked.
 *
 * Ownership: every json_t * returned is new (the caller json_decref()s it);
 * strings passed in are borrowed for the duration of the call.
 */
#ifndef YZ_CASE_H
#define YZ_CASE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/calendar.h"
#include "core/store.h"
#include "engines/case/procdef.h"

enum case_rc {
	CASE_OK = 0,
	CASE_NOT_FOUND,       /* no such case (or tracking code and phone tail do not match) */
	CASE_NO_SUCH_ACTION,  /* the process has no transition of that name */
	CASE_BAD_STATE,       /* the action exists, but not from the case's current state */
	CASE_FORBIDDEN,       /* the actor's roles do not allow it */
	CASE_MISSING_FIELD,   /* a required field is missing (its name in *missing) */
	CASE_CONFLICT,        /* the case changed since the given version: nothing changed */
	CASE_BAD_ASSIGNEE,    /* the assignee is not staff of the case's department */
	CASE_NO_PROCESS,      /* the case's process definition is not loaded */
	CASE_INVALID,         /* a bad argument (empty subject, bad phone tail, bad cursor …) */
	CASE_STORE,           /* the store failed (logged) */
	CASE__MAX
};

/* A message for people (Chinese, from the catalogue) for rc. */
const char *case_strerror(enum case_rc rc);
/* A stable machine-readable code for rc: "NOT_FOUND", "CONFLICT", ... */
const char *case_rc_name(enum case_rc rc);

/* Light of a clock or a case. */
enum case_light { CASE_GREEN = 0, CASE_YELLOW = 1, CASE_RED = 2 };

/*
 * The actor of a call.  roles are the PD_ROLE_* bits the actor holds FOR
 * THIS CASE, computed by the caller: PD_ROLE_APPLICANT when the user is
 * the case's applicant, PD_ROLE_STAFF when staff of the case's department,
 * PD_ROLE_DEPT_ADMIN when its administrator, PD_ROLE_SUPERVISOR for the
 * e-government office.  name is the login name (events and audit).
 */
struct case_actor {
	int64_t user_id;      /* 0 for the system */
	const char *name;     /* NULL: "system" */
	unsigned roles;
};

/* ------------------------------------------------------------ creation */

struct case_new {
	const char *process;         /* procdef name, "<app>.<name>" */
	int64_t dept_id;             /* the owning department */
	int64_t applicant_id;        /* users.id; 0 when none (e.g. an internal circulation) */
	const char *subject;         /* the title people see (1..200 characters) */
	const char *item_code;       /* the service item's code (事项编码); may be NULL */
	int statutory_days;          /* 0 = the process's default */
	int promised_days;           /* 0 = the process's default */
	const char *special_counts;  /* comma list of special states whose time counts; NULL = none */
	const char *phone_tail;      /* last 4 digits of the applicant's phone; NULL = no public look-up */
	json_t *data;                /* the form values (stored as JSON text); may be NULL */
};

#define CASE_TRACKING_LEN 10
#define CASE_TRACKING_PRINT_LEN 12   /* "K7M3-Q9TR-2X" */

/*
 * Creates a case in its process's initial state, version 1, with the event
 * "created" (public) on its timeline, in the caller's transaction.  who
 * may be NULL (the applicant, or the system when there is none).  A clock
 * whose initial state runs starts today.  On CASE_OK sets *id and the
 * tracking code (unformatted, NUL-terminated).
 */
enum case_rc case_create(struct store *st, const struct case_new *n, const struct case_actor *who,
			 int64_t *id, char tracking[CASE_TRACKING_LEN + 1]);

/* ------------------------------------------------------------- actions */

/*
 * Takes transition `action` if the case is still at `version`.  fields
 * (may be NULL) holds the values the transition requires (a required field
 * is present when its value is not null and, for a string, not blank) and
 * an optional "comment" (string) shown on the event.  In the caller's
 * transaction it changes the state, version + 1, the clocks (as "today"
 * of case_set_clock), appends the event (public as the transition says),
 * notifies the applicant of a public event (dedup
 * "case:<id>:event:<event id>", link "/cases/<id>") and appends the audit
 * entry "case.act".  On CASE_MISSING_FIELD *missing (may be NULL) names the
 * first missing field (a string of the procdef, valid while it is loaded).
 * Errors are checked in this order: NOT_FOUND, CONFLICT (stale version),
 * NO_SUCH_ACTION, BAD_STATE, FORBIDDEN, MISSING_FIELD.
 */
enum case_rc case_act(struct store *st, int64_t case_id, int64_t version, const char *action,
		      const struct case_actor *who, json_t *fields, const char **missing);

/*
 * Assigns the case (version + 1) to assignee, who must hold the staff or
 * dept_admin role of the case's department (else CASE_BAD_ASSIGNEE);
 * assignee 0 clears it.  Department admins and supervisors may assign
 * anyone; staff may only take the case themselves (assignee ==
 * who->user_id).  Internal event, notification to the new assignee
 * (dedup "case:<id>:assign:<event id>"), audit "case.assign".
 */
enum case_rc case_assign(struct store *st, int64_t case_id, int64_t version, int64_t assignee,
			 const struct case_actor *who);

/*
 * A comment on the timeline (1..2000 characters), public or internal.  An
 * applicant's comment is always public; an actor with no role for the case
 * gets CASE_FORBIDDEN.  A public comment by staff notifies the applicant; a
 * comment by the applicant notifies the assignee.  Audit "case.comment".
 */
enum case_rc case_comment(struct store *st, int64_t case_id, const struct case_actor *who,
			  const char *text, int public);

/*
 * Records an attachment: a reference to a file of the file store (its id;
 * the file itself is stored elsewhere) with a label (1..200 characters),
 * and an event.  An applicant's attachment is always public.  Audit
 * "case.attach".
 */
enum case_rc case_attach(struct store *st, int64_t case_id, const struct case_actor *who,
			 int64_t file_id, const char *label, int public);

/* ------------------------------------------------------------- reading */

/*
 * The case as JSON, or NULL when it does not exist or the store failed.
 *   {"id","tracking","tracking_print","process","process_title","subject",
 *    "state","state_title","final","dept":{"id","name"},"created_at",
 *    "updated_at","light","light_name",
 *    "clocks":{"state":"wait|run|pause|stop","paused":bool,"started":date|null,
 *              "paused_days":n,
 *              "statutory":{"limit","used","remaining","deadline","light"}|null,
 *              "promised":{...}|null}}
 * With public_view = 0 also "version","item_code","applicant":{"id","name"}|null,
 * "assignee":{"id","name"}|null,"data","special_counts","attachments":[...]
 * (all) and "actions" (case_actions for roles); with public_view = 1 (the
 * anonymous status page) only public attachments and no personal data.
 */
json_t *case_json(struct store *st, int64_t id, unsigned roles, int public_view);

/*
 * The transitions out of state that roles may take:
 *   [{"action","title","to","to_title","require":[names],"public":bool}]
 */
json_t *case_actions(const struct procdef *p, int state, unsigned roles);

/*
 * The timeline, oldest first: [{"id","kind","name","title","from","to",
 * "body","data","public","actor","at","day"}]; kind is created, action,
 * assign, comment, attach or escalate.  public_only keeps the public events
 * and leaves out the actor's id.  NULL on a store failure.
 */
json_t *case_timeline(struct store *st, int64_t id, int public_only);

/*
 * The department's open cases by urgency: red, then yellow, then green;
 * within one light the nearest deadline first (cases without a deadline
 * last), then by id.  state_filter (may be NULL) keeps one state.  after is
 * the "next" cursor of the previous page (NULL for the first); limit 1..200.
 *   *out = {"items":[{"id","tracking_print","subject","state","state_title",
 *            "light","light_name","deadline","assignee_id","version",
 *            "created_at"}], "next": cursor|null}
 * CASE_INVALID for a malformed cursor or limit, CASE_STORE on failure.
 */
enum case_rc case_inbox(struct store *st, int64_t dept_id, const char *state_filter,
			const char *after, int limit, json_t **out);
/* The same, limited to the processes of one application ("hall": hall.*);
 * app NULL is every process (case_inbox). */
enum case_rc case_inbox_app(struct store *st, int64_t dept_id, const char *app,
			    const char *state_filter, const char *after, int limit, json_t **out);

/*
 * Electronic supervision of the process itself: checks the recorded history
 * of the newest `limit` cases (1..10000) against their process definitions.
 * Every step must be a transition of the process out of the state the
 * previous step left, the first step must be the creation in the initial
 * state, and the last must leave the case in its current state.  A case
 * edited outside the engine, or a step taken out of process, breaks this.
 * *out = [{"id","tracking_print","subject","state","process","problem"}]
 * (problem in Chinese), empty when every history is regular.
 */
enum case_rc case_check_history(struct store *st, int limit, json_t **out);

/*
 * The staff page of case id of process (an application's page; the case
 * engine has none): each application serves /<app>/cases/{id} for its
 * processes "<app>.*" (the hall's is the case page itself, the sharing
 * app's redirects to the grant request or the data-quality task).
 * Writes into out (cap bytes).
 */
void case_staff_href(const char *process, int64_t id, char *out, size_t cap);

/* ------------------------------------------------------- tracking codes */

/* A new random code (unformatted) with its check character. */
void case_tracking_new(char out[CASE_TRACKING_LEN + 1]);
/* The check character for the first n (< 64) characters of body (alphabet characters). */
char case_tracking_check(const char *body, size_t n);
/*
 * Normalises what a person typed (case-insensitive; hyphens and spaces
 * ignored) into the stored form.  0 when it is a well-formed code with a
 * right check character, -1 otherwise (out is then unspecified).
 */
int case_tracking_normalize(const char *in, char out[CASE_TRACKING_LEN + 1]);
/* "K7M3Q9TR2X" -> "K7M3-Q9TR-2X" */
void case_tracking_print(const char *code, char out[CASE_TRACKING_PRINT_LEN + 1]);

/*
 * The public look-up: the case whose tracking code is code (as typed) and
 * whose phone tail is phone_tail.  A malformed code or a bad check
 * character answers CASE_NOT_FOUND without touching the store; a wrong or
 * missing phone tail answers CASE_NOT_FOUND too (no oracle).  The caller
 * throttles attempts.
 */
enum case_rc case_find_tracking(struct store *st, const char *code, const char *phone_tail,
				int64_t *id);

/* --------------------------------------------------------------- sweep */

struct case_sweep_stats {
	int64_t scanned;     /* running cases looked at */
	int64_t changed;     /* rows written (light, deadline, escalation or next check changed) */
	int64_t escalated;   /* escalations fired */
};

/*
 * The deadline sweep.  Each running case stores next_check, the first day
 * on which its light or an escalation may change (computed whenever the
 * case is written).  case_sweep reads only the running cases due by
 * `today` (index cases_due), in batches of CASE_SWEEP_BATCH, each batch in
 * a transaction of its own (call it outside a transaction); recomputes
 * their clocks from the stored counters on the snapshot cal; writes the
 * rows whose deadlines, light, escalations or next check changed; and
 * fires the escalations that became due (see above), each once.  A row
 * changed meanwhile by a person (another version) is left alone: that
 * write computed its clock.  So a sweep costs in proportion to the cases
 * whose state changes, not to the open cases.  Run it often (hourly, and
 * once a day soon after midnight).
 *
 * case_sweep_full does the same over every running case by id; run it at
 * start-up (process definitions may have changed) and after every edit of
 * the calendar (deadlines move, and next_check with them).
 *
 * Both return 0, or -1 on a store failure (the batches already committed
 * stay; the next sweep carries on).
 */
#define CASE_SWEEP_BATCH 5000
int case_sweep(struct store *st, const struct calendar *cal, cal_day today,
	       struct case_sweep_stats *out);
int case_sweep_full(struct store *st, const struct calendar *cal, cal_day today,
		    struct case_sweep_stats *out);

/* Tests: the clock giving "today" and timestamps (NULL: time()). Set before threads start. */
void case_set_clock(time_t (*now)(void));

#endif
