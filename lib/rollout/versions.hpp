// Content-addressed versions: add, resolve a REF, list, show, diff,
// checkout. Each operation runs in one transaction of its own.
#pragma once

#include "core/manifest.hpp"
#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace kanari::rollout {

struct AddVersionInput {
  std::string track;
  std::vector<core::Component> components; // from core::make_component
  nlohmann::json model = nlohmann::json::object();
  std::optional<std::string> label;
  std::optional<std::string> message;
};

struct AddVersionResult {
  std::string id;
  bool created = false; // a new version (content never seen before)
  bool added_to_track = false;
  bool became_stable = false;
  core::Manifest manifest;
};

Result<AddVersionResult> add_version(Context& ctx, AddVersionInput in);

// REF: a full id, a unique hex prefix of at least 4 characters, or `stable` /
// `canary` of the track. Unknown or ambiguous: exit 4 (ambiguous lists the
// candidates).
Result<std::string> resolve_ref(Context& ctx, const std::string& track, const std::string& ref);
// The same for a caller already inside a transaction (the ledger).
Result<std::string> resolve_ref_in_transaction(Context& ctx, const std::string& track, const std::string& ref);

// `version list`: the track's versions, newest first, and which of them are
// the stable and the open rollout's canary.
struct TrackListing {
  std::vector<store::TrackVersion> versions;
  std::optional<std::string> stable;
  std::optional<std::string> canary;
};
Result<TrackListing> list_versions(Context& ctx, const std::string& track);

struct VersionView {
  store::VersionRecord record;
  nlohmann::json model;
  std::vector<std::string> tracks;
};
Result<VersionView> show_version(Context& ctx, const std::string& id);

struct ComponentChange {
  std::string kind;
  std::string name;
  std::string change; // "added" | "removed" | "changed"
  std::optional<std::string> old_sha256, new_sha256;
  std::optional<std::string> diff; // unified diff for changed prompts (text)
};
struct ModelChange {
  std::string key;
  std::optional<nlohmann::json> old_value, new_value;
};
struct VersionDiff {
  std::string from, to;
  std::vector<ComponentChange> components;
  std::vector<ModelChange> model;
};
Result<VersionDiff> diff_versions(Context& ctx, const std::string& from, const std::string& to);

// The files of a version, byte-exact: each component at its name, plus
// model.json (the canonical model config and a trailing newline).
struct CheckoutFile {
  std::string path;
  std::string content;
};
struct Checkout {
  std::vector<CheckoutFile> files;
  TimeMs created_at = 0; // the version's
};
// Every component name read from the store is checked again with the rules
// of `version add` (core::normalise_component_name, which must return it
// unchanged): a name that add would refuse can only come from a damaged or
// edited store, and is refused (exit 3) before anything is returned.
// Paths that collide (two components, or one and model.json, at one path;
// a file where another needs a directory) exit 2.
Result<Checkout> checkout_files(Context& ctx, const std::string& id);

// `version cat`, kanari_component: one file of the version's checkout, the
// same bytes checkout writes at that path. `name` is a component's name (a
// leading `./` is dropped, as by `version add`), or `model.json` for the
// canonical model JSON and a newline. An unknown name is exit 4, and the
// message lists the names there are; a name two components share (or a
// component and model.json) is exit 2, as for checkout.
Result<std::string> checkout_file(Context& ctx, const std::string& id, const std::string& name);

} // namespace kanari::rollout
