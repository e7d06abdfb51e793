#include "core/canonical_json.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <vector>

namespace kanari::core {

using nlohmann::json;

std::string format_double(double d) {
  if (!std::isfinite(d))
    throw std::invalid_argument("canonical JSON cannot represent NaN or Infinity");
  if (d == 0)
    return "0";
  std::string out;
  if (d < 0) {
    out += '-';
    d = -d;
  }
  // Shortest round-trip digits in scientific form: "d.dddde[+-]XX".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.')
      digits += c;
  int exp10 = std::stoi(std::string(sci.substr(e_pos + 1)));
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1; // the decimal point sits after n digits
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n));
    out += '.';
    out += digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out += digits.substr(1);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

namespace {

void write_string(std::string& out, const std::string& s) {
  out += '"';
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += ch;
      }
    }
  }
  out += '"';
}

std::u16string utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    unsigned cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F;
      len = 3;
    } else {
      cp = c & 0x07;
      len = 4;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xD800 + (cp >> 10));
      out += static_cast<char16_t>(0xDC00 + (cp & 0x3FF));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

void write(std::string& out, const json& v) {
  switch (v.type()) {
  case json::value_t::null: out += "null"; break;
  case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
  case json::value_t::number_integer: out += std::to_string(v.get<std::int64_t>()); break;
  case json::value_t::number_unsigned: out += std::to_string(v.get<std::uint64_t>()); break;
  case json::value_t::number_float: out += format_double(v.get<double>()); break;
  case json::value_t::string: write_string(out, v.get_ref<const std::string&>()); break;
  case json::value_t::array: {
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first)
        out += ',';
      first = false;
      write(out, e);
    }
    out += ']';
    break;
  }
  case json::value_t::object: {
    std::vector<std::pair<std::u16string, json::const_iterator>> keys;
    keys.reserve(v.size());
    bool ascii_order_is_enough = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      for (char c : it.key())
        if (static_cast<unsigned char>(c) >= 0xEE) // U+E000 and above, or astral
          ascii_order_is_enough = false;
      keys.emplace_back(std::u16string(), it);
    }
    if (!ascii_order_is_enough) {
      for (auto& k : keys)
        k.first = utf16(k.second.key());
      std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    }
    out += '{';
    bool first = true;
    for (const auto& k : keys) {
      if (!first)
        out += ',';
      first = false;
      write_string(out, k.second.key());
      out += ':';
      write(out, k.second.value());
    }
    out += '}';
    break;
  }
  case json::value_t::binary:
  case json::value_t::discarded: throw std::invalid_argument("canonical JSON: value has no JSON form");
  }
}

} // namespace

std::string canonical_json(const json& value) {
  std::string out;
  write(out, value);
  return out;
}

Result<json> parse_json(std::string_view text, std::string_view what) {
  // nlohmann's parser takes a NUL byte for the end of the input and would
  // accept `{}` followed by a NUL and anything at all. A raw NUL is never
  // valid JSON (not whitespace, and escaped inside strings).
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return usage_error(std::string(what) + " is not valid JSON: a NUL byte at byte " + std::to_string(nul + 1));
  // Duplicate keys are ambiguous (RFC 8259 §4; RFC 8785 forbids them):
  // reject them instead of silently keeping the last.
  std::vector<std::set<std::string>> seen;
  std::string duplicate;
  bool too_deep = false;
  auto cb = [&](int depth, json::parse_event_t ev, json& parsed) {
    switch (ev) {
    case json::parse_event_t::object_start:
    case json::parse_event_t::array_start:
      // `depth` counts the containers around this one. Refusing it here
      // means the deeper levels are read but never built.
      if (depth >= k_max_json_depth) {
        too_deep = true;
        return false;
      }
      if (ev == json::parse_event_t::object_start)
        seen.emplace_back();
      break;
    case json::parse_event_t::object_end: seen.pop_back(); break;
    case json::parse_event_t::key:
      if (depth > k_max_json_depth) // a key of an object refused above
        break;
      if (!seen.back().insert(parsed.get<std::string>()).second && duplicate.empty())
        duplicate = parsed.get<std::string>();
      break;
    default: break;
    }
    return true;
  };
  json v;
  try {
    v = json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                    /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    // parse_error for bad syntax or encoding; out_of_range for a number too
    // large for a double (1e400). Both are bad input, not a kanari fault.
    std::string msg = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] parse error at line 1, column 2: "
    if (auto p = msg.find("] "); p != std::string::npos)
      msg = msg.substr(p + 2);
    // Its "last read: '...'" quotes the raw input, which may be bad UTF-8.
    return usage_error(std::string(what) + " is not valid JSON: " + escape_invalid_utf8(msg));
  }
  if (too_deep)
    return usage_error(std::string(what) + " nests arrays and objects deeper than " + std::to_string(k_max_json_depth) +
                       " levels");
  if (!duplicate.empty())
    return usage_error(std::string(what) + " has the key '" + duplicate + "' more than once in one object; keep one");
  return v;
}

} // namespace kanari::core
