// Runs the `sqlite3` command-line shell (Debian package sqlite3) on a store
// file, so tests can read and tamper with a store the way a person would,
// without <sqlite3.h> outside lib/store.
//
// On a PostgreSQL store (tests/support.hpp: the "file" is then the store's
// URI followed by /kanari.db) the same SQL goes to the server, so a test
// whose SQL both engines accept runs on both backends.
#pragma once

#include "support.hpp"

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
  if (db_file.starts_with("postgresql://")) {
    const std::string uri = db_file.ends_with("/kanari.db") ? db_file.substr(0, db_file.size() - 10) : db_file;
    try {
      std::string out = run_postgresql(uri, sql);
      while (!out.empty() && out.back() == '\n')
        out.pop_back();
      return {0, out};
    } catch (const std::exception& e) {
      return {1, e.what()};
    }
  }
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
