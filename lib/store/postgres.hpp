// Move-only RAII owners for libpq handles, in the manner of sqlite.hpp: a
// Connection owns the PGconn, a Result the PGresult, and Params holds the
// bound values of one statement. Every failure is thrown as a StoreFailure
// whose kind comes from the server's SQLSTATE (or the connection's state).
//
// Statements are sent unnamed with their parameters (the extended protocol,
// no server-side prepared statements), which is what a connection pooler in
// transaction mode passes through.
//
// This header is private to store/: nothing outside it sees libpq.
#pragma once

#include "store/failure.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace kanari::store::pg {

class Params {
public:
  Params& add(std::int64_t v);
  Params& add(int v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(bool v) { return add(static_cast<std::int64_t>(v)); }
  Params& add(double v);
  Params& add(std::string_view v);
  Params& add(const char* v) { return add(std::string_view(v)); }
  Params& add(const std::string& v) { return add(std::string_view(v)); }
  Params& add_bytes(std::string_view v); // bytea, sent in binary
  Params& add_null();
  template <typename T> Params& add(const std::optional<T>& v) { return v ? add(*v) : add_null(); }

  int size() const { return static_cast<int>(m_values.size()); }
  // Pointers into the values, valid while the Params lives unchanged.
  void pointers(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const;

private:
  std::vector<std::optional<std::string>> m_values;
  std::vector<int> m_formats;
};

class Result {
public:
  explicit Result(pg_result* r) : m_r(r) {}
  ~Result();
  Result(Result&& o) noexcept : m_r(o.m_r) { o.m_r = nullptr; }
  Result& operator=(Result&&) = delete;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const;
  std::int64_t affected() const;    // rows an INSERT/UPDATE/DELETE changed
  std::string_view command() const; // the command tag: "COMMIT", "ROLLBACK", ...
  bool is_null(int row, int col) const;
  std::string_view text(int row, int col) const;
  std::string get_text(int row, int col) const { return std::string(text(row, col)); }
  std::int64_t get_int(int row, int col) const;
  double get_double(int row, int col) const;
  bool get_bool(int row, int col) const;         // a boolean column ('t'/'f')
  std::string get_bytes(int row, int col) const; // a bytea column in text form
  std::optional<std::int64_t> get_opt_int(int row, int col) const;
  std::optional<double> get_opt_double(int row, int col) const;
  std::optional<std::string> get_opt_text(int row, int col) const;

private:
  pg_result* m_r;
};

class Connection {
public:
  // Connects to `uri` (libpq's syntax; PG* variables fill the rest). Throws
  // StoreFailure (connection_lost) when it cannot; `where` names the
  // location in the message (without a password).
  Connection(const std::string& uri, const std::string& where);
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) = delete;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One or more statements without parameters (the simple protocol).
  void exec(const char* sql);
  // One statement with parameters; rows come back as text.
  Result query(const char* sql, const Params& params = {});
  // Runs `sql` through a cursor inside the open transaction, handing each
  // row to fn a batch at a time; fn may run other statements meanwhile.
  void for_each(const char* sql, const Params& params, const std::function<void(const Result&, int row)>& fn);

  // COPY ... FROM STDIN of `data`, in COPY's text format.
  void copy_in(const char* sql, std::string_view data);

  bool in_transaction() const;
  int server_version() const;

  // Whether a notification (LISTEN) has arrived since the last call: reads
  // what the server has sent, without waiting for more.
  bool notified();

  // The failure `r` (or the connection) stands for, as a StoreFailure.
  [[noreturn]] void fail(pg_result* r, std::string_view what) const;

private:
  pg_conn* m_conn = nullptr;
  std::string m_where;
  int m_cursors = 0;
};

} // namespace kanari::store::pg
