#include "rollout/hooks.hpp"

#include "rollout/audit.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace kanari::rollout {

using nlohmann::json;

const std::vector<std::string_view>& event_actions() {
  static const std::vector<std::string_view> k_actions = {"approved", "hook_added",    "hook_removed",  "paused",
                                                          "promoted", "resumed",       "rolled_back",   "stable_set",
                                                          "started",  "step_advanced", "version_signed"};
  return k_actions;
}

namespace {

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

Result<void> validate_hook_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !std::all_of(name.begin(), name.end(), is_name_char))
    return usage_error("a hook name must match [A-Za-z0-9._-]{1,64}, got " + quote_for_message(name));
  return {};
}

Result<void> validate_url(const std::string& url) {
  const bool http = url.rfind("http://", 0) == 0, https = url.rfind("https://", 0) == 0;
  if (!http && !https)
    return usage_error("--url must be an http:// or https:// URL, got " + quote_for_message(url));
  if (url.size() > 2048)
    return usage_error("--url is longer than 2048 bytes");
  const size_t host = url.find("://") + 3;
  if (host >= url.size() || url[host] == '/')
    return usage_error("--url names no host: " + quote_for_message(url));
  for (unsigned char c : url)
    if (c <= ' ' || c == 0x7f)
      return usage_error("--url may not contain spaces or control characters: " + quote_for_message(url));
  return {};
}

Result<void> validate_env_name(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 128 && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name)
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    return usage_error("--secret-env must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), got " +
                       quote_for_message(name));
  return {};
}

std::string actions_list() {
  std::string out;
  for (auto a : event_actions())
    out += (out.empty() ? "" : ", ") + std::string(a);
  return out;
}

// What the hook_added and hook_removed events say of a hook: enough to see
// who sends what where, not the URL's path and query (a chat webhook's
// path is its credential) and never the secret.
json hook_evidence(const store::HookRecord& h) {
  json j = {{"hook", h.name},
            {"track", h.track ? json(*h.track) : json(nullptr)},
            {"actions", h.actions},
            {"format", h.format},
            {"secret_env", h.secret_env ? json(*h.secret_env) : json(nullptr)}};
  if (h.url) {
    const size_t host = h.url->find("://") + 3;
    const size_t end = h.url->find_first_of("/?#", host);
    std::string origin = h.url->substr(0, end);
    if (auto at = origin.find('@', host); at != std::string::npos)
      origin = origin.substr(0, host) + origin.substr(at + 1); // no user:password
    j["url"] = origin + (end == std::string::npos ? "" : "/…");
  } else {
    j["command"] = *h.command;
  }
  return j;
}

} // namespace

Result<store::HookRecord> add_hook(Context& ctx, HookInput in) {
  KANARI_TRY(validate_hook_name(in.name));
  if (in.track)
    KANARI_TRY(validate_track_name(*in.track));
  if (in.url.has_value() == in.command.has_value())
    return usage_error("give exactly one of --url and --command");
  if (in.url)
    KANARI_TRY(validate_url(*in.url));
  if (in.command && (in.command->empty() || in.command->find_first_not_of(" \t") == std::string::npos))
    return usage_error("--command is empty");
  if (in.command && in.command->size() > 4096)
    return usage_error("--command is longer than 4096 bytes");
  if (in.format != "json" && in.format != "slack")
    return usage_error("--format must be json or slack, got " + quote_for_message(in.format));
  if (in.secret_env) {
    KANARI_TRY(validate_env_name(*in.secret_env));
    if (in.command)
      return usage_error("--secret-env signs a URL hook's requests; a command hook is not signed");
  }
  if (in.actions.empty())
    in.actions = k_default_hook_actions;
  for (const auto& a : in.actions)
    if (std::find(event_actions().begin(), event_actions().end(), a) == event_actions().end())
      return usage_error("--on: unknown action " + quote_for_message(a) + "; the actions are " + actions_list());
  std::sort(in.actions.begin(), in.actions.end());
  in.actions.erase(std::unique(in.actions.begin(), in.actions.end()), in.actions.end());

  store::HookRecord h{in.name,          in.track, in.url, in.command, in.actions, in.format, in.secret_env,
                      /*created_at=*/0, ctx.actor};
  KANARI_TRY(validate_track_name(in.event_track));
  const std::string event_track = in.track.value_or(in.event_track);
  KANARI_TRY(ctx.store.write([&]() -> Result<void> {
    h.created_at = transition_time(ctx, event_track);
    if (!ctx.store.insert_hook(h))
      return conflict_error("hook " + quote_for_message(h.name) + " exists; remove it first (`kanari hook remove " +
                            h.name + "`)");
    append_event(ctx,
                 {"hook_added", event_track, std::nullopt, std::nullopt, "hook " + h.name + " added", hook_evidence(h)},
                 h.created_at);
    return {};
  }));
  return h;
}

Result<std::vector<store::HookRecord>> list_hooks(Context& ctx) {
  std::vector<store::HookRecord> out;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out = ctx.store.hooks();
    return {};
  }));
  return out;
}

std::optional<store::HookRecord> find_hook(Context& ctx, const std::string& name) {
  for (auto& h : ctx.store.hooks())
    if (h.name == name)
      return std::move(h);
  return std::nullopt;
}

Result<void> remove_hook(Context& ctx, const std::string& name, const std::string& event_track) {
  KANARI_TRY(validate_hook_name(name));
  return ctx.store.write([&]() -> Result<void> {
    auto h = find_hook(ctx, name);
    if (!h)
      return not_found_error("no hook named " + quote_for_message(name) + "; `kanari hook list` shows them");
    ctx.store.remove_hook(name);
    const std::string track = h->track.value_or(event_track);
    append_event(ctx,
                 {"hook_removed", track, std::nullopt, std::nullopt, "hook " + name + " removed", hook_evidence(*h)});
    return {};
  });
}

Result<std::vector<store::HookAttempt>> hook_log(Context& ctx, const std::optional<std::string>& hook,
                                                 std::int64_t limit) {
  if (hook)
    KANARI_TRY(validate_hook_name(*hook));
  std::vector<store::HookAttempt> out;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out = ctx.store.hook_attempts(hook, limit);
    return {};
  }));
  return out;
}

bool hook_matches(const store::HookRecord& h, const store::EventRecord& e) {
  return (!h.track || *h.track == e.track) &&
         std::find(h.actions.begin(), h.actions.end(), e.action) != h.actions.end();
}

void enqueue_deliveries(Context& ctx, const store::EventRecord& e) {
  for (const auto& h : ctx.store.hooks())
    if (hook_matches(h, e)) {
      store::DeliveryRecord d;
      d.hook = h.name;
      d.event_seq = e.seq;
      d.created_at = e.at;
      // Due at once, even when the event's time is ahead of this host's
      // clock (transition_time never goes back).
      d.next_attempt_at = std::min(e.at, ctx.clock.now_ms());
      ctx.store.insert_delivery(d);
    }
}

DeliverySummary delivery_summary(Context& ctx, const std::optional<std::string>& track) {
  DeliverySummary s;
  s.counts = ctx.store.delivery_counts(track);
  for (const auto& c : s.counts) {
    if (c.state == store::DeliveryState::pending)
      s.pending += c.count;
    if (c.state == store::DeliveryState::failed)
      s.failed += c.count;
  }
  for (auto& d : ctx.store.undelivered(track, 5)) {
    auto e = ctx.store.get_event(d.event_seq);
    s.recent.push_back({std::move(d), e ? e->action : "?", e ? e->track : "?"});
  }
  return s;
}

} // namespace kanari::rollout
