#include "report/metrics.hpp"

#include "rollout/evaluate.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/sessions.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

namespace kanari::report {

using nlohmann::json;

namespace {

// The text format's escapes: backslash and newline everywhere, the double
// quote only inside label values.
std::string escape(std::string_view v, bool quote) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"' && quote)
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

} // namespace

std::string escape_label_value(std::string_view v) { return escape(v, true); }

std::string escape_help(std::string_view v) { return escape(v, false); }

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    return std::to_string(static_cast<long long>(v));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Builder {
public:
  MetricFamily& family(const std::string& name, const std::string& type, const std::string& help) {
    auto it = m_index.find(name);
    if (it != m_index.end())
      return m_families[it->second];
    m_index.emplace(name, m_families.size());
    m_families.push_back({name, type, help, {}});
    return m_families.back();
  }
  // Adds a sample to a declared family.
  void add(const std::string& name, Labels labels, double value) {
    m_families.at(m_index.at(name)).samples.push_back({std::move(labels), value});
  }
  std::vector<MetricFamily> take() { return std::move(m_families); }

private:
  std::vector<MetricFamily> m_families;
  std::map<std::string, std::size_t> m_index;
};

constexpr const char* k_counter = "counter";
constexpr const char* k_gauge = "gauge";

// Declares every family up front so the exposition's order is fixed
// whatever the tracks hold.
void declare(Builder& b) {
  b.family("kanari_tracks", k_gauge, "Tracks exported (every track in the store, or the one asked for).");
  b.family("kanari_outcomes_total", k_counter, "Outcomes recorded on the track for the arm, ever.");
  b.family("kanari_outcome_passes_total", k_counter, "Passing outcomes recorded on the track for the arm, ever.");
  b.family("kanari_outcome_errors_total", k_counter,
           "Outcomes with an error code recorded on the track for the arm, ever.");
  b.family("kanari_gate_outcomes", k_gauge,
           "Outcomes in the gate's current window: the canary's current step, the stable baseline (canary status).");
  b.family("kanari_gate_passes", k_gauge, "Passing outcomes in the gate's current window.");
  b.family("kanari_gate_pass_rate", k_gauge, "Pass rate in the gate's current window (absent while it is empty).");
  b.family("kanari_gate_latency_seconds", k_gauge,
           "Nearest-rank latency quantiles in the gate's current window, in seconds.");
  b.family("kanari_gate_metric", k_gauge,
           "A gated metric's aggregate in the gate's current window (absent while the arm has no value of it).");
  b.family("kanari_gate_metric_values", k_gauge, "Outcomes with a value of the gated metric in the gate's window.");
  b.family("kanari_gate_pairs", k_gauge,
           "A shadow step's tasks with an outcome from both versions, by which passed (both, stable, canary, "
           "neither).");
  b.family("kanari_rollout_state", k_gauge, "1 for the track's rollout state: idle, active or paused.");
  b.family("kanari_rollout_percentage", k_gauge, "Percentage of keys routed to the canary now (0 when idle).");
  b.family("kanari_rollout_step", k_gauge, "Index of the open rollout's current step, from 0.");
  b.family("kanari_rollout_steps", k_gauge, "Number of steps of the open rollout.");
  b.family("kanari_rollout_step_started_timestamp_seconds", k_gauge,
           "When the open rollout's current step started, in seconds since the Unix epoch.");
  b.family("kanari_rollout_info", k_gauge, "The open rollout of the track: its id, stable and canary versions.");
  b.family("kanari_stable_info", k_gauge, "The stable version of the track.");
  b.family("kanari_hook_deliveries", k_gauge,
           "Notifications by hook and state: pending (not taken yet, being retried), failed (given up after "
           "24 h), delivered; of the exported tracks' events.");
  b.family("kanari_sessions_pinned", k_gauge,
           "Live sessions (not ended, not expired) pinned to the arm's version; previous: a version that is neither "
           "arm now.");
  b.family("kanari_sessions_draining", k_gauge, "Live sessions of a rolled-back canary still draining.");
  b.family("kanari_session_requests", k_gauge,
           "Requests `route --session` served on the arm in the open rollout's current step.");
  b.family("kanari_session_request_share", k_gauge,
           "Share of the current step's session requests served on the arm (absent before the first), beside "
           "kanari_rollout_percentage.");
  b.family("kanari_transitions_total", k_counter, "Events of the track with the action, ever.");
  b.family("kanari_last_transition_timestamp_seconds", k_gauge,
           "When the track's newest event with the action was written, in seconds since the Unix epoch.");
  b.family("kanari_last_verdict", k_gauge,
           "1 for the gate verdict recorded in the track's newest event that carries one (the newest evaluation "
           "that acted), 0 for the others.");
}

// The actions every track exports, at 0 until they happen.
constexpr const char* k_lifecycle_actions[] = {"started", "step_advanced", "promoted", "rolled_back",
                                               "paused",  "resumed",       "approved", "stable_set"};
constexpr const char* k_verdicts[] = {"PROMOTE",           "HOLD",     "ROLLBACK", "INSUFFICIENT_DATA",
                                      "AWAITING_APPROVAL", "NO_CANARY"};

// The verdict an event records (`canary evaluate --apply` writes it as
// evidence.verdict), if any.
std::optional<std::string> recorded_verdict(const store::EventRecord& e) {
  if (e.evidence.find("\"verdict\"") == std::string::npos)
    return std::nullopt;
  const json evidence = json::parse(e.evidence, nullptr, /*allow_exceptions=*/false);
  if (!evidence.is_object())
    return std::nullopt;
  const auto it = evidence.find("verdict");
  if (it == evidence.end() || !it->is_string())
    return std::nullopt;
  return it->get<std::string>();
}

void add_transitions(Builder& b, const std::string& track, const std::vector<store::EventRecord>& newest_first) {
  struct Seen {
    std::int64_t count = 0;
    std::optional<TimeMs> last;
  };
  std::map<std::string, Seen> actions;
  for (const char* a : k_lifecycle_actions)
    actions[a];
  std::optional<std::string> verdict;
  for (const auto& e : newest_first) {
    auto& seen = actions[e.action];
    if (seen.count++ == 0)
      seen.last = e.at;
    if (!verdict)
      verdict = recorded_verdict(e);
  }
  for (const auto& [action, seen] : actions) {
    const Labels l = {{"track", track}, {"action", action}};
    b.add("kanari_transitions_total", l, static_cast<double>(seen.count));
    if (seen.last)
      b.add("kanari_last_transition_timestamp_seconds", l, static_cast<double>(*seen.last) / 1000.0);
  }
  if (verdict)
    for (const char* v : k_verdicts)
      b.add("kanari_last_verdict", {{"track", track}, {"verdict", v}}, *verdict == v ? 1 : 0);
}

const char* arm_name(store::Arm a) { return a == store::Arm::canary ? "canary" : "stable"; }

void add_window(Builder& b, const std::string& track, store::Arm arm, const store::SampleStats& s) {
  const Labels l = {{"track", track}, {"arm", arm_name(arm)}};
  b.add("kanari_gate_outcomes", l, static_cast<double>(s.n));
  b.add("kanari_gate_passes", l, static_cast<double>(s.pass));
  if (s.n > 0)
    b.add("kanari_gate_pass_rate", l, static_cast<double>(s.pass) / static_cast<double>(s.n));
  auto quantile = [&](const char* q, const std::optional<double>& ms) {
    if (ms)
      b.add("kanari_gate_latency_seconds", {{"track", track}, {"arm", arm_name(arm)}, {"quantile", q}}, *ms / 1000.0);
  };
  quantile("0.5", s.latency_p50_ms);
  quantile("0.95", s.latency_p95_ms);
}

} // namespace

// Every hook, in each state (0 included, so an alert on failed > 0 has a
// series from the start).
void add_deliveries(Builder& b, rollout::Context& ctx, const std::vector<std::optional<std::string>>& tracks) {
  std::map<std::pair<std::string, store::DeliveryState>, std::int64_t> counts;
  for (const auto& track : tracks)
    for (const auto& c : ctx.store.delivery_counts(track))
      counts[{c.hook, c.state}] += c.count;
  for (const auto& h : ctx.store.hooks())
    for (auto state : {store::DeliveryState::pending, store::DeliveryState::failed, store::DeliveryState::delivered})
      b.add("kanari_hook_deliveries", {{"hook", h.name}, {"state", std::string(store::to_string(state))}},
            static_cast<double>(counts[{h.name, state}]));
}

Result<std::vector<MetricFamily>> gather_metrics(rollout::Context& ctx, const std::vector<std::string>& tracks) {
  Builder b;
  declare(b);
  auto r = ctx.store.read([&]() -> Result<void> {
    auto names = ctx.store.track_names();
    std::vector<std::string> chosen = names;
    if (!tracks.empty()) {
      chosen.clear();
      for (const auto& t : tracks) {
        KANARI_TRY(rollout::validate_track_name(t));
        if (!std::binary_search(names.begin(), names.end(), t))
          return not_found_error("track '" + t +
                                 "' is not in the store; `kanari metrics` without --track exports "
                                 "every track");
        chosen.push_back(t);
      }
    }
    b.add("kanari_tracks", {}, static_cast<double>(chosen.size()));
    for (const auto& track : chosen) {
      std::map<store::Arm, store::ArmTotals> totals;
      for (const auto& t : ctx.store.outcome_totals(track))
        totals[t.arm] = t;
      for (auto arm : {store::Arm::canary, store::Arm::stable}) {
        const auto& t = totals[arm];
        const Labels l = {{"track", track}, {"arm", arm_name(arm)}};
        b.add("kanari_outcomes_total", l, static_cast<double>(t.n));
        b.add("kanari_outcome_passes_total", l, static_cast<double>(t.pass));
        b.add("kanari_outcome_errors_total", l, static_cast<double>(t.errors));
      }
      const auto stable = ctx.store.stable_of(track);
      const auto open = ctx.store.open_rollout(track);
      const std::string state = open ? std::string(store::to_string(open->state)) : "idle";
      for (const char* s : {"idle", "active", "paused"})
        b.add("kanari_rollout_state", {{"track", track}, {"state", s}}, state == s ? 1 : 0);
      double pct = 0;
      if (open)
        pct = static_cast<double>(open->steps_bp.at(static_cast<std::size_t>(open->step))) / 100.0;
      b.add("kanari_rollout_percentage", {{"track", track}}, pct);
      if (stable)
        b.add("kanari_stable_info", {{"track", track}, {"version", *stable}}, 1);
      add_transitions(b, track, ctx.store.events(track, std::nullopt));
      const auto sessions = rollout::session_summary(ctx, track, stable, open);
      for (auto [arm, n] : {std::pair{"stable", sessions.pinned_stable}, std::pair{"canary", sessions.pinned_canary},
                            std::pair{"previous", sessions.pinned_previous}})
        b.add("kanari_sessions_pinned", {{"track", track}, {"arm", arm}}, static_cast<double>(n));
      b.add("kanari_sessions_draining", {{"track", track}}, static_cast<double>(sessions.draining));
      if (!open)
        continue;
      for (auto [arm, n] : {std::pair{"stable", sessions.served_stable}, std::pair{"canary", sessions.served_canary},
                            std::pair{"previous", sessions.served_previous}}) {
        b.add("kanari_session_requests", {{"track", track}, {"arm", arm}}, static_cast<double>(n));
        if (sessions.served() > 0)
          b.add("kanari_session_request_share", {{"track", track}, {"arm", arm}},
                static_cast<double>(n) / static_cast<double>(sessions.served()));
      }
      b.add("kanari_rollout_step", {{"track", track}}, static_cast<double>(open->step));
      b.add("kanari_rollout_steps", {{"track", track}}, static_cast<double>(open->steps_bp.size()));
      b.add("kanari_rollout_step_started_timestamp_seconds", {{"track", track}},
            static_cast<double>(open->step_started_at) / 1000.0);
      b.add(
          "kanari_rollout_info",
          {{"track", track}, {"rollout", std::to_string(open->id)}, {"stable", open->stable}, {"canary", open->canary}},
          1);
      const auto policy = rollout::rollout_policy(*open);
      const auto samples = rollout::load_samples(ctx, *open, policy);
      add_window(b, track, store::Arm::canary, samples.canary);
      add_window(b, track, store::Arm::stable, samples.baseline);
      std::set<std::pair<std::string, gate::Aggregate>> exported; // two gates on one aggregate: one series
      for (std::size_t i = 0; i < policy.metrics.size(); ++i) {
        const auto& g = policy.metrics[i];
        if (!exported.emplace(g.metric, g.aggregate).second)
          continue;
        for (auto arm : {store::Arm::canary, store::Arm::stable}) {
          const auto& s = arm == store::Arm::canary ? samples.canary : samples.baseline;
          if (i >= s.metrics.size())
            continue;
          const Labels l = {{"track", track},
                            {"arm", arm_name(arm)},
                            {"metric", g.metric},
                            {"aggregate", std::string(gate::to_string(g.aggregate))}};
          b.add("kanari_gate_metric_values", l, static_cast<double>(s.metrics[i].n));
          if (const auto v = gate::aggregate_value(s.metrics[i], g.aggregate))
            b.add("kanari_gate_metric", l, *v);
        }
      }
      if (samples.paired)
        for (const auto& [which, count] :
             {std::pair{"both", samples.paired->both_pass}, std::pair{"stable", samples.paired->stable_only},
              std::pair{"canary", samples.paired->canary_only}, std::pair{"neither", samples.paired->both_fail}})
          b.add("kanari_gate_pairs", {{"track", track}, {"passed", which}}, static_cast<double>(count));
    }
    add_deliveries(b, ctx,
                   tracks.empty() ? std::vector<std::optional<std::string>>{std::nullopt}
                                  : std::vector<std::optional<std::string>>(chosen.begin(), chosen.end()));
    return {};
  });
  KANARI_TRY(r);
  return b.take();
}

std::string exposition_text(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) {
    if (f.samples.empty())
      continue;
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += '{';
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          if (!first)
            out += ',';
          first = false;
          out += k + "=\"" + escape_label_value(v) + "\"";
        }
        out += '}';
      }
      out += ' ' + format_value(s.value) + '\n';
    }
  }
  return out;
}

json metrics_json(const std::vector<MetricFamily>& families) {
  json arr = json::array();
  for (const auto& f : families) {
    if (f.samples.empty())
      continue;
    json samples = json::array();
    for (const auto& s : f.samples) {
      json labels = json::object();
      for (const auto& [k, v] : s.labels)
        labels[k] = v;
      samples.push_back({{"labels", labels}, {"value", s.value}});
    }
    arr.push_back({{"name", f.name}, {"type", f.type}, {"help", f.help}, {"samples", samples}});
  }
  return arr;
}

} // namespace kanari::report
