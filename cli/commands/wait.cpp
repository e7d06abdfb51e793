// kanari canary wait [--rollout ID] [--timeout SECONDS] [--interval SECONDS]
// [--apply]: block until a rollout ends; exit 0 when it was promoted, 1 when
// it was rolled back, 6 when the timeout passed first (docs/cli.md). Each
// poll reads the store afresh (cron or a person changes it meanwhile) and
// the waits between polls go through Context::sleep_ms, so the tests can
// make them advance a fake clock instead of sleeping.
#include "commands.hpp"

#include "gate/policy.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/tracks.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

struct WaitOptions {
  std::optional<std::int64_t> rollout;
  std::string timeout = "3600";
  std::string interval = "30";
  bool apply = false;
};

constexpr std::int64_t k_max_seconds = 30 * 24 * 3600;

// SECONDS as milliseconds: a positive number with at most three decimals,
// at most 30 days.
Result<TimeMs> parse_seconds(const std::string& text, const std::string& flag) {
  auto ms = gate::parse_decimal(text, 3);
  if (!ms)
    return usage_error(flag + " must be a number of seconds with at most three decimals, got " +
                       quote_for_message(text));
  if (*ms <= 0 || *ms > k_max_seconds * 1000)
    return usage_error(flag + " must be in (0, " + std::to_string(k_max_seconds) + "] seconds, got " + text);
  return *ms;
}

bool is_open(const rollout::RolloutRecord& r) {
  return r.state == rollout::RolloutState::active || r.state == rollout::RolloutState::paused;
}

std::string state_phrase(const rollout::RolloutRecord& r) {
  return std::string(rollout::to_string(r.state)) + ", " + rollout::step_phrase(r);
}

// "30 s", "0.25 s".
std::string seconds_text(TimeMs ms) {
  std::string text = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    frac.erase(frac.find_last_not_of('0') + 1);
    text += "." + frac;
  }
  return text + " s";
}

json wait_json(const rollout::RolloutProgress& p, const char* result, TimeMs waited_ms, std::int64_t evaluations) {
  const auto& r = p.rollout;
  json steps = json::array();
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(r.steps_bp.size()); ++i)
    steps.push_back(rollout::step_spelling(r, i));
  return {{"track", r.track},
          {"rollout", r.id},
          {"result", result},
          {"state", rollout::to_string(r.state)},
          {"canary", r.canary},
          {"stable", r.stable},
          {"step", r.step},
          {"steps", steps},
          {"started_at", format_rfc3339(r.started_at)},
          {"ended_at", r.ended_at ? json(format_rfc3339(*r.ended_at)) : json(nullptr)},
          {"reason", p.end ? json(p.end->reason) : json(nullptr)},
          {"actor", p.end ? json(p.end->actor) : json(nullptr)},
          {"waited_seconds", static_cast<double>(waited_ms) / 1000.0},
          {"evaluations", evaluations}};
}

Result<int> run_wait(const WaitOptions& o, Context& ctx) {
  auto timeout = parse_seconds(o.timeout, "--timeout");
  KANARI_TRY(timeout);
  auto interval = parse_seconds(o.interval, "--interval");
  KANARI_TRY(interval);
  if (o.rollout && *o.rollout < 1)
    return usage_error("--rollout must be a rollout id (1 or more), got " + std::to_string(*o.rollout));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto followed = rollout::rollout_to_follow(**lib, ctx.g.track, o.rollout);
  KANARI_TRY(followed);
  const std::int64_t id = followed->id;
  const std::string track = followed->track;
  if (o.rollout && ctx.g.track_given && track != ctx.g.track)
    return usage_error("rollout " + std::to_string(id) + " is on track '" + track + "', not '" + ctx.g.track +
                       "'; drop --track or --rollout");

  const TimeMs start = ctx.clock().now_ms();
  const TimeMs deadline = start + *timeout;
  std::int64_t evaluations = 0;
  std::optional<std::pair<rollout::RolloutState, std::int64_t>> seen;
  auto& h = ctx.human();
  for (;;) {
    if (o.apply) {
      auto before = rollout::rollout_progress(**lib, id);
      KANARI_TRY(before);
      if (is_open(before->rollout)) {
        auto ev = rollout::evaluate_track(**lib, track, rollout::Apply::yes);
        KANARI_TRY(ev);
        ++evaluations;
        ctx.deliver_notifications(); // what it applied, announced now
      }
    }
    auto p = rollout::rollout_progress(**lib, id);
    KANARI_TRY(p);
    const auto& r = p->rollout;
    const TimeMs now = ctx.clock().now_ms();
    if (is_open(r) && (!seen || seen->first != r.state || seen->second != r.step)) {
      if (!seen)
        h << "Waiting for rollout " << id << " on track '" << track << "' (canary " << r.canary.substr(0, 12)
          << "): " << state_phrase(r) << "; timeout " << seconds_text(*timeout) << "\n";
      else
        h << "Rollout " << id << ": " << state_phrase(r) << "\n";
      seen = {r.state, r.step};
    }
    if (r.state == rollout::RolloutState::promoted) {
      if (ctx.g.json)
        ctx.print_json(wait_json(*p, "promoted", now - start, evaluations));
      h << "Rollout " << id << " promoted: " << r.canary.substr(0, 12) << " is now the stable of track '" << track
        << "'\n";
      return 0;
    }
    if (r.state == rollout::RolloutState::rolled_back) {
      const std::string reason = rollback_reason(p->end ? p->end->reason : "", p->end ? p->end->actor : "");
      if (ctx.g.json)
        ctx.print_json(wait_json(*p, "rolled_back", now - start, evaluations));
      h << "Rollout " << id << " on track '" << track << "' rolled back: " << reason << "\n";
      report_rollback(ctx, track, reason);
      return 1;
    }
    if (now >= deadline) {
      if (ctx.g.json)
        ctx.print_json(wait_json(*p, "timed_out", now - start, evaluations));
      return Error{ErrorCode::timed_out, "rollout " + std::to_string(id) + " on track '" + track +
                                             "' has not ended after " + seconds_text(*timeout) + " (" +
                                             state_phrase(r) +
                                             "); wait longer with --timeout, or see `kanari "
                                             "canary status`"};
    }
    ctx.sleep_ms(std::min(*interval, deadline - now));
  }
}

} // namespace

void setup_wait(CLI::App& canary, Registry& reg) {
  auto o = std::make_shared<WaitOptions>();
  auto* w = canary.add_subcommand("wait", "Block until the rollout ends: exit 0 promoted, 1 rolled back, 6 timed out "
                                          "(--json: the final status)");
  w->add_option("--rollout", o->rollout,
                "the rollout id to wait for (default: the track's open rollout, else its latest)")
      ->type_name("ID");
  w->add_option("--timeout", o->timeout, "give up (exit 6) after SECONDS, at most 30 days")
      ->type_name("SECONDS")
      ->capture_default_str();
  w->add_option("--interval", o->interval,
                "SECONDS between polls of the store (and evaluations with --apply); decimals allowed (0.5)")
      ->type_name("SECONDS")
      ->capture_default_str();
  w->add_flag("--apply", o->apply,
              "run `canary evaluate --apply` on the track before every poll, for pipelines without cron");
  reg.on(w, o, run_wait);
}

} // namespace kanari::cli
