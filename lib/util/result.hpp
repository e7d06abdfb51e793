// Result<T>: the two-tier error model (ccache's util/expected.hpp).
//
// Anticipated failures (bad input, missing store, illegal transition) are
// returned as Result<T> carrying an Error whose code maps 1:1 to the exit
// codes of docs/cli.md. The unexpected (a bug, std::bad_alloc) throws and is
// caught once, at the top of cli::run. g++ 12 has no std::expected, so this
// is the small subset of it that kanari uses.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kanari {

// The values are the process exit codes of docs/cli.md.
enum class ErrorCode : int {
  negative = 1,    // a negative verdict or a failed verification
  usage = 2,       // bad flag, value out of range, malformed input
  operational = 3, // I/O, database, missing store, crypto
  not_found = 4,   // unknown or ambiguous reference
  conflict = 5,    // transition not allowed in the current state
  timed_out = 6,   // `canary wait` gave up: the timeout passed first
};

struct Error {
  ErrorCode code;
  std::string message;
};

inline Error usage_error(std::string m) { return {ErrorCode::usage, std::move(m)}; }
inline Error operational_error(std::string m) { return {ErrorCode::operational, std::move(m)}; }
inline Error not_found_error(std::string m) { return {ErrorCode::not_found, std::move(m)}; }
inline Error conflict_error(std::string m) { return {ErrorCode::conflict, std::move(m)}; }
inline Error negative_error(std::string m) { return {ErrorCode::negative, std::move(m)}; }

template <typename T> class [[nodiscard]] Result {
public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(m_v);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(m_v);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(m_v);
  }

private:
  std::variant<T, Error> m_v;
};

template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : m_error(std::move(error)) {}

  bool ok() const { return !m_error.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(!ok());
    return *m_error;
  }

private:
  std::optional<Error> m_error;
};

} // namespace kanari

// Propagate an error from an expression returning Result<...>.
#define KANARI_TRY(expr)                                                                                               \
  do {                                                                                                                 \
    auto&& kanari_try_result_ = (expr);                                                                                \
    if (!kanari_try_result_.ok())                                                                                      \
      return kanari_try_result_.error();                                                                               \
  } while (0)
