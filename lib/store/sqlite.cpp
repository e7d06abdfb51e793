#include "store/sqlite.hpp"

#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace kanari::store {

namespace {
constexpr int k_busy_timeout_ms = 10000;
}

Database::Database(const std::string& path, Mode mode) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == Mode::create)
    flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    throw StoreError("cannot open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(m_db, 1);
  sqlite3_busy_timeout(m_db, k_busy_timeout_ms);
}

Database::~Database() {
  for (auto& [sql, stmt] : m_cache)
    sqlite3_finalize(stmt);
  if (m_db)
    sqlite3_close_v2(m_db);
}

Database::Database(Database&& o) noexcept : m_db(o.m_db), m_cache(std::move(o.m_cache)) {
  o.m_db = nullptr;
  o.m_cache.clear();
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    this->~Database();
    m_db = o.m_db;
    m_cache = std::move(o.m_cache);
    o.m_db = nullptr;
    o.m_cache.clear();
  }
  return *this;
}

void Database::throw_error(std::string_view what) const {
  throw StoreError(std::string(what) + ": " + sqlite3_errmsg(m_db));
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError("database: " + msg);
  }
}

Statement Database::prepare(const char* sql) {
  auto it = m_cache.find(sql);
  if (it != m_cache.end())
    return Statement(*this, it->second);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(m_db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
    throw_error("database: cannot prepare statement");
  m_cache.emplace(sql, stmt);
  return Statement(*this, stmt);
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(m_db); }
int Database::changes() const { return sqlite3_changes(m_db); }

Statement::~Statement() {
  if (m_stmt) {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
  }
}

Statement& Statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(m_stmt, i, v) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}
Statement& Statement::bind(int i, double v) {
  if (sqlite3_bind_double(m_stmt, i, v) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}
Statement& Statement::bind(int i, std::string_view v) {
  if (sqlite3_bind_text64(m_stmt, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}
Statement& Statement::bind_static(int i, std::string_view v) {
  if (sqlite3_bind_text64(m_stmt, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}
Statement& Statement::bind_blob(int i, std::string_view v) {
  if (sqlite3_bind_blob64(m_stmt, i, v.data(), v.size(), SQLITE_TRANSIENT) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}
Statement& Statement::bind_null(int i) {
  if (sqlite3_bind_null(m_stmt, i) != SQLITE_OK)
    m_db->throw_error("database: bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  m_db->throw_error("database");
}

void Statement::run() {
  while (step()) {
  }
}

bool Statement::is_null(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
std::int64_t Statement::get_int(int col) const { return sqlite3_column_int64(m_stmt, col); }
double Statement::get_double(int col) const { return sqlite3_column_double(m_stmt, col); }
std::string_view Statement::get_text_view(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
  return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string_view();
}
std::string Statement::get_text(int col) const { return std::string(get_text_view(col)); }
std::string Statement::get_blob(int col) const {
  auto p = static_cast<const char*>(sqlite3_column_blob(m_stmt, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(m_stmt, col))) : std::string();
}
std::optional<std::int64_t> Statement::get_opt_int(int col) const {
  return is_null(col) ? std::nullopt : std::optional(get_int(col));
}
std::optional<double> Statement::get_opt_double(int col) const {
  return is_null(col) ? std::nullopt : std::optional(get_double(col));
}
std::optional<std::string> Statement::get_opt_text(int col) const {
  return is_null(col) ? std::nullopt : std::optional(get_text(col));
}

Transaction::Transaction(Database& db, Kind kind) : m_db(db) {
  // The busy timeout covers BEGIN IMMEDIATE; a bounded retry covers the
  // rare SQLITE_BUSY that WAL returns without calling the handler.
  const char* sql = kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN";
  for (int attempt = 0;; ++attempt) {
    int rc = sqlite3_exec(db.handle(), sql, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK)
      break;
    if ((rc & 0xFF) != SQLITE_BUSY || attempt == 50)
      db.throw_error("database: cannot begin transaction");
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + attempt));
  }
  m_active = true;
}

Transaction::~Transaction() {
  if (m_active)
    sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  m_db.exec("COMMIT");
  m_active = false;
}

} // namespace kanari::store
