/*
 * route_and_record: an agent runtime's loop through libkanari's C API.
 *
 *   route_and_record STATE_DIR [N]
 *
 * Routes the keys user-0 .. user-(N-1) (default 100) on the default track,
 * prints one line per key in the format of `kanari route --keys`
 * (key TAB arm TAB version), records one outcome per key in one batch (task
 * c-task-I, the routed version, every fifth a failure, with a metric), then
 * asks the gate. Before each task it loads the routed version's prompt (the
 * component "system") and model config, as a runtime does, and checks that
 * the canary's tasks got the canary's prompt.
 * Also checks the error contract and two pure functions, and exits 1 on any
 * mismatch, so tests/capi runs it as a test. Uses only <kanari/kanari.h>.
 */
#include <kanari/kanari.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define EXPECT(cond)                                                                                                   \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "route_and_record: check failed at line %d: %s\n", __LINE__, #cond);                             \
      ++failures;                                                                                                      \
    }                                                                                                                  \
  } while (0)

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: route_and_record STATE_DIR [N]\n");
    return 2;
  }
  const char* state = argv[1];
  const size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 100;

  /* A missing store is an operational error that says what to do. */
  kanari_store* h = NULL;
  char missing[4096];
  snprintf(missing, sizeof missing, "%s/does-not-exist", state);
  EXPECT(kanari_open(missing, NULL, 0, &h) == KANARI_OPERATIONAL);
  EXPECT(h == NULL);
  EXPECT(strstr(kanari_last_error(NULL), "kanari init") != NULL);

  if (kanari_open(state, "c-example", 0, &h) != KANARI_OK) {
    fprintf(stderr, "route_and_record: %s\n", kanari_last_error(NULL));
    return 3;
  }

  kanari_route_decision* routes = calloc(n, sizeof *routes);
  kanari_outcome* outcomes = calloc(n, sizeof *outcomes);
  char(*keys)[32] = calloc(n, sizeof *keys);
  char(*tasks)[32] = calloc(n, sizeof *tasks);
  if (!routes || !outcomes || !keys || !tasks) {
    fprintf(stderr, "route_and_record: out of memory\n");
    return 3;
  }

  /* Versions are immutable: a runtime loads each version's prompt once. */
  char stable_prompt[64] = "", canary_prompt[64] = "";
  kanari_metric* metrics = calloc(n, sizeof *metrics);
  if (!metrics) {
    fprintf(stderr, "route_and_record: out of memory\n");
    return 3;
  }

  size_t canary = 0;
  for (size_t i = 0; i < n; ++i) {
    snprintf(keys[i], sizeof keys[i], "user-%zu", i);
    snprintf(tasks[i], sizeof tasks[i], "c-task-%zu", i);
    kanari_route_decision* r = &routes[i];
    if (kanari_route(h, NULL, keys[i], NULL, r) != KANARI_OK) {
      fprintf(stderr, "route_and_record: %s\n", kanari_last_error(h));
      return 3;
    }
    EXPECT(strlen(r->version) == 64);
    EXPECT(r->bucket >= -1 && r->bucket < 10000);
    printf("%s\t%s\t%s%s\n", keys[i], r->arm == KANARI_ARM_CANARY ? "canary" : "stable", r->version,
           r->shadow ? "\tshadow" : "");
    canary += r->arm == KANARI_ARM_CANARY;

    char* prompt_cache = r->arm == KANARI_ARM_CANARY ? canary_prompt : stable_prompt;
    if (!*prompt_cache) {
      char* prompt = NULL;
      size_t len = 0;
      if (kanari_component(h, r->version, "system", &prompt, &len) != KANARI_OK) {
        fprintf(stderr, "route_and_record: %s\n", kanari_last_error(h));
        return 3;
      }
      EXPECT(len == strlen(prompt) && len < 64);
      snprintf(prompt_cache, 64, "%s", prompt);
      kanari_free(prompt);
      char* model = NULL;
      EXPECT(kanari_model(h, r->version, &model) == KANARI_OK);
      EXPECT(model != NULL && model[0] == '{');
      kanari_free(model);
    }
    /* tests/capi/run_c_example.sh gives the canary "You are agent B.\n". */
    EXPECT(strcmp(prompt_cache, r->arm == KANARI_ARM_CANARY ? "You are agent B.\n" : "You are agent A.\n") == 0);

    kanari_outcome* o = &outcomes[i];
    o->task = tasks[i];
    o->version = r->version;
    o->pass = i % 5 != 0;
    o->has = KANARI_HAS_LATENCY_MS;
    o->latency_ms = 200.0 + (double)i;
    metrics[i].name = "tool_calls";
    metrics[i].value = (double)(i % 4);
    o->metrics = &metrics[i];
    o->n_metrics = 1;
  }

  kanari_record_summary s;
  EXPECT(kanari_record_batch(h, outcomes, n, &s) == KANARI_OK);
  EXPECT(s.inserted == (int64_t)n);
  /* A retry of the whole batch is safe: all duplicates. */
  EXPECT(kanari_record_batch(h, outcomes, n, &s) == KANARI_OK);
  EXPECT(s.inserted == 0 && s.duplicates == (int64_t)n);

  int verdict = -1;
  char* json = NULL;
  kanari_status st = kanari_evaluate(h, NULL, 0, &verdict, &json);
  EXPECT(st == KANARI_OK || st == KANARI_NEGATIVE);
  EXPECT(json != NULL && strstr(json, "\"verdict\"") != NULL);
  fprintf(stderr, "route_and_record: %zu of %zu keys on the canary; gate: %s\n", canary, n, json ? json : "?");
  kanari_free(json);

  /* The pure gate: 7/10 against 8/10 is exactly 10 points, not a rollback. */
  kanari_gate_input in;
  memset(&in, 0, sizeof in);
  in.canary.n = 10;
  in.canary.pass = 7;
  in.stable.n = 10;
  in.stable.pass = 8;
  EXPECT(kanari_gate(NULL, &in, &verdict, NULL) == KANARI_OK);
  EXPECT(verdict == KANARI_VERDICT_HOLD);
  in.canary.pass = 6;
  EXPECT(kanari_gate(NULL, &in, &verdict, NULL) == KANARI_NEGATIVE);
  EXPECT(verdict == KANARI_VERDICT_ROLLBACK);

  /* A version id from a manifest (docs/hashing.md, the first published vector). */
  char id[KANARI_ID_SIZE];
  EXPECT(kanari_version_id("{\"components\":[{\"bytes\":36,\"kind\":\"prompt\",\"name\":\"roles/backend.md\","
                           "\"sha256\":\"e5b3badda86618a1147379c759ac5a27f96796e3bc7cdebc8adbda957ef5843b\"}],"
                           "\"format\":\"kanari.manifest.v1\",\"model\":{}}",
                           id) == KANARI_OK);
  EXPECT(strcmp(id, "4ead50708b785ca7983f8964dbe336066de45f93b0cb7f1bad2c6ef66a886a33") == 0);

  EXPECT(kanari_route(h, NULL, "", NULL, &routes[0]) == KANARI_USAGE);
  EXPECT(strlen(kanari_last_error(h)) > 0);

  /* An unknown component: not found, the message lists the names there are. */
  char* data = (char*)1;
  size_t len = 1;
  EXPECT(kanari_component(h, routes[0].version, "missing.md", &data, &len) == KANARI_NOT_FOUND);
  EXPECT(data == NULL && len == 0);
  EXPECT(strstr(kanari_last_error(h), "'system'") != NULL);
  EXPECT(kanari_model(h, "ffffffffffff", &data) == KANARI_NOT_FOUND);

  kanari_close(h);
  free(routes);
  free(outcomes);
  free(keys);
  free(tasks);
  free(metrics);
  return failures ? 1 : 0;
}
