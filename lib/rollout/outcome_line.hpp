// A strict parser for one JSONL outcome line: a flat JSON object of
// scalars, where a value may also be one object of names and numbers (an
// outcome's "metrics"). It accepts exactly RFC 8259 JSON (strings with every escape and
// surrogate pairs, the full number grammar, valid UTF-8) but only the shape
// an outcome has, and builds no tree: a million-line import spends its time
// in the store, not in the parser. Fuzzed by fuzz/fuzz_outcome_line.cpp.
#pragma once

#include "util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kanari::rollout {

struct JsonScalar {
  enum class Kind { null, boolean, integer, number, string, object } kind = Kind::null;
  bool boolean = false;
  std::int64_t integer = 0; // Kind::integer (also in `number`)
  double number = 0;        // Kind::integer and Kind::number
  std::string text;         // Kind::string, unescaped UTF-8
  // Kind::object: its members in order, each value a number (one level:
  // no nested objects, arrays, strings or null inside).
  std::vector<std::pair<std::string, double>> members;
};

// Calls on_member(key, value) for each member in order; stops at the first
// error from the callback. Errors are usage errors describing the problem.
template <typename OnMember> Result<void> parse_flat_object(std::string_view line, OnMember&& on_member);

namespace detail {

class FlatObjectParser {
public:
  explicit FlatObjectParser(std::string_view s) : m_s(s) {}
  Result<void> begin();                                   // '{'
  Result<bool> next(std::string& key, JsonScalar& value); // false at '}'
  Result<void> end();                                     // nothing but whitespace left

private:
  void skip_ws();
  Result<bool> member_key(bool first, std::string& key);
  Result<void> parse_string(std::string& out);
  Result<void> parse_value(JsonScalar& v);
  Result<void> parse_number(JsonScalar& v);
  Result<void> parse_members(JsonScalar& v);
  Error error(const std::string& what) const;

  std::string_view m_s;
  size_t m_pos = 0;
  bool m_first = true;
};

} // namespace detail

template <typename OnMember> Result<void> parse_flat_object(std::string_view line, OnMember&& on_member) {
  detail::FlatObjectParser p(line);
  KANARI_TRY(p.begin());
  std::string key;
  JsonScalar value;
  while (true) {
    auto more = p.next(key, value);
    KANARI_TRY(more);
    if (!*more)
      break;
    KANARI_TRY(on_member(key, value));
  }
  return p.end();
}

} // namespace kanari::rollout
