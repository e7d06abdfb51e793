// kanari route --key KEY [--task ID] | --session ID [--task ID] | --keys FILE|-
#include "commands.hpp"

#include "rollout/routing.hpp"
#include "rollout/sessions.hpp"
#include "util/time.hpp"
#include "util/strings.hpp"

#include <filesystem>
#include <fstream>

namespace kanari::cli {

using nlohmann::json;

namespace {

struct RouteOptions {
  std::optional<std::string> key;
  std::optional<std::string> session;
  std::optional<std::string> task;
  std::string keys;
};

Result<void> validate_key(std::string_view key) {
  if (key.empty())
    return usage_error("a routing key must not be empty");
  if (!is_valid_utf8(key))
    return usage_error("routing key " + quote_for_message(key) + " is not valid UTF-8");
  if (key.find('\0') != std::string_view::npos)
    return usage_error("routing key " + quote_for_message(key) + " contains U+0000 (NUL)");
  return {};
}

json decision_json(const std::string& track, std::string_view key, const rollout::RouteDecision& d) {
  return {{"track", track},
          {"key", key},
          {"version", d.version},
          {"arm", rollout::to_string(d.arm)},
          {"bucket", d.bucket ? json(*d.bucket) : json(nullptr)},
          {"shadow", d.shadow}};
}

Result<int> route_many(const RouteOptions& o, Context& ctx, rollout::Context& lib) {
  auto table = rollout::load_routing_table(lib, ctx.g.track);
  KANARI_TRY(table);
  std::optional<rollout::Router> router;
  if (table->rollout)
    router.emplace(table->rollout->salt, table->threshold_bp());
  std::ifstream file;
  std::istream* in = &ctx.in;
  if (o.keys != "-") {
    if (std::error_code ec; std::filesystem::is_directory(o.keys, ec))
      return usage_error("--keys '" + o.keys + "' is a directory; give a file of keys, one per line, or - for stdin");
    file.open(o.keys, std::ios::binary);
    if (!file)
      return usage_error("--keys file '" + o.keys + "' cannot be opened");
    in = &file;
  }
  const std::string stable_line = "\tstable\t" + table->stable + "\n";
  const std::string canary_line = table->rollout ? "\tcanary\t" + table->rollout->canary + "\n" : "";
  const std::string shadow_line = "\tstable\t" + table->stable + "\tshadow\n";
  std::string line, buffer;
  buffer.reserve(1 << 16);
  std::int64_t number = 0;
  while (std::getline(*in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    if (auto v = validate_key(line); !v.ok())
      return usage_error("--keys line " + std::to_string(number) + ": " + v.error().message);
    auto d = rollout::decide(*table, router ? &*router : nullptr, line);
    if (ctx.g.json) {
      buffer += decision_json(ctx.g.track, line, d).dump();
      buffer += '\n';
    } else {
      buffer += line;
      buffer += d.arm == rollout::Arm::canary ? canary_line : d.shadow ? shadow_line : stable_line;
    }
    if (buffer.size() > (1 << 16) - 512) {
      ctx.out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  }
  ctx.out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
  ctx.out.flush();
  return 0;
}

json opt_time(const std::optional<TimeMs>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

// route --session ID [--task T]: the pinned version (docs/routing.md, "Sessions").
Result<int> route_session(const RouteOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto r = rollout::route_session(**lib, ctx.g.track, *o.session, o.task);
  KANARI_TRY(r);
  const auto& d = r->decision;
  const auto& p = r->pin;
  if (ctx.g.json) {
    ctx.print_json(
        {{"track", ctx.g.track},
         {"session", p.session},
         {"version", d.version},
         {"arm", rollout::to_string(r->arm)},
         {"bucket", d.bucket ? json(*d.bucket) : json(nullptr)},
         {"shadow", d.shadow},
         {"pinned", r->pinned},
         {"moved", r->moved},
         {"moved_from", p.moved_from ? json(*p.moved_from) : json(nullptr)},
         {"state", rollout::to_string(p.state)},
         {"pinned_at", format_rfc3339(p.pinned_at)},
         {"expires_at", format_rfc3339(p.expires_at)},
         {"drain_until", opt_time(p.state == rollout::SessionState::draining ? p.drain_until : std::nullopt)},
         {"requests", p.requests}});
  } else {
    ctx.human() << p.session << "\t" << rollout::to_string(r->arm) << "\t" << d.version << (d.shadow ? "\tshadow" : "")
                << (r->moved ? "\tmoved" : "") << "\n";
  }
  return 0;
}

Result<int> run_route(const RouteOptions& o, Context& ctx) {
  if ((o.key.has_value() + o.session.has_value() + !o.keys.empty()) != 1)
    return usage_error("give one of --key KEY, --session ID or --keys FILE (- for standard input)");
  if (o.task && !o.key && !o.session)
    return usage_error("--task goes with --key or --session (one task per routed request)");
  if (o.session) {
    KANARI_TRY(rollout::validate_session_id(*o.session));
    if (o.task)
      KANARI_TRY(rollout::validate_task_id(*o.task));
    return route_session(o, ctx);
  }
  if (o.key)
    KANARI_TRY(validate_key(*o.key));
  if (o.task)
    KANARI_TRY(rollout::validate_task_id(*o.task));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  if (!o.keys.empty())
    return route_many(o, ctx, **lib);
  auto d = rollout::route_key(**lib, ctx.g.track, *o.key, o.task);
  KANARI_TRY(d);
  if (ctx.g.json)
    ctx.print_json(decision_json(ctx.g.track, *o.key, *d));
  else
    ctx.human() << *o.key << "\t" << rollout::to_string(d->arm) << "\t" << d->version << (d->shadow ? "\tshadow" : "")
                << "\n";
  return 0;
}

} // namespace

void setup_route(CLI::App& app, Registry& reg) {
  auto opts = std::make_shared<RouteOptions>();
  auto* r = app.add_subcommand("route", "Which version serves a key now (sticky per key; docs/routing.md)");
  r->add_option("--key", opts->key,
                "the user or request key: the same key gets the same arm while the percentage holds");
  r->add_option("--session", opts->session,
                "a conversation's id (1 to 256 bytes of UTF-8, no NUL): routed like a key the first time, then "
                "pinned to that version until `session end` or idle past the policy's session_ttl_seconds; "
                "prints \"moved\" when a rollback moved it to the stable");
  r->add_option("--task", opts->task, "remember the assignment for this task id, so `record --task` needs no version");
  r->add_option("--keys", opts->keys,
                "route many keys, one per line (- = stdin); prints key<TAB>arm<TAB>version (JSON Lines with --json)");
  reg.on(r, opts, run_route);
}

} // namespace kanari::cli
