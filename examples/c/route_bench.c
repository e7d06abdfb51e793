/*
 * route_bench: route calls per second through libkanari's C API.
 *
 *   route_bench STATE_DIR [N]
 *
 * Routes the keys user-0 .. user-(N-1) (default 100000) on the default track
 * three ways: kanari_route always current (the default: the routing table
 * read again only when something was committed), kanari_route with a 1 s
 * route cache, and kanari_route_many.
 */
#include <kanari/kanari.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double seconds(void) {
  struct timespec t;
  timespec_get(&t, TIME_UTC);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: route_bench STATE_DIR [N]\n");
    return 2;
  }
  const size_t n = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 100000;
  kanari_store* h = NULL;
  if (kanari_open(argv[1], "route_bench", 0, &h) != KANARI_OK) {
    fprintf(stderr, "route_bench: %s\n", kanari_last_error(NULL));
    return 3;
  }
  char(*keys)[32] = malloc(n * sizeof *keys);
  const char** ptrs = malloc(n * sizeof *ptrs);
  kanari_route_decision* out = malloc(n * sizeof *out);
  if (!keys || !ptrs || !out || n == 0)
    return 3;
  for (size_t i = 0; i < n; ++i) {
    snprintf(keys[i], sizeof keys[i], "user-%zu", i);
    ptrs[i] = keys[i];
  }
  size_t canary = 0;
  for (int cached = 0; cached < 2; ++cached) {
    kanari_set_route_cache_ms(h, cached ? 1000 : 0);
    const double t0 = seconds();
    for (size_t i = 0; i < n; ++i) {
      if (kanari_route(h, NULL, keys[i], NULL, &out[i]) != KANARI_OK) {
        fprintf(stderr, "route_bench: %s\n", kanari_last_error(h));
        return 3;
      }
      canary += out[i].arm == KANARI_ARM_CANARY;
    }
    const double dt = seconds() - t0;
    printf("kanari_route, %-28s %8zu calls in %.3f s: %10.0f routes/s\n",
           cached ? "route cache 1000 ms:" : "always current:     ", n, dt, (double)n / dt);
  }
  const double t0 = seconds();
  if (kanari_route_many(h, NULL, ptrs, n, out) != KANARI_OK) {
    fprintf(stderr, "route_bench: %s\n", kanari_last_error(h));
    return 3;
  }
  const double dt = seconds() - t0;
  printf("kanari_route_many, one call:  %8zu keys  in %.3f s: %10.0f routes/s\n", n, dt, (double)n / dt);
  fprintf(stderr, "(%zu of %zu keys on the canary)\n", canary / 2, n);
  kanari_close(h);
  free(keys);
  free(ptrs);
  free(out);
  return 0;
}
