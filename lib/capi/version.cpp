// kanari_component and kanari_model: a version's content through the C API,
// so that an agent runtime that routed a task loads the prompt it routed to
// (the bytes `kanari version cat` prints, read by the same code) without a
// checkout directory per version or a process per task.
#include "capi/handle.hpp"

#include "core/canonical_json.hpp"
#include "rollout/versions.hpp"
#include "util/strings.hpp"

#include <cstdlib>
#include <cstring>

namespace kanari::capi {

namespace {

// A REF as the CLI takes it, on the default track for stable and canary.
Result<std::string> resolve_version(kanari_store& h, const char* version) {
  auto ref = required(version, "version");
  KANARI_TRY(ref);
  if (ref->empty() || !is_valid_utf8(*ref))
    return usage_error("the version must be a non-empty REF (an id, a prefix of 4+ hex characters, stable or canary)");
  return rollout::resolve_ref(*h.ctx, "default", *ref);
}

} // namespace

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API kanari_status kanari_component(kanari_store* store, const char* version, const char* name, char** data,
                                          size_t* len) {
  if (data)
    *data = nullptr;
  if (len)
    *len = 0;
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_component: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!data || !len)
      return usage_error("kanari_component: data and len must not be NULL");
    auto n = capi::required(name, "name");
    KANARI_TRY(n);
    auto id = capi::resolve_version(*store, version);
    KANARI_TRY(id);
    auto bytes = rollout::checkout_file(*store->ctx, *id, *n);
    KANARI_TRY(bytes);
    capi::return_string(*bytes, data);
    *len = bytes->size();
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_model(kanari_store* store, const char* version, char** json) {
  if (json)
    *json = nullptr;
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_model: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!json)
      return usage_error("kanari_model: json must not be NULL");
    auto id = capi::resolve_version(*store, version);
    KANARI_TRY(id);
    auto v = rollout::show_version(*store->ctx, *id);
    KANARI_TRY(v);
    capi::return_string(core::canonical_json(v->model), json);
    return KANARI_OK;
  });
}

} // extern "C"
