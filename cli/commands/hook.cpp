// kanari hook add | list | remove | test | deliver | log: notifications on
// transitions (docs/hooks.md).
#include "commands.hpp"

#include "notify/notify.hpp"
#include "rollout/hooks.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

std::string trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string actions_text(const rollout::HookRecord& h) {
  std::string on;
  for (const auto& a : h.actions)
    on += (on.empty() ? "" : ",") + a;
  return on;
}

json hook_json(const rollout::HookRecord& h) {
  return {{"name", h.name},
          {"track", h.track ? json(*h.track) : json(nullptr)},
          {"url", h.url ? json(*h.url) : json(nullptr)},
          {"command", h.command ? json(*h.command) : json(nullptr)},
          {"on", h.actions},
          {"format", h.format},
          {"secret_env", h.secret_env ? json(*h.secret_env) : json(nullptr)},
          {"created_at", format_rfc3339(h.created_at)},
          {"created_by", h.created_by}};
}

json attempt_json(const rollout::HookAttempt& a) {
  return {
      {"hook", a.hook},   {"at", format_rfc3339(a.at)}, {"action", a.action},
      {"track", a.track}, {"event", a.event_hash},      {"delivery", a.delivery ? json(*a.delivery) : json(nullptr)},
      {"ok", a.ok},       {"detail", a.detail},         {"duration_ms", a.duration_ms}};
}

json attempted_json(const notify::Attempted& a) {
  return {{"hook", a.delivery.hook},
          {"event", a.event.hash},
          {"seq", a.event.seq},
          {"action", a.event.action},
          {"track", a.event.track},
          {"ok", a.result.ok},
          {"detail", a.result.detail},
          {"duration_ms", a.result.duration_ms},
          {"state", std::string(rollout::to_string(a.delivery.state))},
          {"attempts", a.delivery.attempts}};
}

// ---- add ----

struct AddOptions {
  std::string name;
  std::optional<std::string> url, command, format, secret_env;
  std::vector<std::string> on;
  bool all_tracks = false;
};

Result<int> run_add(const AddOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  rollout::HookInput in;
  in.name = o.name;
  if (!o.all_tracks)
    in.track = ctx.g.track;
  in.event_track = ctx.g.track;
  in.url = o.url;
  in.command = o.command;
  for (const auto& list : o.on)
    for (auto& a : split(list, ','))
      if (auto t = trim(a); !t.empty())
        in.actions.push_back(std::move(t));
  if (!o.on.empty() && in.actions.empty())
    return usage_error("--on names no action");
  in.format = o.format.value_or("json");
  in.secret_env = o.secret_env;
  auto hook = rollout::add_hook(**lib, std::move(in));
  KANARI_TRY(hook);
  if (hook->secret_env && !ctx.io.getenv(*hook->secret_env))
    ctx.err << "kanari: warning: " << *hook->secret_env
            << " is not set here; every command that delivers needs it in its environment\n";
  if (ctx.g.json) {
    ctx.print_json(hook_json(*hook));
    return 0;
  }
  const std::string on = actions_text(*hook);
  ctx.human() << "Added hook " << hook->name << " (" << (hook->url ? "POST" : "command") << " on " << on << ", "
              << (hook->track ? "track " + *hook->track : std::string("every track")) << ")\n"
              << "Try it: kanari hook test " << hook->name << "\n";
  return 0;
}

// ---- list ----

Result<int> run_list(Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto hooks = rollout::list_hooks(**lib);
  KANARI_TRY(hooks);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& h : *hooks)
      arr.push_back(hook_json(h));
    ctx.print_json(arr);
    return 0;
  }
  if (hooks->empty()) {
    ctx.human() << "No hooks. Add one: kanari hook add NAME --url URL (or --command CMD)\n";
    return 0;
  }
  Table table({{"NAME"}, {"TRACK"}, {"ON"}, {"FORMAT"}, {"TARGET"}});
  for (const auto& h : *hooks) {
    table.add_row(
        {h.name, h.track.value_or("(every track)"), actions_text(h), h.format,
         h.url ? *h.url + (h.secret_env ? " (signed with $" + *h.secret_env + ")" : "") : "sh -c " + *h.command});
  }
  ctx.human() << table.render(ctx.colour());
  return 0;
}

// ---- remove ----

struct NameOptions {
  std::string name;
};

Result<int> run_remove(const NameOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  KANARI_TRY(rollout::remove_hook(**lib, o.name, ctx.g.track));
  if (ctx.g.json)
    ctx.print_json({{"removed", o.name}});
  else
    ctx.human() << "Removed hook " << o.name << " and its undelivered notifications\n";
  return 0;
}

// ---- test ----

Result<int> run_test(const NameOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  ctx.delivered = true; // what is pending waits for `hook deliver` or the next command
  auto a = notify::test_hook(**lib, o.name, ctx.g.track, ctx.notify_settings(/*after_commit=*/false));
  KANARI_TRY(a);
  if (ctx.g.json)
    ctx.print_json({{"hook", o.name},
                    {"event", a->event.hash},
                    {"ok", a->result.ok},
                    {"detail", a->result.detail},
                    {"duration_ms", a->result.duration_ms}});
  else
    ctx.human() << "hook " << o.name << ": "
                << paint(a->result.ok ? "delivered" : "failed", a->result.ok ? style::green : style::bold_red,
                         ctx.colour())
                << " (" << a->result.detail << ", " << a->result.duration_ms << " ms)\n";
  if (!a->result.ok)
    return operational_error("hook " + o.name + " did not take the test event: " + a->result.detail);
  return 0;
}

// ---- deliver ----

Result<int> run_deliver(Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  ctx.delivered = true;
  auto run = notify::deliver_due(**lib, ctx.notify_settings(/*after_commit=*/false));
  KANARI_TRY(run);
  int failed = 0;
  json arr = json::array();
  for (const auto& a : *run) {
    failed += a.result.ok ? 0 : 1;
    if (ctx.g.json) {
      arr.push_back(attempted_json(a));
      continue;
    }
    ctx.human() << "hook " << a.delivery.hook << ": event " << a.event.seq << " (" << a.event.action << ", track "
                << a.event.track << ") "
                << paint(a.result.ok                                          ? "delivered"
                         : a.delivery.state == rollout::DeliveryState::failed ? "failed for good"
                                                                              : "failed, will retry",
                         a.result.ok ? style::green : style::bold_red, ctx.colour())
                << ": " << a.result.detail << "\n";
  }
  if (ctx.g.json)
    ctx.print_json(arr);
  else if (run->empty())
    ctx.human() << "Nothing to deliver now.\n";
  if (failed > 0)
    return operational_error(std::to_string(failed) + " of " + std::to_string(run->size()) +
                             " deliveries failed; `kanari hook log` shows why");
  return 0;
}

// ---- log ----

struct LogOptions {
  std::int64_t limit = 20;
  std::optional<std::string> hook;
};

Result<int> run_log(const LogOptions& o, Context& ctx) {
  if (o.limit < 1)
    return usage_error("--limit must be at least 1, got " + std::to_string(o.limit));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto log = rollout::hook_log(**lib, o.hook, o.limit);
  KANARI_TRY(log);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& a : *log)
      arr.push_back(attempt_json(a));
    ctx.print_json(arr);
    return 0;
  }
  if (log->empty()) {
    ctx.human() << "No delivery attempts yet.\n";
    return 0;
  }
  Table table({{"AT"}, {"HOOK"}, {"ACTION"}, {"TRACK"}, {"EVENT"}, {"RESULT"}, {"MS", Table::Align::right}});
  for (const auto& a : *log)
    table.add_row({format_rfc3339(a.at),
                   a.hook,
                   a.action,
                   a.track,
                   a.event_hash.substr(0, 12),
                   {a.detail, a.ok ? style::green : style::red},
                   std::to_string(a.duration_ms)});
  ctx.human() << table.render(ctx.colour());
  return 0;
}

} // namespace

void setup_hook(CLI::App& app, Registry& reg) {
  auto* hook = app.add_subcommand("hook", "Notifications on transitions: a URL to POST to or a command to run");
  hook->require_subcommand(1);

  auto add_opts = std::make_shared<AddOptions>();
  auto* add = hook->add_subcommand(
      "add", "Add a hook for the track's events (or every track's with --all-tracks); default --on "
             "rolled_back,promoted");
  add->add_option("NAME", add_opts->name, "the hook's name, [A-Za-z0-9._-]{1,64}, unique in the store")->required();
  add->add_option("--url", add_opts->url,
                  "POST each event as JSON to this http:// or https:// URL (2xx is success; 10 s timeout)");
  add->add_option("--command", add_opts->command,
                  "run this with /bin/sh -c, the event JSON on stdin and KANARI_EVENT, KANARI_ACTION, "
                  "KANARI_TRACK in its environment (exit 0 is success; killed after 10 s, or when its hook's 5 s "
                  "after a commit are up)");
  add->add_option("--on", add_opts->on,
                  "event actions to send, comma-separated (started, step_advanced, promoted, rolled_back, paused, "
                  "resumed, approved, stable_set, version_signed, hook_added, hook_removed)");
  add->add_flag("--all-tracks", add_opts->all_tracks, "every track's events, not only --track's");
  add->add_option("--format", add_opts->format,
                  "json (the event as `history --json` prints it, plus store and kanari_version) or slack "
                  "(a Slack incoming-webhook message)");
  add->add_option("--secret-env", add_opts->secret_env,
                  "sign each request: Kanari-Signature: sha256=HMAC-SHA256(body) keyed by this environment "
                  "variable's value, read at delivery time and never stored");
  reg.on(add, add_opts, run_add);

  auto* list = hook->add_subcommand("list", "The hooks, by name");
  reg.on(list, std::make_shared<int>(0), [](const int&, Context& ctx) { return run_list(ctx); });

  auto remove_opts = std::make_shared<NameOptions>();
  auto* remove = hook->add_subcommand("remove", "Remove a hook and its undelivered notifications");
  remove->add_option("NAME", remove_opts->name, "the hook")->required();
  reg.on(remove, remove_opts, run_remove);

  auto test_opts = std::make_shared<NameOptions>();
  auto* test = hook->add_subcommand(
      "test", "Send the hook a synthetic event (action \"test\") now; exit 3 when it is not taken");
  test->add_option("NAME", test_opts->name, "the hook")->required();
  reg.on(test, test_opts, run_test);

  auto* deliver = hook->add_subcommand(
      "deliver", "Attempt every delivery that is due now (each hook in parallel, 10 s per attempt, 60 s per "
                 "hook); exit 3 when one fails");
  reg.on(deliver, std::make_shared<int>(0), [](const int&, Context& ctx) { return run_deliver(ctx); });

  auto log_opts = std::make_shared<LogOptions>();
  auto* log = hook->add_subcommand("log", "Delivery attempts, newest first");
  log->add_option("--limit", log_opts->limit, "show at most N attempts")->capture_default_str();
  log->add_option("--hook", log_opts->hook, "only this hook's attempts");
  reg.on(log, log_opts, run_log);
}

} // namespace kanari::cli
