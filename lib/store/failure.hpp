#pragma once

#include <stdexcept>
#include <string>

namespace kanari::store {

// What kind of database failure happened: what the caller can do about it
// depends on it, whatever the backend.
enum class FailureKind {
  busy,            // another connection held a lock past the wait bound; try again
  serialization,   // the server aborted the transaction to keep it serialisable; write() retries it
  connection_lost, // the server went away or could not be reached; nothing was committed
  corrupt,         // the store's contents are damaged
  constraint,      // a row broke a constraint the store declares
  other,
};

// An unexpected database failure. Thrown by the store, caught once at the
// top of the CLI (and at the C API boundary) and mapped to exit 3.
class StoreFailure : public std::runtime_error {
public:
  explicit StoreFailure(const std::string& what, FailureKind kind = FailureKind::other)
      : std::runtime_error(what), m_kind(kind) {}
  FailureKind kind() const { return m_kind; }

private:
  FailureKind m_kind;
};

// Another connection held the lock past the documented wait bound
// (docs/operations.md): nothing is wrong with the store, the caller may try
// again.
class StoreLocked : public StoreFailure {
public:
  explicit StoreLocked(const std::string& what) : StoreFailure(what, FailureKind::busy) {}
};

} // namespace kanari::store
