// Runs the `sqlite3` command-line shell (Debian package sqlite3) on a store
// file, so tests can read and tamper with a store the way a person would,
// without <sqlite3.h> outside lib/store.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace kanari::test {

struct ShellResult {
  int code;
  std::string out; // stdout and stderr, trailing newline removed
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s)
    q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline ShellResult sqlite_shell(const std::string& db_file, const std::string& sql) {
  const std::string cmd = "sqlite3 -batch " + shell_quote(db_file) + " " + shell_quote(sql) + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, "cannot run the sqlite3 shell");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int status = ::pclose(p);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  REQUIRE_MESSAGE(code != 127, "the sqlite3 shell is not installed (Debian package sqlite3)");
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return {code, out};
}

// The value of one query that prints a single value; REQUIREs success.
inline std::string sqlite_value(const std::string& db_file, const std::string& sql) {
  auto r = sqlite_shell(db_file, sql);
  INFO("sqlite3: " << sql << " -> " << r.out);
  REQUIRE(r.code == 0);
  return r.out;
}

} // namespace kanari::test
