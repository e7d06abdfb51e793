#include "store/sqlite.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <iterator>
#include <optional>
#include <thread>

namespace kanari::store {

// Waiting for a lock. SQLite's own busy timeout restarts for every call that
// meets a lock, so a BEGIN IMMEDIATE that gave up after the timeout and was
// retried waited the whole timeout again: waits reached several times the
// documented bound. Here one wait has one deadline. SQLite calls on_busy()
// while a lock is held by another connection, and Transaction's retry loop
// asks may_wait_longer() after a busy it was handed without a wait; both
// read the same deadline, which a Transaction keeps from its first busy to
// its end, so a command gives up once the bound has passed, not later.
struct Database::LockWait {
  bool in_transaction = false;
  std::optional<std::chrono::steady_clock::time_point> deadline;

  // Starts the deadline if this wait has none yet; the time left.
  std::chrono::steady_clock::duration left(bool new_wait) {
    const auto now = std::chrono::steady_clock::now();
    if (!deadline || (new_wait && !in_transaction))
      deadline = now + std::chrono::milliseconds(k_lock_wait_ms);
    return *deadline - now;
  }
};

namespace {

// SQLite's busy handler: sleep a little, up to the deadline; 0 gives up.
// The steps are SQLite's own busy timeout's.
int on_busy(void* wait, int count) {
  auto& w = *static_cast<Database::LockWait*>(wait);
  const auto left = w.left(count == 0);
  if (left <= std::chrono::steady_clock::duration::zero())
    return 0;
  static constexpr int k_delays_ms[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
  constexpr int k_last = static_cast<int>(std::size(k_delays_ms)) - 1;
  const auto delay = std::chrono::milliseconds(k_delays_ms[count < k_last ? count : k_last]);
  std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(delay, left));
  return 1;
}

// A URI for sqlite3_open_v2 with SQLITE_OPEN_URI: the absolute path with
// every byte outside the unreserved set percent-encoded, then `query`.
std::string file_uri(const std::string& path, const char* query) {
  std::error_code ec;
  auto abs = std::filesystem::absolute(path, ec);
  const std::string p = ec ? path : abs.string();
  std::string uri = "file://";
  static const char* const k_hex = "0123456789ABCDEF";
  for (unsigned char c : p) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += k_hex[c >> 4];
      uri += k_hex[c & 15];
    }
  }
  return uri + "?" + query;
}

} // namespace

Database::Database(const std::string& path, Mode mode) : m_wait(std::make_unique<LockWait>()) {
  int flags = SQLITE_OPEN_NOMUTEX;
  std::string name = path;
  switch (mode) {
  case Mode::open_existing: flags |= SQLITE_OPEN_READWRITE; break;
  case Mode::create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
  case Mode::read_only: flags |= SQLITE_OPEN_READONLY; break;
  case Mode::immutable:
    flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
    name = file_uri(path, "immutable=1");
    break;
  }
  int rc = sqlite3_open_v2(name.c_str(), &m_db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
    sqlite3_close_v2(m_db);
    m_db = nullptr;
    throw StoreError("cannot open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(m_db, 1);
  sqlite3_busy_handler(m_db, on_busy, m_wait.get());
}

void Database::close() noexcept {
  for (auto& [sql, stmt] : m_cache)
    sqlite3_finalize(stmt);
  m_cache.clear();
  if (m_db)
    sqlite3_close_v2(m_db);
  m_db = nullptr;
}

Database::~Database() { close(); }

Database::Database(Database&& o) noexcept : m_db(o.m_db), m_cache(std::move(o.m_cache)), m_wait(std::move(o.m_wait)) {
  o.m_db = nullptr;
  o.m_cache.clear();
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    close();
    m_db = o.m_db;
    m_cache = std::move(o.m_cache);
    m_wait = std::move(o.m_wait);
    o.m_db = nullptr;
    o.m_cache.clear();
  }
  return *this;
}

void Database::begin_lock_wait() {
  m_wait->in_transaction = true;
  m_wait->deadline.reset();
}

void Database::end_lock_wait() noexcept {
  m_wait->in_transaction = false;
  m_wait->deadline.reset();
}

bool Database::may_wait_longer() { return m_wait->left(false) > std::chrono::steady_clock::duration::zero(); }

namespace {
FailureKind kind_of(int rc) {
  switch (rc & 0xFF) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return FailureKind::busy;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: return FailureKind::corrupt;
  case SQLITE_CONSTRAINT: return FailureKind::constraint;
  default: return FailureKind::other;
  }
}
} // namespace

void Database::throw_error(std::string_view what) const {
  throw StoreError(std::string(what) + ": " + sqlite3_errmsg(m_db), kind_of(sqlite3_extended_errcode(m_db)));
}

void Database::exec(const char* sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError("database: " + msg, kind_of(rc));
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

bool Database::wal_index_header(std::array<std::uint32_t, 24>& out) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(m_db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file || !file->pMethods ||
      file->pMethods->iVersion < 2 || !file->pMethods->xShmMap)
    return false;
  void volatile* region = nullptr;
  // Region 0 of 32 KiB holds the header; bExtend 0 maps nothing new.
  if (file->pMethods->xShmMap(file, 0, 32 * 1024, 0, &region) != SQLITE_OK || !region)
    return false;
  file->pMethods->xShmBarrier(file);
  const auto* words = static_cast<const volatile std::uint32_t*>(region);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = words[i];
  return true;
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
  // The busy handler waits for BEGIN IMMEDIATE's lock; WAL can also return
  // SQLITE_BUSY without calling it (a reader racing a checkpoint), which is
  // retried here. Both wait within one deadline (Database::LockWait).
  const char* sql = kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN";
  db.begin_lock_wait();
  for (;;) {
    int rc = sqlite3_exec(db.handle(), sql, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK)
      break;
    if ((rc & 0xFF) != SQLITE_BUSY) {
      db.end_lock_wait();
      db.throw_error("database: cannot begin transaction");
    }
    if (!db.may_wait_longer()) {
      db.end_lock_wait();
      throw StoreLocked("the store is locked: another process held its lock for " +
                        std::to_string(Database::k_lock_wait_ms / 1000) +
                        " s, the longest kanari waits; try again when it is done");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_active = true;
}

Transaction::~Transaction() {
  if (m_active)
    sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  m_db.end_lock_wait();
}

void Transaction::commit() {
  m_db.exec("COMMIT");
  m_active = false;
}

} // namespace kanari::store
