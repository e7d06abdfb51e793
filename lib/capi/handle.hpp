// The C API's side of the boundary (include/kanari/kanari.h): the opaque
// handle, and guarded(), the one place where C++ errors and exceptions turn
// into a kanari_status and a message.
//
// Why it looks like this: a C caller (or Python through ctypes) cannot catch
// a C++ exception, and an exception escaping an extern "C" function
// terminates the process. So every exported function runs its body inside
// guarded(), which maps Result errors to their code (the CLI's exit codes),
// store::StoreFailure and std::bad_alloc to KANARI_OPERATIONAL, and anything
// else to KANARI_OPERATIONAL as an internal error, exactly like cli::run.
// The message lands in the handle, kept per calling thread (for
// kanari_last_error(handle)), and in a thread-local (for
// kanari_last_error(NULL)), so a failed kanari_open, which has no handle,
// still explains itself.
//
// Threads: one handle may be shared by several threads (docs/library.md, "Threads"). Its
// SQLite connection, cached statements, route cache and clock are not
// thread-safe, so guarded() holds the handle's mutex for the whole call:
// calls on one handle run one at a time, in the order the mutex grants.
// Each thread keeps its own last error on the handle, so a failure in one
// thread never replaces (or frees) the message another thread is reading.
// kanari_close while another thread is inside a call is the caller's bug,
// as for any object freed while in use.
#pragma once

#include "kanari/kanari.h"
#include "rollout/context.hpp"
#include "rollout/routing.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

struct kanari_store {
  std::unique_ptr<kanari::store::Store> store;
  kanari::SystemClock clock;
  std::unique_ptr<kanari::rollout::Context> ctx;
  // Serialises every call on the handle (guarded() takes it).
  mutable std::mutex mutex;
  // The last failure of each thread that failed on this handle; under
  // `mutex`. A thread's entry changes only on that thread's next failure.
  std::map<std::thread::id, std::string> errors;

  // Route caching (kanari_set_route_cache_ms): per track, the routing table
  // and a Router whose salt state is computed once per rollout.
  struct Track {
    kanari::rollout::RoutingTable table;
    std::optional<kanari::rollout::Router> router;
    std::string router_salt;
    std::int64_t router_bp = -1;
    kanari::TimeMs loaded_at = 0;
    // The store's commit stamp taken before `table` was read: while the
    // store's stamp still equals it, nothing has committed since and the
    // table is current (route cache 0).
    std::optional<kanari::store::CommitStamp> stamp;
  };
  std::map<std::string, Track, std::less<>> tracks;
  std::int64_t route_cache_ms = 0;
};

namespace kanari::capi {

// Records a failure on the handle (may be null; the caller holds its mutex)
// and the thread; never throws.
kanari_status fail(kanari_store* h, kanari_status code, const char* message) noexcept;

kanari_status from_error(kanari_store* h, const Error& e) noexcept;

// Runs body (returning Result<int>, the success status: KANARI_OK or
// KANARI_NEGATIVE) with every exception caught, holding h's mutex (when h is
// not null) from start to end, the failure's message included.
template <typename Body> kanari_status guarded(kanari_store* h, Body&& body) noexcept {
  std::unique_lock<std::mutex> lock;
  if (h) {
    try {
      lock = std::unique_lock<std::mutex>(h->mutex);
    } catch (const std::system_error&) { // the system refused the lock: no message on the handle
      return fail(nullptr, KANARI_OPERATIONAL, "internal error: cannot lock the handle");
    }
  }
  try {
    Result<int> r = body();
    if (!r.ok())
      return from_error(h, r.error());
    return static_cast<kanari_status>(*r);
  } catch (const store::StoreLocked& e) { // a busy store, not a damaged one
    return fail(h, KANARI_OPERATIONAL, e.what());
  } catch (const store::StoreFailure& e) {
    try {
      return fail(h, KANARI_OPERATIONAL, (std::string(e.what()) + "; check the store's disk and permissions").c_str());
    } catch (...) {
      return fail(h, KANARI_OPERATIONAL, e.what());
    }
  } catch (const std::bad_alloc&) {
    return fail(h, KANARI_OPERATIONAL, "out of memory");
  } catch (const std::exception& e) {
    try {
      return fail(h, KANARI_OPERATIONAL, (std::string("internal error: ") + e.what() + "; please report it").c_str());
    } catch (...) {
      return fail(h, KANARI_OPERATIONAL, "internal error");
    }
  } catch (...) {
    return fail(h, KANARI_OPERATIONAL, "internal error: unknown exception; please report it");
  }
}

// A track argument: NULL means "default"; validated.
Result<std::string> track_arg(const char* track);
// A required string argument.
Result<std::string> required(const char* value, const char* name);

// Copies a malloc'd, NUL-terminated copy of s into *out (throws bad_alloc).
void return_string(const std::string& s, char** out);

} // namespace kanari::capi
