#include "store/postgres.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace kanari::store::pg {

namespace {

// SQLSTATE classes and codes (PostgreSQL's appendix A) that decide what a
// caller can do about a failure.
FailureKind kind_of(std::string_view state) {
  if (state == "40001" || state == "40P01") // serialization_failure, deadlock_detected
    return FailureKind::serialization;
  if (state == "55P03" || state == "57014") // lock_not_available (lock_timeout), query_canceled
    return FailureKind::busy;
  if (state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03")
    return FailureKind::connection_lost; // connection exceptions, server shutting down
  if (state.starts_with("23"))
    return FailureKind::constraint;
  if (state == "XX001" || state == "XX002") // data_corrupted, index_corrupted
    return FailureKind::corrupt;
  return FailureKind::other;
}

std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

void ignore_notice(void*, const char*) {}

std::int64_t parse_int(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    throw StoreFailure("database: expected an integer, got '" + std::string(s) + "'");
  return v;
}

} // namespace

Params& Params::add(std::int64_t v) {
  m_values.emplace_back(std::to_string(v));
  m_formats.push_back(0);
  return *this;
}

Params& Params::add(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v); // the shortest text that reads back as v
  m_values.emplace_back(std::string(buf, r.ptr));
  m_formats.push_back(0);
  return *this;
}

Params& Params::add(std::string_view v) {
  m_values.emplace_back(std::string(v));
  m_formats.push_back(0);
  return *this;
}

Params& Params::add_bytes(std::string_view v) {
  m_values.emplace_back(std::string(v));
  m_formats.push_back(1);
  return *this;
}

Params& Params::add_null() {
  m_values.emplace_back(std::nullopt);
  m_formats.push_back(0);
  return *this;
}

void Params::pointers(std::vector<const char*>& values, std::vector<int>& lengths, std::vector<int>& formats) const {
  values.clear();
  lengths.clear();
  for (const auto& v : m_values) {
    values.push_back(v ? v->data() : nullptr);
    lengths.push_back(v ? static_cast<int>(v->size()) : 0);
  }
  formats = m_formats;
}

Result::~Result() { PQclear(m_r); }

int Result::rows() const { return PQntuples(m_r); }

std::int64_t Result::affected() const {
  const char* n = PQcmdTuples(m_r);
  return n && *n ? parse_int(n) : 0;
}

std::string_view Result::command() const { return PQcmdStatus(m_r); }

bool Result::is_null(int row, int col) const { return PQgetisnull(m_r, row, col) != 0; }

std::string_view Result::text(int row, int col) const {
  return {PQgetvalue(m_r, row, col), static_cast<size_t>(PQgetlength(m_r, row, col))};
}

std::int64_t Result::get_int(int row, int col) const { return is_null(row, col) ? 0 : parse_int(text(row, col)); }

double Result::get_double(int row, int col) const {
  if (is_null(row, col))
    return 0;
  const std::string s(text(row, col));
  return std::strtod(s.c_str(), nullptr); // "Infinity", "NaN" included
}

bool Result::get_bool(int row, int col) const { return !is_null(row, col) && text(row, col) == "t"; }

std::string Result::get_bytes(int row, int col) const {
  size_t n = 0;
  unsigned char* raw = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(m_r, row, col)), &n);
  if (!raw)
    throw StoreFailure("database: out of memory reading a bytea value");
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

std::optional<std::int64_t> Result::get_opt_int(int row, int col) const {
  if (is_null(row, col))
    return std::nullopt;
  return get_int(row, col);
}

std::optional<double> Result::get_opt_double(int row, int col) const {
  if (is_null(row, col))
    return std::nullopt;
  return get_double(row, col);
}

std::optional<std::string> Result::get_opt_text(int row, int col) const {
  if (is_null(row, col))
    return std::nullopt;
  return get_text(row, col);
}

Connection::Connection(const std::string& uri, const std::string& where) : m_where(where) {
  // Earlier keywords are defaults the URI may override; client_encoding
  // comes after it, since kanari's text is UTF-8 whatever the URI says.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", "client_encoding", nullptr};
  const char* values[] = {"10", "kanari", uri.c_str(), "UTF8", nullptr};
  m_conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!m_conn)
    throw StoreFailure("cannot connect to " + m_where + ": out of memory", FailureKind::connection_lost);
  if (PQstatus(m_conn) != CONNECTION_OK) {
    std::string msg = trimmed(PQerrorMessage(m_conn));
    PQfinish(m_conn);
    m_conn = nullptr;
    throw StoreFailure("cannot connect to " + m_where + ": " + msg, FailureKind::connection_lost);
  }
  PQsetNoticeProcessor(m_conn, ignore_notice, nullptr);
}

Connection::~Connection() {
  if (m_conn)
    PQfinish(m_conn);
}

Connection::Connection(Connection&& o) noexcept
    : m_conn(o.m_conn), m_where(std::move(o.m_where)), m_cursors(o.m_cursors) {
  o.m_conn = nullptr;
}

void Connection::fail(pg_result* r, std::string_view what) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = trimmed(r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(m_conn));
  FailureKind kind = state ? kind_of(state) : FailureKind::other;
  if (PQstatus(m_conn) == CONNECTION_BAD) {
    kind = FailureKind::connection_lost;
    msg = "the connection to " + m_where + " was lost (" + msg + "); nothing of this command was committed";
  }
  PQclear(r);
  if (msg.starts_with("ERROR:  "))
    msg.erase(0, 8);
  throw StoreFailure(std::string(what) + ": " + msg, kind);
}

void Connection::exec(const char* sql) {
  pg_result* r = PQexec(m_conn, sql);
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    fail(r, "database");
  PQclear(r);
}

Result Connection::query(const char* sql, const Params& params) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  params.pointers(values, lengths, formats);
  pg_result* r = PQexecParams(m_conn, sql, params.size(), nullptr, values.data(), lengths.data(), formats.data(),
                              /*resultFormat=*/0);
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    fail(r, "database");
  return Result(r);
}

void Connection::for_each(const char* sql, const Params& params,
                          const std::function<void(const Result&, int row)>& fn) {
  if (!in_transaction()) {
    auto r = query(sql, params);
    for (int i = 0; i < r.rows(); ++i)
      fn(r, i);
    return;
  }
  const std::string name = "kanari_cursor_" + std::to_string(++m_cursors);
  query(("DECLARE " + name + " NO SCROLL CURSOR FOR " + sql).c_str(), params);
  const std::string fetch = "FETCH 2000 FROM " + name;
  for (;;) {
    auto r = query(fetch.c_str());
    for (int i = 0; i < r.rows(); ++i)
      fn(r, i);
    if (r.rows() < 2000)
      break;
  }
  exec(("CLOSE " + name).c_str());
}

void Connection::copy_in(const char* sql, std::string_view data) {
  pg_result* r = PQexec(m_conn, sql);
  if (PQresultStatus(r) != PGRES_COPY_IN)
    fail(r, "database: COPY");
  PQclear(r);
  constexpr size_t k_chunk = 1 << 20;
  for (size_t at = 0; at < data.size(); at += k_chunk) {
    const size_t n = std::min(k_chunk, data.size() - at);
    if (PQputCopyData(m_conn, data.data() + at, static_cast<int>(n)) != 1)
      fail(nullptr, "database: COPY");
  }
  if (PQputCopyEnd(m_conn, nullptr) != 1)
    fail(nullptr, "database: COPY");
  pg_result* last = nullptr;
  while (pg_result* res = PQgetResult(m_conn)) {
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      PQclear(last);
      last = res;
      continue;
    }
    PQclear(res);
  }
  if (last)
    fail(last, "database: COPY");
}

bool Connection::in_transaction() const { return PQtransactionStatus(m_conn) != PQTRANS_IDLE; }

int Connection::server_version() const { return PQserverVersion(m_conn); }

bool Connection::notified() {
  if (PQconsumeInput(m_conn) == 0)
    fail(nullptr, "reading notifications");
  bool any = false;
  while (PGnotify* n = PQnotifies(m_conn)) {
    any = true;
    PQfreemem(n);
  }
  return any;
}

} // namespace kanari::store::pg
