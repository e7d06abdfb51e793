// Move-only RAII owners for SQLite handles (after Nix's sqlite.hh): a
// Database owns the connection and a cache of prepared statements, a
// Statement binds and steps and is reset when it goes out of scope, and a
// Transaction rolls back unless committed. Destructors never throw.
//
// This header is private to store/: nothing outside it sees SQLite.
#pragma once

#include "store/failure.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

struct sqlite3;
struct sqlite3_stmt;

namespace kanari::store {

using StoreError = StoreFailure;

class Statement;

class Database {
public:
  // open_existing and create open the file for reading and writing.
  // read_only opens it with SQLite's read-only flag (it still takes locks and
  // reads the -wal through an existing -shm); immutable also tells SQLite
  // that nothing can change the file, so it takes no locks and needs no -shm
  // (sqlite_store.cpp says when each is used).
  enum class Mode { open_existing, create, read_only, immutable };
  // The documented bound on waiting for another connection's lock
  // (docs/operations.md). One wait has one deadline, whether SQLite's busy
  // handler or Transaction's retry loop is waiting.
  static constexpr int k_lock_wait_ms = 10000;

  Database(const std::string& path, Mode mode);
  ~Database();
  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void exec(const char* sql);
  // Returns the cached prepared statement for `sql`, reset and unbound. The
  // string must outlive the Database (it is a literal in store/).
  Statement prepare(const char* sql);
  std::int64_t last_insert_rowid() const;
  int changes() const;
  sqlite3* handle() { return m_db; }
  // The two copies of the WAL-index header in the -shm shared memory (the
  // format SQLite documents in "WAL-mode File Format"): every commit by any
  // connection rewrites them (its change counter, frame count, salts and
  // checksums). Read through the VFS's own xShmMap, so it is the memory
  // SQLite's locks guard; false when the connection has no such memory
  // mapped (not in WAL mode, or no transaction has run yet).
  bool wal_index_header(std::array<std::uint32_t, 24>& out);
  [[noreturn]] void throw_error(std::string_view what) const;

  // Between begin_lock_wait() and end_lock_wait() (a Transaction), every
  // busy wait shares the deadline set when the first one started; outside,
  // each statement's wait has its own.
  void begin_lock_wait();
  void end_lock_wait() noexcept;
  // For a retry after SQLITE_BUSY: false once the current wait's deadline
  // has passed (starting the wait when no busy handler call has).
  bool may_wait_longer();

  struct LockWait; // on the heap: SQLite's busy handler holds its address

private:
  void close() noexcept;

  sqlite3* m_db = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> m_cache;
  std::unique_ptr<LockWait> m_wait;
};

class Statement {
public:
  Statement(Database& db, sqlite3_stmt* stmt) : m_db(&db), m_stmt(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept : m_db(o.m_db), m_stmt(o.m_stmt) { o.m_stmt = nullptr; }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binding is positional, starting at 1; each returns *this for chaining.
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, double v);
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  // Binds without copying: `v` must stay alive until the statement is reset.
  Statement& bind_static(int i, std::string_view v);
  Statement& bind_blob(int i, std::string_view v);
  Statement& bind_null(int i);
  template <typename T> Statement& bind(int i, const std::optional<T>& v) { return v ? bind(i, *v) : bind_null(i); }

  // Steps once: true when a row is available.
  bool step();
  // Steps to completion, expecting no rows.
  void run();

  bool is_null(int col) const;
  std::int64_t get_int(int col) const;
  double get_double(int col) const;
  std::string get_text(int col) const;
  std::string_view get_text_view(int col) const; // valid until the next step
  std::string get_blob(int col) const;
  std::optional<std::int64_t> get_opt_int(int col) const;
  std::optional<double> get_opt_double(int col) const;
  std::optional<std::string> get_opt_text(int col) const;

private:
  Database* m_db;
  sqlite3_stmt* m_stmt;
};

// BEGIN IMMEDIATE (writers) or BEGIN (readers, for one consistent snapshot);
// rolls back in the destructor unless commit() was called.
class Transaction {
public:
  enum class Kind { read, write };
  Transaction(Database& db, Kind kind);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

private:
  Database& m_db;
  bool m_active = false;
};

} // namespace kanari::store
