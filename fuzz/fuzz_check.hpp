// Property checks shared by the libFuzzer targets (docs/testing.md). A
// failed check prints which property broke and aborts; libFuzzer reports
// that as a crash and saves the input, which then becomes a seed in
// tests/fuzz/corpus/<target>/ and a doctest regression test.
#pragma once

#include "util/result.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kanari::fuzz {

[[noreturn]] inline void fail(const char* file, int line, const char* what, std::string_view detail) {
  std::fprintf(stderr, "%s:%d: property does not hold: %s\n", file, line, what);
  if (!detail.empty())
    std::fprintf(stderr, "  %s\n", escape_invalid_utf8(detail).c_str());
  std::abort();
}

// An anticipated failure is reported the way SPEC §3.2 promises: with one
// of the exit codes the function documents and a message the CLI can print
// as it is (non-empty, valid UTF-8).
inline void check_error(const Error& e, std::initializer_list<ErrorCode> allowed, const char* file, int line) {
  if (std::find(allowed.begin(), allowed.end(), e.code) == allowed.end())
    fail(file, line, "the error code is one the function documents",
         "exit code " + std::to_string(static_cast<int>(e.code)) + ": " + e.message);
  if (e.message.empty())
    fail(file, line, "the error message is not empty", "");
  if (!is_valid_utf8(e.message))
    fail(file, line, "the error message is valid UTF-8", e.message);
}

} // namespace kanari::fuzz

#define KANARI_FUZZ_CHECK(cond, detail)                                                                                \
  do {                                                                                                                 \
    if (!(cond))                                                                                                       \
      ::kanari::fuzz::fail(__FILE__, __LINE__, #cond, (detail));                                                       \
  } while (0)

#define KANARI_FUZZ_CHECK_ERROR(error, ...) ::kanari::fuzz::check_error((error), {__VA_ARGS__}, __FILE__, __LINE__)
