// store::open: the one place that picks a backend from a location.
#include "store/backends.hpp"

#include <charconv>

namespace kanari::store {

bool is_postgresql_location(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

std::string display_location(const std::string& location) {
  if (!is_postgresql_location(location))
    return location;
  // scheme://[user[:password]@]host...: the userinfo ends at the last '@'
  // before the path, and a password follows its first ':'.
  std::string out = location;
  const size_t start = out.find("://") + 3;
  const size_t path = out.find_first_of("/?", start);
  const size_t at = out.rfind('@', path == std::string::npos ? std::string::npos : path);
  if (at != std::string::npos && at >= start) {
    const size_t colon = out.find(':', start);
    if (colon != std::string::npos && colon < at)
      out.replace(colon + 1, at - colon - 1, "***");
  }
  // A password given as a query parameter: password=...
  for (size_t p = out.find("password=", start); p != std::string::npos; p = out.find("password=", p + 1)) {
    if (out[p - 1] != '?' && out[p - 1] != '&')
      continue;
    const size_t value = p + 9;
    const size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

Result<std::unique_ptr<Store>> open(const std::string& location, OpenMode mode, bool* created) {
  if (created)
    *created = false;
  if (location.empty())
    return usage_error("the store location is empty; give a directory or a postgresql:// URI");
  if (is_postgresql_location(location))
    return open_postgresql(location, mode, created);
  return open_sqlite(location, mode, created);
}

std::string format_real(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

} // namespace kanari::store
