#include "util/strings.hpp"

#include <algorithm>
#include <cstdio>

namespace kanari {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos)
      return out;
    start = pos + 1;
  }
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n)
      return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool is_ed25519_key_id(std::string_view s) {
  return s.size() == k_ed25519_key_prefix.size() + 64 && s.starts_with(k_ed25519_key_prefix) &&
         is_lower_hex(s.substr(k_ed25519_key_prefix.size()));
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i], or 0 when the byte
// there does not start one.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > s.size() || !is_valid_utf8(s.substr(i, len)))
    return 0;
  return len;
}

void append_byte_escape(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

} // namespace

std::string escape_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (size_t len = utf8_sequence_length(s, i)) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      append_byte_escape(out, static_cast<unsigned char>(s[i]));
      ++i;
    }
  }
  return out;
}

std::string quote_for_message(std::string_view s, size_t max) {
  std::string out = "'";
  size_t i = 0;
  while (i < s.size()) {
    if (i >= max) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = utf8_sequence_length(s, i);
    if (len == 0 || c < 0x20 || c == 0x7F || c == '\'' || c == '\\') {
      append_byte_escape(out, c);
      ++i;
    } else {
      // A whole character at a time, so a cut never splits one.
      out.append(s.substr(i, len));
      i += len;
    }
  }
  if (!is_valid_utf8(s))
    out += " (not valid UTF-8)";
  return out + "'";
}

bool is_metric_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z')
    return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

} // namespace kanari
