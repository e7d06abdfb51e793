#pragma once

#include <stdexcept>

namespace kanari::store {

// An unexpected database failure (I/O, corruption, a lock held past the busy
// timeout). Thrown by the store, caught once at the top of the CLI (and at
// the C API boundary) and mapped to exit 3.
class StoreFailure : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

// Another connection held the lock past the documented wait bound
// (sqlite.hpp): nothing is wrong with the store, the caller may try again.
class StoreLocked : public StoreFailure {
public:
  using StoreFailure::StoreFailure;
};

} // namespace kanari::store
