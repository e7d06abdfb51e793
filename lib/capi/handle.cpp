// The library-level and store-level functions of the C API: version,
// errors, kanari_free, open and close.
#include "capi/handle.hpp"

#include "store/store.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace kanari::capi {

namespace {

// The calling thread's last failure. A const char* beside the string so that
// a failure to allocate the message still leaves something to read.
thread_local std::string t_error;
thread_local const char* t_error_text = "";

void set_message(std::string& slot, const char*& text, const char* message) noexcept {
  try {
    slot = message;
    text = slot.c_str();
  } catch (...) {
    text = "out of memory (while recording an error message)";
  }
}

} // namespace

kanari_status fail(kanari_store* h, kanari_status code, const char* message) noexcept {
  set_message(t_error, t_error_text, message);
  if (h) {
    try {
      h->errors[std::this_thread::get_id()] = message;
    } catch (...) {
      // Out of memory: the thread's entry (if any) may hold an older message;
      // empty it rather than leave a wrong one.
      if (auto it = h->errors.find(std::this_thread::get_id()); it != h->errors.end())
        it->second.clear();
    }
  }
  return code;
}

kanari_status from_error(kanari_store* h, const Error& e) noexcept {
  return fail(h, static_cast<kanari_status>(static_cast<int>(e.code)), e.message.c_str());
}

Result<std::string> track_arg(const char* track) {
  std::string t = track ? track : "default";
  KANARI_TRY(rollout::validate_track_name(t));
  return t;
}

Result<std::string> required(const char* value, const char* name) {
  if (!value)
    return usage_error(std::string(name) + " must not be NULL");
  return std::string(value);
}

void return_string(const std::string& s, char** out) {
  auto* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (!p)
    throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  *out = p;
}

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API const char* kanari_version(void) { return KANARI_VERSION; }

KANARI_API const char* kanari_last_error(const kanari_store* store) {
  if (!store)
    return kanari::capi::t_error_text;
  // The calling thread's entry: only this thread's next failure on the handle
  // changes it, so the text stays valid after the lock is released.
  try {
    std::lock_guard<std::mutex> lock(store->mutex);
    auto it = store->errors.find(std::this_thread::get_id());
    return it == store->errors.end() ? "" : it->second.c_str();
  } catch (const std::system_error&) {
    return "internal error: cannot lock the handle";
  }
}

KANARI_API void kanari_free(void* p) { std::free(p); }

KANARI_API kanari_status kanari_open(const char* state_dir, const char* actor, unsigned flags, kanari_store** out) {
  if (!out)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_open: out must not be NULL");
  *out = nullptr;
  return capi::guarded(nullptr, [&]() -> Result<int> {
    auto dir = capi::required(state_dir, "state_dir");
    KANARI_TRY(dir);
    if (dir->empty())
      return usage_error("state_dir must not be empty; give the directory that holds (or will hold) kanari.db");
    if (flags & ~KANARI_OPEN_CREATE)
      return usage_error("kanari_open: unknown flags " + std::to_string(flags));
    auto h = std::make_unique<kanari_store>();
    Result<std::unique_ptr<store::Store>> s = Error{ErrorCode::operational, ""};
    s = store::open(*dir, flags & KANARI_OPEN_CREATE ? store::OpenMode::create : store::OpenMode::existing);
    KANARI_TRY(s);
    h->store = std::move(*s);
    h->ctx = std::make_unique<rollout::Context>(rollout::Context{*h->store, h->clock, actor ? actor : "unknown"});
    *out = h.release();
    return KANARI_OK;
  });
}

// Not serialised: closing a handle another thread is still using is the
// caller's bug (kanari.h), and waiting for the mutex here would only move
// the use-after-free to the next call.
KANARI_API void kanari_close(kanari_store* store) { delete store; }

KANARI_API kanari_status kanari_set_route_cache_ms(kanari_store* store, int64_t ms) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_set_route_cache_ms: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (ms < 0)
      return usage_error("the route cache time must be >= 0 milliseconds");
    store->route_cache_ms = ms;
    store->tracks.clear();
    return KANARI_OK;
  });
}

} // extern "C"
