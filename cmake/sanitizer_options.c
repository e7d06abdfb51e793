/* Default runtime options of a sanitizer build (KANARI_SANITIZE), compiled
 * into every executable so that ctest, the spawned kanari binary and a
 * manual run all behave alike: every finding is fatal and aborts (so a
 * child's ASan report can never pass for one of kanari's own exit codes),
 * and LeakSanitizer reports leaks at exit. ASAN_OPTIONS / UBSAN_OPTIONS in
 * the environment still override single options. */

__attribute__((used, visibility("default"))) const char* __asan_default_options(void);
__attribute__((used, visibility("default"))) const char* __ubsan_default_options(void);

const char* __asan_default_options(void) {
  return "detect_leaks=1:halt_on_error=1:abort_on_error=1:strict_string_checks=1:"
         "detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1";
}

const char* __ubsan_default_options(void) { return "halt_on_error=1:abort_on_error=1:print_stacktrace=1"; }
