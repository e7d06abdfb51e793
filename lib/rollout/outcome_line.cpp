#include "rollout/outcome_line.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace kanari::rollout::detail {

Error FlatObjectParser::error(const std::string& what) const {
  return usage_error("not valid JSON at byte " + std::to_string(m_pos + 1) + ": " + what);
}

void FlatObjectParser::skip_ws() {
  while (m_pos < m_s.size() && (m_s[m_pos] == ' ' || m_s[m_pos] == '\t' || m_s[m_pos] == '\n' || m_s[m_pos] == '\r'))
    ++m_pos;
}

Result<void> FlatObjectParser::begin() {
  skip_ws();
  if (m_pos == m_s.size() || m_s[m_pos] != '{')
    return usage_error("each line must be a JSON object like {\"task\": \"t1\", \"pass\": true}");
  ++m_pos;
  return {};
}

// Up to a member's value: "}" (false), or a ',' unless `first`, the key, ':'
// (true). Shared by the outcome object and its metrics object.
Result<bool> FlatObjectParser::member_key(bool first, std::string& key) {
  skip_ws();
  if (m_pos < m_s.size() && m_s[m_pos] == '}') {
    ++m_pos;
    return false;
  }
  if (!first) {
    if (m_pos == m_s.size() || m_s[m_pos] != ',')
      return error("expected ',' or '}'");
    ++m_pos;
    skip_ws();
  }
  if (m_pos == m_s.size() || m_s[m_pos] != '"')
    return error("expected a key in double quotes");
  KANARI_TRY(parse_string(key));
  skip_ws();
  if (m_pos == m_s.size() || m_s[m_pos] != ':')
    return error("expected ':' after a key");
  ++m_pos;
  skip_ws();
  return true;
}

Result<bool> FlatObjectParser::next(std::string& key, JsonScalar& value) {
  auto more = member_key(m_first, key);
  m_first = false;
  KANARI_TRY(more);
  if (!*more)
    return false;
  KANARI_TRY(parse_value(value));
  return true;
}

Result<void> FlatObjectParser::end() {
  skip_ws();
  if (m_pos != m_s.size())
    return error("unexpected characters after the object");
  return {};
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The power of ten of a number's first significant digit (12.5 -> 1,
// 0.05 -> -2, 3e-7 -> -7), from its JSON digits; only its sign matters to
// the caller, so a huge exponent saturates.
std::int64_t leading_exponent(std::string_view int_digits, std::string_view frac_digits, std::string_view exp_digits,
                              bool exp_negative) {
  std::int64_t e = 0;
  for (char c : exp_digits)
    e = std::min<std::int64_t>(e * 10 + (c - '0'), 1'000'000'000);
  if (exp_negative)
    e = -e;
  if (int_digits != "0")
    return e + static_cast<std::int64_t>(int_digits.size()) - 1;
  const size_t k = frac_digits.find_first_not_of('0');
  return e - static_cast<std::int64_t>(k == std::string_view::npos ? frac_digits.size() : k) - 1;
}

} // namespace

Result<void> FlatObjectParser::parse_string(std::string& out) {
  out.clear();
  ++m_pos;            // the opening quote
  size_t run = m_pos; // start of the current run of plain bytes
  bool ascii = true;  // whether the run is, so needs no UTF-8 check
  auto flush = [&] {
    std::string_view plain = m_s.substr(run, m_pos - run);
    if (!ascii && !is_valid_utf8(plain))
      return false;
    out.append(plain);
    ascii = true;
    return true;
  };
  while (true) {
    if (m_pos >= m_s.size())
      return error("a string is not closed");
    const auto c = static_cast<unsigned char>(m_s[m_pos]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++m_pos;
      continue;
    }
    if (c == '"') {
      if (!flush())
        return error("a string is not valid UTF-8");
      ++m_pos;
      return {};
    }
    if (c < 0x20)
      return error("a control character in a string must be escaped");
    if (c != '\\') {
      ascii = false;
      ++m_pos;
      continue;
    }
    if (!flush())
      return error("a string is not valid UTF-8");
    if (++m_pos >= m_s.size())
      return error("a string ends in an escape");
    char e = m_s[m_pos++];
    switch (e) {
    case '"': out += '"'; break;
    case '\\': out += '\\'; break;
    case '/': out += '/'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'n': out += '\n'; break;
    case 'r': out += '\r'; break;
    case 't': out += '\t'; break;
    case 'u': {
      auto read4 = [&](std::uint32_t& v) {
        if (m_pos + 4 > m_s.size())
          return false;
        v = 0;
        for (int i = 0; i < 4; ++i) {
          int h = hex_value(m_s[m_pos++]);
          if (h < 0)
            return false;
          v = (v << 4) | static_cast<std::uint32_t>(h);
        }
        return true;
      };
      std::uint32_t cp;
      if (!read4(cp))
        return error("\\u needs four hex digits");
      if (cp >= 0xDC00 && cp <= 0xDFFF)
        return error("a lone low surrogate in \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        std::uint32_t lo;
        if (m_pos + 2 > m_s.size() || m_s[m_pos] != '\\' || m_s[m_pos + 1] != 'u')
          return error("a high surrogate must be followed by a low one");
        m_pos += 2;
        if (!read4(lo) || lo < 0xDC00 || lo > 0xDFFF)
          return error("a high surrogate must be followed by a low one");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      append_utf8(out, cp);
      break;
    }
    default: {
      // Shown as written only when printable ASCII: the message is printed,
      // so it must stay UTF-8 without raw control characters.
      if (e > 0x20 && e < 0x7F)
        return error(std::string("unknown escape \\") + e);
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(e));
      return error(std::string("unknown escape: '\\' followed by the byte ") + byte);
    }
    }
    run = m_pos;
  }
}

Result<void> FlatObjectParser::parse_number(JsonScalar& v) {
  const size_t start = m_pos;
  auto digits = [&] {
    size_t from = m_pos;
    while (m_pos < m_s.size() && m_s[m_pos] >= '0' && m_s[m_pos] <= '9')
      ++m_pos;
    return m_s.substr(from, m_pos - from);
  };
  const bool negative = m_s[m_pos] == '-';
  if (negative)
    ++m_pos;
  std::string_view int_digits, frac_digits, exp_digits;
  bool exp_negative = false;
  if (m_pos < m_s.size() && m_s[m_pos] == '0') {
    int_digits = m_s.substr(m_pos++, 1);
  } else if ((int_digits = digits()).empty()) {
    return error("a number needs digits");
  }
  if (m_pos < m_s.size() && m_s[m_pos] == '.') {
    ++m_pos;
    if ((frac_digits = digits()).empty())
      return error("a number needs digits after '.'");
  }
  const bool has_exponent = m_pos < m_s.size() && (m_s[m_pos] == 'e' || m_s[m_pos] == 'E');
  if (has_exponent) {
    ++m_pos;
    if (m_pos < m_s.size() && (m_s[m_pos] == '+' || m_s[m_pos] == '-'))
      exp_negative = m_s[m_pos++] == '-';
    if ((exp_digits = digits()).empty())
      return error("a number needs digits in its exponent");
  }
  const bool integral = frac_digits.empty() && !has_exponent;
  const char* first = m_s.data() + start;
  const char* last = m_s.data() + m_pos;
  auto r = std::from_chars(first, last, v.number);
  // A magnitude below the smallest double rounds to zero, as strtod and
  // other JSON parsers read it; one above the largest has no finite value.
  if (r.ec == std::errc::result_out_of_range &&
      leading_exponent(int_digits, frac_digits, exp_digits, exp_negative) < 0) {
    v.number = negative ? -0.0 : 0.0;
    r = {last, std::errc()};
  }
  if (r.ec != std::errc() || r.ptr != last || !std::isfinite(v.number))
    return error("the number " + std::string(first, last) + " is out of range");
  v.kind = JsonScalar::Kind::number;
  if (integral) {
    auto ri = std::from_chars(first, last, v.integer);
    if (ri.ec == std::errc() && ri.ptr == last)
      v.kind = JsonScalar::Kind::integer;
  }
  return {};
}

Result<void> FlatObjectParser::parse_value(JsonScalar& v) {
  if (m_pos >= m_s.size())
    return error("a value is missing");
  auto literal = [&](std::string_view word) {
    if (m_s.substr(m_pos, word.size()) != word)
      return false;
    m_pos += word.size();
    return true;
  };
  char c = m_s[m_pos];
  if (c == '"') {
    v.kind = JsonScalar::Kind::string;
    return parse_string(v.text);
  }
  if (c == '-' || (c >= '0' && c <= '9'))
    return parse_number(v);
  if (literal("true")) {
    v.kind = JsonScalar::Kind::boolean;
    v.boolean = true;
    return {};
  }
  if (literal("false")) {
    v.kind = JsonScalar::Kind::boolean;
    v.boolean = false;
    return {};
  }
  if (literal("null")) {
    v.kind = JsonScalar::Kind::null;
    return {};
  }
  if (c == '{')
    return parse_members(v);
  if (c == '[')
    return usage_error("values must be plain strings, numbers, booleans or null (or the metrics object), not arrays");
  return error("expected a value");
}

Result<void> FlatObjectParser::parse_members(JsonScalar& v) {
  v.kind = JsonScalar::Kind::object;
  v.members.clear();
  ++m_pos; // '{'
  std::string key;
  JsonScalar member;
  for (bool first = true;; first = false) {
    auto more = member_key(first, key);
    KANARI_TRY(more);
    if (!*more)
      return {};
    if (m_pos == m_s.size() || !(m_s[m_pos] == '-' || (m_s[m_pos] >= '0' && m_s[m_pos] <= '9')))
      return usage_error("metric " + quote_for_message(key, 70) + " must be a number");
    KANARI_TRY(parse_number(member));
    v.members.emplace_back(std::move(key), member.number);
  }
}

} // namespace kanari::rollout::detail
