// kanari session show ID | end ID | list [--arm A] [--limit N]: the
// sessions `route --session` pinned (docs/routing.md, "Sessions").
#include "commands.hpp"

#include "rollout/sessions.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <algorithm>

namespace kanari::cli {

using nlohmann::json;

namespace {

json opt_time(const std::optional<TimeMs>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

// A session id as a table cell: as it is when it is printable and short,
// quoted and escaped otherwise.
std::string cell(const std::string& session) {
  const bool plain = session.size() <= 40 && std::none_of(session.begin(), session.end(), [](char c) {
                       return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == ' ' || c == '\'';
                     });
  return plain ? session : quote_for_message(session, 40);
}

struct SessionOptions {
  std::string session;
  std::string arm;
  std::int64_t limit = 100;
};

void print_session(Context& ctx, const rollout::SessionView& v) {
  const auto& p = v.pin;
  auto& h = ctx.human();
  h << "session   " << p.session << "\n";
  h << "version   " << p.version_id << "\n";
  h << "arm       " << rollout::to_string(v.arm) << " (pinned as " << rollout::to_string(p.arm)
    << (p.rollout_id ? " in rollout " + std::to_string(*p.rollout_id) : std::string(" with no rollout open")) << ")\n";
  h << "state     " << v.state;
  if (v.state == "draining" && p.drain_until)
    h << " until " << format_rfc3339(*p.drain_until);
  if (v.state == "cut")
    h << " (its next route moves it to the stable)";
  h << "\n";
  h << "pinned    " << format_rfc3339(p.pinned_at) << ", " << p.requests << (p.requests == 1 ? " request" : " requests")
    << "\n";
  h << "seen      " << format_rfc3339(p.last_seen_at) << "\n";
  if (p.ended_at)
    h << "ended     " << format_rfc3339(*p.ended_at) << "\n";
  else
    h << "expires   " << format_rfc3339(p.expires_at) << " (idle " << p.ttl_seconds << " s)\n";
  if (p.moved_from)
    h << "moved     from " << *p.moved_from << " (cut by a rollback)\n";
}

Result<int> run_show(const SessionOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto v = rollout::show_session(**lib, ctx.g.track, o.session);
  KANARI_TRY(v);
  if (ctx.g.json)
    ctx.print_json(session_json(ctx.g.track, *v));
  else
    print_session(ctx, *v);
  return 0;
}

Result<int> run_end(const SessionOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  bool was_live = false;
  auto v = rollout::end_session(**lib, ctx.g.track, o.session, &was_live);
  KANARI_TRY(v);
  if (ctx.g.json) {
    json j = session_json(ctx.g.track, *v);
    j["ended_now"] = was_live;
    ctx.print_json(j);
  } else if (was_live) {
    ctx.human() << "Ended session " << quote_for_message(o.session) << " (" << v->pin.requests
                << (v->pin.requests == 1 ? " request" : " requests") << " on " << v->pin.version_id.substr(0, 12)
                << "); its next route pins it afresh.\n";
  } else {
    ctx.human() << "Session " << quote_for_message(o.session) << " had " << (v->state == "ended" ? "ended" : "expired")
                << " already; nothing changed.\n";
  }
  return 0;
}

Result<int> run_list(const SessionOptions& o, Context& ctx) {
  std::optional<rollout::SessionArm> arm;
  if (!o.arm.empty()) {
    arm = rollout::session_arm_from_string(o.arm);
    if (!arm)
      return usage_error("--arm must be stable, canary or previous, got " + quote_for_message(o.arm));
  }
  if (o.limit < 1)
    return usage_error("--limit must be at least 1, got " + std::to_string(o.limit));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto list = rollout::list_sessions(**lib, ctx.g.track, arm, o.limit);
  KANARI_TRY(list);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& v : *list)
      arr.push_back(session_json(ctx.g.track, v));
    ctx.print_json(arr);
    return 0;
  }
  auto& h = ctx.human();
  if (list->empty()) {
    h << "No live sessions" << (arm ? " on the " + o.arm + " arm" : std::string()) << " on track '" << ctx.g.track
      << "'.\n";
    return 0;
  }
  Table table(
      {{"SESSION"}, {"VERSION"}, {"ARM"}, {"STATE"}, {"REQUESTS", Table::Align::right}, {"LAST SEEN"}, {"EXPIRES"}});
  for (const auto& v : *list)
    table.add_row({cell(v.pin.session), v.pin.version_id.substr(0, 12), std::string(rollout::to_string(v.arm)),
                   std::string(v.state), std::to_string(v.pin.requests), format_rfc3339(v.pin.last_seen_at),
                   format_rfc3339(v.pin.expires_at)});
  h << table.render(ctx.colour());
  return 0;
}

} // namespace

json session_json(const std::string& track, const rollout::SessionView& v) {
  const auto& p = v.pin;
  return {{"track", track},
          {"session", p.session},
          {"version", p.version_id},
          {"arm", rollout::to_string(v.arm)},
          {"pinned_arm", rollout::to_string(p.arm)},
          {"state", v.state},
          {"rollout", p.rollout_id ? json(*p.rollout_id) : json(nullptr)},
          {"pinned_at", format_rfc3339(p.pinned_at)},
          {"last_seen_at", format_rfc3339(p.last_seen_at)},
          {"expires_at", format_rfc3339(p.expires_at)},
          {"ttl_seconds", p.ttl_seconds},
          {"drain_until", opt_time(p.state == rollout::SessionState::draining ? p.drain_until : std::nullopt)},
          {"requests", p.requests},
          {"moved_from", p.moved_from ? json(*p.moved_from) : json(nullptr)},
          {"ended_at", opt_time(p.ended_at)}};
}

void setup_session(CLI::App& app, Registry& reg) {
  auto* s = app.add_subcommand("session", "Sessions pinned by `route --session` (docs/routing.md, \"Sessions\")");
  s->require_subcommand(1);
  auto show = std::make_shared<SessionOptions>();
  auto* sh =
      s->add_subcommand("show", "One session: its version, arm, state, requests and expiry (exit 4: never routed)");
  sh->add_option("ID", show->session, "the session id")->required();
  reg.on(sh, show, run_show);
  auto end = std::make_shared<SessionOptions>();
  auto* e = s->add_subcommand("end", "End a session: its next route pins it afresh (exit 4: never routed)");
  e->add_option("ID", end->session, "the session id")->required();
  reg.on(e, end, run_end);
  auto list = std::make_shared<SessionOptions>();
  auto* l = s->add_subcommand("list", "The track's live sessions (not ended, not expired), the latest to expire first");
  l->add_option("--arm", list->arm,
                "only those on this arm: stable, canary, or previous (a version that is neither now: an old stable "
                "after a promotion, a rolled-back canary draining)");
  l->add_option("--limit", list->limit, "at most this many (default 100)");
  reg.on(l, list, run_list);
}

} // namespace kanari::cli
