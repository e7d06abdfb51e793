/*
 * kanari.h: the C API of libkanari, the library behind the `kanari` CLI.
 *
 * An agent runtime (C, Python via ctypes, Go via cgo, Node via ffi) routes
 * keys, records outcomes and evaluates gates in-process, against the same
 * store and with the same code the CLI uses. docs/library.md is the manual;
 * the rules in brief:
 *
 * - Status: every function that can fail returns a kanari_status, whose
 *   values equal the CLI's exit codes (docs/cli.md). Nothing throws across this
 *   boundary, nothing exits, nothing prints.
 * - Errors: after a failure, kanari_last_error(handle) is the message of the
 *   calling thread's last failed call on that handle, kanari_last_error(NULL)
 *   the message of the calling thread's last failed call (with or without a
 *   handle). The text stays valid until the calling thread's next failing
 *   call on that handle (any call, for NULL).
 * - Ownership: strings of unbounded length (JSON documents) are returned as
 *   malloc'd char* owned by the caller, released with kanari_free(). Version
 *   ids (64 hex characters) are written into caller memory of
 *   KANARI_ID_SIZE bytes, NUL-terminated. Input strings are borrowed for the
 *   duration of the call only.
 * - Threads: any number of threads may each use their own kanari_store*, or
 *   share one: calls on one handle are serialised inside it (one at a time;
 *   open a handle per thread to run them in parallel). kanari_close while
 *   another thread is still in a call on that handle is the caller's bug.
 *   Handle-free functions are safe from any thread.
 * - ABI: the SONAME is libkanari.so.<KANARI_ABI_VERSION>. Within one ABI
 *   version functions may be added, never changed or removed, and no struct
 *   changes layout; anything else bumps it (and the SONAME). Every function
 *   carries the symbol version of the release that added it (KANARI_1.0,
 *   KANARI_1.1, KANARI_1.2, marked "(ABI 1.1)", "(ABI 1.2)" below), so a program that needs a newer
 *   function fails to load against an older library, naming the version.
 */
#ifndef KANARI_KANARI_H
#define KANARI_KANARI_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define KANARI_API __attribute__((visibility("default")))
#else
#define KANARI_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define KANARI_ABI_VERSION 1
/* 64 hex characters and a NUL. */
#define KANARI_ID_SIZE 65

/* The CLI's exit codes (docs/cli.md). */
typedef enum kanari_status {
  KANARI_OK = 0,
  KANARI_NEGATIVE = 1,    /* a ROLLBACK verdict (the call itself succeeded) */
  KANARI_USAGE = 2,       /* invalid argument or input; nothing was written */
  KANARI_OPERATIONAL = 3, /* I/O, database, missing store, out of memory */
  KANARI_NOT_FOUND = 4,   /* unknown or ambiguous reference, track without a stable */
  KANARI_CONFLICT = 5     /* not allowed in the current state */
} kanari_status;

/* KANARI_ARM_PREVIOUS only from kanari_route_session: a session kept on a
 * version that is neither arm now (an old stable after a promotion, a
 * rolled-back canary draining). */
typedef enum kanari_arm { KANARI_ARM_STABLE = 0, KANARI_ARM_CANARY = 1, KANARI_ARM_PREVIOUS = 2 } kanari_arm;

typedef enum kanari_verdict {
  KANARI_VERDICT_PROMOTE = 0,
  KANARI_VERDICT_HOLD = 1,
  KANARI_VERDICT_ROLLBACK = 2,
  KANARI_VERDICT_INSUFFICIENT_DATA = 3,
  KANARI_VERDICT_AWAITING_APPROVAL = 4,
  KANARI_VERDICT_NO_CANARY = 5
} kanari_verdict;

/* An open store. Opaque; may be shared by threads (calls are serialised). */
typedef struct kanari_store kanari_store;

/* ---- library ------------------------------------------------------------ */

/* The library's version, e.g. "0.1.0". Static storage. */
KANARI_API const char* kanari_version(void);

/* The message of the calling thread's last failed call on `store`, or with
 * store == NULL of the calling thread's last failed call on any handle or
 * none. "" when there was none. */
KANARI_API const char* kanari_last_error(const kanari_store* store);

/* Releases a string returned by this library. NULL is allowed. */
KANARI_API void kanari_free(void* p);

/* ---- the store ---------------------------------------------------------- */

/* kanari_open flags */
#define KANARI_OPEN_CREATE 1u /* create the store if missing (as `kanari init`) */

/* Opens the store at `state_dir`, like the CLI's --state: the directory
 * holding kanari.db, or a postgresql:// URI (docs/operations.md). `actor` (NULL: "unknown") is recorded in the events
 * this handle writes. Without KANARI_OPEN_CREATE a missing store fails with KANARI_OPERATIONAL. On failure *out is
 * NULL; read kanari_last_error(NULL). */
KANARI_API kanari_status kanari_open(const char* state_dir, const char* actor, unsigned flags, kanari_store** out);

/* Closes the handle. NULL is allowed. No other thread may be in a call on
 * it, or call it afterwards. */
KANARI_API void kanari_close(kanari_store* store);

/* How long (milliseconds) a route call may reuse a track's routing table
 * (stable, rollout, salt, percentage) before reading it again. 0, the
 * default, makes a route reflect the rollout as committed: on SQLite the
 * very next call sees any commit, on PostgreSQL a call within a second does
 * (usually within tens of milliseconds), and the table is read again only
 * after a commit, so that costs little. A positive value trades that for
 * speed: after a promote or rollback by another process the handle may
 * route by the old table for up to `ms`. Calls on this handle that change
 * the rollout clear the cache. */
KANARI_API kanari_status kanari_set_route_cache_ms(kanari_store* store, int64_t ms);

/* ---- routing (docs/routing.md) -------------------------------------------------- */

typedef struct kanari_route_decision {
  char version[KANARI_ID_SIZE]; /* the version that serves the key */
  int arm;                      /* kanari_arm of that version */
  int32_t bucket;               /* 0..9999; -1 when no rollout is open */
  int shadow;                   /* 1: mirror this task to the canary (a shadow step) */
  char canary[KANARI_ID_SIZE];  /* the open rollout's canary, "" when none */
} kanari_route_decision;

/* Which version serves `key` (non-empty UTF-8) on `track` (NULL: "default")
 * now. With `task` non-NULL the assignment is remembered so that an outcome
 * for that task needs no version (as `kanari route --key K --task ID`).
 * KANARI_NOT_FOUND when the track has no stable version. */
KANARI_API kanari_status kanari_route(kanari_store* store, const char* track, const char* key, const char* task,
                                      kanari_route_decision* out);

/* Routes `n` keys with one read of the routing table (`route --keys`): at
 * hashing speed. out[i] is the decision for keys[i]. */
KANARI_API kanari_status kanari_route_many(kanari_store* store, const char* track, const char* const* keys, size_t n,
                                           kanari_route_decision* out);

/* ---- sessions (docs/routing.md, "Sessions") ----------------------------------- */

typedef struct kanari_session_route {
  kanari_route_decision decision;  /* the pinned version; arm may be KANARI_ARM_PREVIOUS */
  int pinned;                      /* 1: this call pinned the session (new, ended or expired) */
  int moved;                       /* 1: it has another version than before: reset the conversation */
  char moved_from[KANARI_ID_SIZE]; /* the version its last move took it from ("" if never moved) */
  int draining;                    /* 1: pinned to a rolled-back canary until drain_until_ms */
  int64_t requests;                /* the session's requests since it was pinned, this one included */
  int64_t expires_at_ms;           /* idle until then, the session is over */
  int64_t drain_until_ms;          /* 0 unless draining */
} kanari_session_route;

/* Routes `session` (1 to 256 bytes of UTF-8) on `track` (NULL: "default")
 * as `kanari route --session ID [--task T]` does: like a key on its first
 * request, then the version it is pinned to until kanari_session_end or idle
 * past the policy's session_ttl_seconds. Always reads and writes the store
 * (the pin, its expiry, the request count), in one transaction. (ABI 1.2) */
KANARI_API kanari_status kanari_route_session(kanari_store* store, const char* track, const char* session,
                                              const char* task, kanari_session_route* out);

/* Ends `session` on `track`: its next route pins it afresh. KANARI_NOT_FOUND
 * when it was never routed; ending an ended or expired one changes nothing.
 * (ABI 1.2) */
KANARI_API kanari_status kanari_session_end(kanari_store* store, const char* track, const char* session);

/* ---- the outcome ledger (docs/cli.md `record`) ------------------------------ */

/* kanari_outcome.has: which optional fields are set */
#define KANARI_HAS_LATENCY_MS 1u
#define KANARI_HAS_COST 2u
#define KANARI_HAS_TOKENS 4u
#define KANARI_HAS_SCORE 8u
#define KANARI_HAS_AT 16u

/* One named measurement of an outcome (docs/gates.md, "Metrics"): a name
 * matching [a-z][a-z0-9_]{0,63} and a finite value. */
typedef struct kanari_metric {
  const char* name;
  double value;
} kanari_metric;

typedef struct kanari_outcome {
  const char* track;   /* NULL: "default" */
  const char* task;    /* 1 to 256 bytes of UTF-8 */
  const char* version; /* a REF (id, prefix, "stable", "canary"); NULL: the task's routed assignment */
  int pass;            /* nonzero: the task passed */
  unsigned has;        /* KANARI_HAS_* bits for the fields below */
  double latency_ms;
  double cost;
  int64_t tokens;
  double score;
  int64_t at_ms;     /* milliseconds since the Unix epoch; without KANARI_HAS_AT: now */
  const char* error; /* an error code, NULL when none */
  /* The outcome's own metrics: `n_metrics` (at most 32) entries at
   * `metrics`, each name once; NULL with 0 for none. (ABI 1) */
  const kanari_metric* metrics;
  size_t n_metrics;
} kanari_outcome;

typedef struct kanari_record_summary {
  int64_t inserted;
  int64_t duplicates; /* repeats with the same fields: skipped (retries are safe) */
  int64_t conflicts;  /* repeats with different fields: not stored, first write wins */
  int64_t invalid;    /* skipped invalid JSONL lines (skip_invalid only) */
} kanari_record_summary;

/* Stores one outcome. `summary` may be NULL. */
KANARI_API kanari_status kanari_record(kanari_store* store, const kanari_outcome* outcome,
                                       kanari_record_summary* summary);

/* Stores one outcome against the version `session` is pinned to (as
 * `kanari record --task T --session ID`); outcome->version must be NULL.
 * KANARI_NOT_FOUND when the session was never routed. (ABI 1.2) */
KANARI_API kanari_status kanari_record_session(kanari_store* store, const kanari_outcome* outcome, const char* session,
                                               kanari_record_summary* summary);

/* Stores `n` outcomes in one transaction: all or nothing. On invalid input
 * nothing is stored and the message names the index ("outcome 3: ..."). */
KANARI_API kanari_status kanari_record_batch(kanari_store* store, const kanari_outcome* outcomes, size_t n,
                                             kanari_record_summary* summary);

/* Stores JSON Lines (`record --jsonl`): `len` bytes of text, one object per
 * line. `default_track` NULL: "default". With skip_invalid nonzero invalid
 * lines are skipped and counted, otherwise one bad line stores nothing. */
KANARI_API kanari_status kanari_record_jsonl(kanari_store* store, const char* jsonl, size_t len,
                                             const char* default_track, int skip_invalid,
                                             kanari_record_summary* summary);

/* ---- gates (docs/gates.md) ---------------------------------------------------- */

/* kanari_evaluate flags */
#define KANARI_EVALUATE_APPLY 1u /* perform the verdict, as `canary evaluate --apply` */

/* The gate's verdict for `track` (NULL: "default"), as `kanari canary
 * evaluate --json`. `verdict` and `json` may be NULL; *json, when produced,
 * is the CLI's JSON object (verdict, applied, action, canary, stable,
 * reasons, evidence, ...), to be released with kanari_free(). Returns
 * KANARI_NEGATIVE when the verdict is ROLLBACK, like the CLI's exit 1. */
KANARI_API kanari_status kanari_evaluate(kanari_store* store, const char* track, unsigned flags, int* verdict,
                                         char** json);

/* The counts a runtime that keeps its own tallies hands to the pure gate. */
#define KANARI_HAS_LATENCY_P95 1u
#define KANARI_HAS_COST_MEAN 2u
#define KANARI_HAS_TOKENS_MEAN 4u

typedef struct kanari_arm_counts {
  int64_t n;
  int64_t pass;
  int64_t errors; /* outcomes with an error code (error_rate gates) */
  unsigned has;   /* KANARI_HAS_LATENCY_P95 | KANARI_HAS_COST_MEAN | KANARI_HAS_TOKENS_MEAN */
  double latency_p95_ms;
  double cost_mean;
  double tokens_mean;
} kanari_arm_counts;

typedef struct kanari_gate_input {
  kanari_arm_counts canary; /* the current step's canary outcomes */
  kanari_arm_counts stable; /* the stable baseline (docs/gates.md) */
  int64_t step_elapsed_seconds;
  int paused;             /* nonzero: never PROMOTE */
  int final_step;         /* nonzero: promoting now makes the canary stable */
  int approved;           /* nonzero: the current step's approval was granted */
  int64_t promote_streak; /* PROMOTE verdicts already seen in a row this step */
} kanari_gate_input;

/* The pure gate (docs/gates.md) on counts, no store. `policy_json` is a
 * policy object as for `canary start --policy` (NULL or "": the defaults).
 * `verdict` and `json` may be NULL; *json is {"verdict", "apply_promote",
 * "reasons", "evidence", "more_canary_tasks"}, released with kanari_free().
 * Returns KANARI_NEGATIVE for ROLLBACK, KANARI_USAGE for an invalid policy
 * or impossible counts (pass > n, negative). */
KANARI_API kanari_status kanari_gate(const char* policy_json, const kanari_gate_input* input, int* verdict,
                                     char** json);

/* ---- a version's content (docs/library.md, "Loading a version's prompt") --- */

/* The exact bytes of component `name` of `version`, the same bytes `kanari
 * version cat VERSION NAME` prints: `version` is a full id or a unique prefix
 * of 4+ hex characters (or stable / canary of the track "default"), `name` a
 * component's name as `kanari version show` lists it, or "model.json" for
 * the canonical model JSON and a newline. On success *data is a malloc'd
 * buffer of *len bytes plus a terminating NUL that *len does not count (so a
 * text prompt is also a C string), released with kanari_free(); on failure
 * *data is NULL and *len 0. KANARI_NOT_FOUND for an unknown version or name
 * (the message lists the version's names). Versions are immutable, so bytes
 * read by full id may be cached for ever. (ABI 1.1) */
KANARI_API kanari_status kanari_component(kanari_store* store, const char* version, const char* name, char** data,
                                          size_t* len);

/* The model configuration of `version` (as for kanari_component) as
 * canonical JSON text (sorted keys, no spaces, no newline), malloc'd and
 * NUL-terminated, released with kanari_free(); NULL on failure. (ABI 1.1) */
KANARI_API kanari_status kanari_model(kanari_store* store, const char* version, char** json);

/* ---- hashing (docs/hashing.md) -------------------------------------------------- */

/* The version id of a manifest given as JSON text in the docs/hashing.md form:
 *   {"components": [{"bytes": N, "kind": "prompt"|"tool"|"file",
 *                    "name": S, "sha256": H}, ...],
 *    "format": "kanari.manifest.v1", "model": {...}}
 * Components may come in any order ("format" may be left out). The id is
 * written to id_out (KANARI_ID_SIZE bytes). */
KANARI_API kanari_status kanari_version_id(const char* manifest_json, char* id_out);

#ifdef __cplusplus
}
#endif

#endif /* KANARI_KANARI_H */
