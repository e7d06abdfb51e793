#include "rollout/versions.hpp"

#include "core/canonical_json.hpp"
#include "rollout/audit.hpp"
#include "util/strings.hpp"
#include "util/text_diff.hpp"

#include <map>
#include <set>

namespace kanari::rollout {

using nlohmann::json;

namespace {

// Runs `fn` in one read transaction and returns what it made.
template <typename T, typename Fn> Result<T> in_read(Context& ctx, Fn fn) {
  Result<T> out = Error{ErrorCode::operational, ""};
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out = fn();
    return {};
  }));
  return out;
}

} // namespace

Result<void> validate_track_name(std::string_view track) {
  bool ok = !track.empty() && track.size() <= 64;
  for (char c : track)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                c == '-');
  if (!ok)
    return usage_error("--track must match [A-Za-z0-9._-]{1,64}, got " + quote_for_message(track));
  return {};
}

Result<void> validate_task_id(std::string_view task) {
  if (task.empty() || task.size() > 256)
    return usage_error("a task id must be 1 to 256 bytes, got " + std::to_string(task.size()) + " bytes");
  if (!is_valid_utf8(task))
    return usage_error("task id " + quote_for_message(task) + " is not valid UTF-8");
  // "t\u0000" would be a task distinct from "t" that most callers print,
  // log and compare as "t".
  if (task.find('\0') != std::string_view::npos)
    return usage_error("task id " + quote_for_message(task) + " contains U+0000 (NUL)");
  return {};
}

Result<AddVersionResult> add_version(Context& ctx, AddVersionInput in) {
  KANARI_TRY(validate_track_name(in.track));
  auto manifest = core::make_manifest(std::move(in.components), std::move(in.model));
  KANARI_TRY(manifest);
  AddVersionResult res;
  res.manifest = std::move(*manifest);
  res.id = core::version_id(res.manifest);

  store::VersionRecord rec;
  rec.id = res.id;
  rec.manifest = core::canonical_manifest(res.manifest);
  rec.model = core::canonical_json(res.manifest.model);
  rec.label = in.label;
  rec.message = in.message;
  rec.author = ctx.actor;
  rec.created_at = ctx.clock.now_ms();

  auto r = ctx.store.write([&]() -> Result<void> {
    res.became_stable = false; // a transaction run again starts afresh
    const TimeMs now = ctx.clock.now_ms();
    res.created = ctx.store.insert_version(rec, res.manifest.components);
    res.added_to_track = ctx.store.add_track_version(in.track, res.id, now);
    if (!ctx.store.stable_of(in.track)) {
      ctx.store.set_stable(in.track, res.id);
      res.became_stable = true;
      append_event(ctx, {"stable_set", in.track, std::nullopt, res.id,
                         "first version added to the track becomes its stable", json{{"version", res.id}}});
    }
    return {};
  });
  KANARI_TRY(r);
  return res;
}

Result<std::string> resolve_ref(Context& ctx, const std::string& track, const std::string& ref) {
  return in_read<std::string>(ctx, [&] { return resolve_ref_in_transaction(ctx, track, ref); });
}

Result<std::string> resolve_ref_in_transaction(Context& ctx, const std::string& track, const std::string& ref) {
  if (ref == "stable" || ref == "canary") {
    KANARI_TRY(validate_track_name(track));
    std::optional<std::string> id;
    if (ref == "stable") {
      id = ctx.store.stable_of(track);
    } else if (auto r = ctx.store.open_rollout(track)) {
      id = r->canary;
    }
    if (!id)
      return not_found_error(
          "track '" + track + "' has no " + ref + " version" +
          (ref == "stable" ? "; add one with `kanari version add`" : "; start a rollout with `kanari canary start`"));
    return *id;
  }
  if (ref.size() < 4 || ref.size() > 64 || !is_lower_hex(ref))
    return not_found_error("unknown version " + quote_for_message(ref) +
                           ": a REF is a version id, a unique prefix of at least 4 lowercase hex "
                           "characters, `stable` or `canary`");
  auto ids = ctx.store.version_ids_with_prefix(ref, 11);
  if (ids.empty())
    return not_found_error("no version matches '" + ref + "'; `kanari version list` shows the track's versions");
  if (ids.size() > 1) {
    std::string msg = "'" + ref + "' is ambiguous: it matches ";
    for (size_t i = 0; i < ids.size() && i < 10; ++i)
      msg += (i ? ", " : "") + ids[i];
    if (ids.size() > 10)
      msg += " and more";
    msg += "; give more characters of the id";
    return not_found_error(msg);
  }
  return ids.front();
}

Result<TrackListing> list_versions(Context& ctx, const std::string& track) {
  KANARI_TRY(validate_track_name(track));
  TrackListing out;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out.versions = ctx.store.track_versions(track);
    out.stable = ctx.store.stable_of(track);
    auto open = ctx.store.open_rollout(track);
    out.canary = open ? std::optional(open->canary) : std::nullopt;
    return {};
  }));
  return out;
}

namespace {

Result<VersionView> load_version(Context& ctx, const std::string& id) {
  auto rec = ctx.store.get_version(id);
  if (!rec)
    return not_found_error("no version " + id);
  VersionView v{std::move(*rec), {}, ctx.store.version_tracks(id)};
  v.model = json::parse(v.record.model);
  return v;
}

Result<VersionDiff> diff_in_transaction(Context& ctx, const std::string& from, const std::string& to) {
  auto a = load_version(ctx, from);
  KANARI_TRY(a);
  auto b = load_version(ctx, to);
  KANARI_TRY(b);
  VersionDiff d{from, to, {}, {}};
  using Key = std::pair<std::string, std::string>;
  std::map<Key, const core::Component*> left, right;
  for (const auto& c : a->record.components)
    left[{std::string(core::to_string(c.kind)), c.name}] = &c;
  for (const auto& c : b->record.components)
    right[{std::string(core::to_string(c.kind)), c.name}] = &c;
  std::set<Key> keys;
  for (auto& [k, _] : left)
    keys.insert(k);
  for (auto& [k, _] : right)
    keys.insert(k);
  for (const auto& k : keys) {
    auto l = left.find(k), r = right.find(k);
    ComponentChange ch{k.first, k.second, "", std::nullopt, std::nullopt, std::nullopt};
    if (l == left.end()) {
      ch.change = "added";
      ch.new_sha256 = r->second->sha256;
    } else if (r == right.end()) {
      ch.change = "removed";
      ch.old_sha256 = l->second->sha256;
    } else if (l->second->sha256 != r->second->sha256) {
      ch.change = "changed";
      ch.old_sha256 = l->second->sha256;
      ch.new_sha256 = r->second->sha256;
      if (k.first != "file") {
        auto old_text = ctx.store.get_blob(l->second->sha256).value_or("");
        auto new_text = ctx.store.get_blob(r->second->sha256).value_or("");
        if (is_valid_utf8(old_text) && is_valid_utf8(new_text) && old_text.find('\0') == std::string::npos &&
            new_text.find('\0') == std::string::npos)
          ch.diff = unified_diff(old_text, new_text, "a/" + k.second, "b/" + k.second);
      }
    } else {
      continue;
    }
    d.components.push_back(std::move(ch));
  }
  std::set<std::string> model_keys;
  for (auto& [k, _] : a->model.items())
    model_keys.insert(k);
  for (auto& [k, _] : b->model.items())
    model_keys.insert(k);
  for (const auto& k : model_keys) {
    std::optional<json> ov, nv;
    if (a->model.contains(k))
      ov = a->model[k];
    if (b->model.contains(k))
      nv = b->model[k];
    if (ov != nv)
      d.model.push_back({k, ov, nv});
  }
  return d;
}

Result<Checkout> checkout_in_transaction(Context& ctx, const std::string& id) {
  auto v = load_version(ctx, id);
  KANARI_TRY(v);
  for (const auto& c : v->record.components) {
    auto norm = core::normalise_component_name(c.name);
    if (norm.ok() && *norm == c.name)
      continue;
    // add's reason without its hint (which is about add's own arguments).
    std::string reason = norm.ok() ? "component name " + quote_for_message(c.name) + " is not in normal form"
                                   : norm.error().message.substr(0, norm.error().message.find(';'));
    return operational_error("the store is damaged or was edited: version " + id.substr(0, core::k_short_id_length) +
                             ", " + std::string(core::to_string(c.kind)) + ": " + reason +
                             ", a name `version add` refuses; nothing was written; run `kanari doctor`");
  }
  Checkout out;
  out.created_at = v->record.created_at;
  auto& files = out.files;
  std::map<std::string, std::string> owner; // path -> what claims it
  owner["model.json"] = "the model configuration";
  for (const auto& c : v->record.components) {
    std::string what = std::string(core::to_string(c.kind)) + " '" + c.name + "'";
    auto [it, inserted] = owner.emplace(c.name, what);
    if (!inserted)
      return usage_error("cannot check out " + what + ": " + it->second + " is written at the same path");
  }
  // A file and a directory of the same name cannot both be written: check
  // every claimed path's parents, whichever order the components came in.
  for (const auto& [path, what] : owner)
    for (size_t p = path.find('/'); p != std::string::npos; p = path.find('/', p + 1))
      if (auto it = owner.find(path.substr(0, p)); it != owner.end())
        return usage_error("cannot check out " + what + ": " + it->second + " is written at '" + it->first +
                           "', which it needs as a directory");
  for (const auto& c : v->record.components) {
    auto blob = ctx.store.get_blob(c.sha256);
    if (!blob)
      return operational_error("the store has no content for " + std::string(core::to_string(c.kind)) + " '" + c.name +
                               "' (blob " + c.sha256 + "); run `kanari doctor`");
    files.push_back({c.name, std::move(*blob)});
  }
  files.push_back({"model.json", core::canonical_json(v->model) + "\n"});
  return out;
}

Result<std::string> checkout_file_in_transaction(Context& ctx, const std::string& id, const std::string& name) {
  auto v = load_version(ctx, id);
  KANARI_TRY(v);
  auto norm = core::normalise_component_name(name);
  const std::string& wanted = norm.ok() ? *norm : name;
  std::vector<const core::Component*> found;
  for (const auto& c : v->record.components)
    if (c.name == wanted)
      found.push_back(&c);
  const std::string short_id = id.substr(0, core::k_short_id_length);
  if (found.size() + (wanted == "model.json" ? 1 : 0) > 1)
    return usage_error("version " + short_id + " has more than one file at " + quote_for_message(wanted) +
                       " (components of different kinds, or a component and the model configuration); "
                       "`kanari version show " +
                       short_id + "` lists them");
  if (wanted == "model.json")
    return core::canonical_json(v->model) + "\n";
  if (found.empty()) {
    // The names there are, in manifest order, model.json last; a long list
    // is cut short rather than filling the terminal.
    constexpr size_t k_listed = 20;
    std::string names;
    size_t listed = 0;
    for (const auto& c : v->record.components) {
      if (listed == k_listed)
        break;
      names += (listed++ ? ", " : "") + quote_for_message(c.name);
    }
    if (v->record.components.size() > k_listed)
      names += " and " + std::to_string(v->record.components.size() - k_listed) + " more";
    names += std::string(listed ? ", " : "") + "'model.json'";
    return not_found_error("version " + short_id + " has no component " + quote_for_message(name) + "; it has " +
                           names);
  }
  const core::Component& c = *found.front();
  auto blob = ctx.store.get_blob(c.sha256);
  if (!blob)
    return operational_error("the store has no content for " + std::string(core::to_string(c.kind)) + " '" + c.name +
                             "' (blob " + c.sha256 + "); run `kanari doctor`");
  return std::move(*blob);
}

} // namespace

Result<std::string> checkout_file(Context& ctx, const std::string& id, const std::string& name) {
  return in_read<std::string>(ctx, [&] { return checkout_file_in_transaction(ctx, id, name); });
}

Result<VersionView> show_version(Context& ctx, const std::string& id) {
  return in_read<VersionView>(ctx, [&] { return load_version(ctx, id); });
}

Result<VersionDiff> diff_versions(Context& ctx, const std::string& from, const std::string& to) {
  return in_read<VersionDiff>(ctx, [&] { return diff_in_transaction(ctx, from, to); });
}

Result<Checkout> checkout_files(Context& ctx, const std::string& id) {
  return in_read<Checkout>(ctx, [&] { return checkout_in_transaction(ctx, id); });
}

} // namespace kanari::rollout
