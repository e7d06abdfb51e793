#include "gate/policy.hpp"

#include "util/strings.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace kanari::gate {

using nlohmann::json;

namespace {

constexpr std::array<std::string_view, 20> k_policy_keys = {"alpha",
                                                            "consecutive",
                                                            "drain_seconds",
                                                            "max_regression",
                                                            "max_step_seconds",
                                                            "method",
                                                            "metrics",
                                                            "min_pass_rate",
                                                            "min_samples",
                                                            "min_stable_samples",
                                                            "min_step_seconds",
                                                            "on_rollback",
                                                            "on_timeout",
                                                            "paired_alpha",
                                                            "planned_samples",
                                                            "regression",
                                                            "require_approval",
                                                            "require_signature",
                                                            "session_ttl_seconds",
                                                            "steps"};

constexpr std::array<std::string_view, 11> k_metric_keys = {"metric",      "aggregate", "direction",      "max",
                                                            "min",         "max_ratio", "max_regression", "target",
                                                            "min_samples", "on_fail",   "paired"};

// A value rendered for an error message; never throws on bad UTF-8, and a
// long one is cut at a character boundary so the message stays UTF-8.
std::string shown(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 80) {
    std::size_t cut = 77;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) // a continuation byte
      --cut;
    s = s.substr(0, cut) + "...";
  }
  return s;
}

Error key_error(std::string_view key, std::string_view expectation, const json& v) {
  return usage_error("policy key '" + std::string(key) + "' must be " + std::string(expectation) + ", got " + shown(v));
}

std::string join_keys(const auto& keys, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i)
      out += ", ";
    out += keys[i];
  }
  return out;
}

// The shortest decimal text of a JSON number (what nlohmann prints), so that
// 0.07 is read as the decimal 0.07 and not as the double nearest to it.
std::optional<std::string> number_text(const json& v) {
  if (!v.is_number())
    return std::nullopt;
  if (v.is_number_float() && !std::isfinite(v.get<double>()))
    return std::nullopt;
  return v.dump();
}

Result<std::int64_t> get_int(const json& v, std::string_view key, std::int64_t lo, std::int64_t hi) {
  const std::string expect = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  auto text = number_text(v);
  if (!text)
    return key_error(key, expect, v);
  auto x = parse_decimal(*text, 0);
  if (!x || *x < lo || *x > hi)
    return key_error(key, expect, v);
  return *x;
}

Result<double> get_double(const json& v, std::string_view key, double lo, double hi, bool lo_open,
                          std::string_view expect) {
  if (!v.is_number())
    return key_error(key, expect, v);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x > hi || x < lo || (lo_open && x == lo))
    return key_error(key, expect, v);
  return x;
}

template <typename E, std::size_t N>
Result<E> get_enum(const json& v, std::string_view key, const std::array<std::pair<std::string_view, E>, N>& names) {
  std::string expect;
  for (std::size_t i = 0; i < N; ++i) {
    if (i)
      expect += (i + 1 == N) ? " or " : ", ";
    expect += "\"" + std::string(names[i].first) + "\"";
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    for (const auto& [name, value] : names)
      if (s == name)
        return value;
  }
  return key_error(key, expect, v);
}

constexpr std::array<std::pair<std::string_view, Method>, 2> k_methods = {
    {{"threshold", Method::threshold}, {"sequential", Method::sequential}}};
constexpr std::array<std::pair<std::string_view, Regression>, 2> k_regressions = {
    {{"absolute", Regression::absolute}, {"relative", Regression::relative}}};
constexpr std::array<std::pair<std::string_view, OnFail>, 2> k_on_fails = {
    {{"rollback", OnFail::rollback}, {"hold", OnFail::hold}}};
constexpr std::array<std::pair<std::string_view, OnTimeout>, 3> k_on_timeouts = {
    {{"hold", OnTimeout::hold}, {"rollback", OnTimeout::rollback}, {"promote", OnTimeout::promote}}};
constexpr std::array<std::pair<std::string_view, OnRollback>, 2> k_on_rollbacks = {
    {{"cut", OnRollback::cut}, {"drain", OnRollback::drain}}};
constexpr std::array<std::pair<std::string_view, Approval>, 3> k_approvals = {
    {{"none", Approval::none}, {"final", Approval::final_step}, {"every", Approval::every}}};

template <typename E, std::size_t N>
std::string_view name_of(E e, const std::array<std::pair<std::string_view, E>, N>& names) {
  for (const auto& [name, value] : names)
    if (value == e)
      return name;
  return "?";
}

constexpr std::array<std::pair<std::string_view, Aggregate>, 7> k_aggregates = {{{"mean", Aggregate::mean},
                                                                                 {"rate", Aggregate::rate},
                                                                                 {"p50", Aggregate::p50},
                                                                                 {"p90", Aggregate::p90},
                                                                                 {"p95", Aggregate::p95},
                                                                                 {"p99", Aggregate::p99},
                                                                                 {"max", Aggregate::max}}};
constexpr std::array<std::pair<std::string_view, Direction>, 2> k_directions = {
    {{"lower_is_better", Direction::lower_is_better}, {"higher_is_better", Direction::higher_is_better}}};

constexpr std::array<std::string_view, 6> k_builtin_metrics = {"pass",   "latency_ms", "cost",
                                                               "tokens", "score",      "error"};

// The release-1 gate names: a built-in field with a fixed aggregate, and the
// bounds release 1 accepted for it.
struct LegacyGate {
  std::string_view name, source;
  Aggregate aggregate;
  bool max_regression, max_ratio;
  double max_limit; // upper bound of `max`
};
constexpr std::array<LegacyGate, 4> k_legacy_gates = {{
    {"latency_p95_ms", "latency_ms", Aggregate::p95, true, false, std::numeric_limits<double>::max()},
    {"cost_mean", "cost", Aggregate::mean, true, false, std::numeric_limits<double>::max()},
    {"tokens_mean", "tokens", Aggregate::mean, true, false, std::numeric_limits<double>::max()},
    {"error_rate", "error", Aggregate::rate, false, true, 1.0},
}};

const LegacyGate* legacy_gate(std::string_view name) {
  for (const auto& g : k_legacy_gates)
    if (g.name == name)
      return &g;
  return nullptr;
}

Result<std::optional<double>> optional_double(const json& m, const std::string& prefix, const char* key, double lo,
                                              double hi, bool lo_open, std::string_view expect) {
  if (!m.contains(key))
    return std::optional<double>();
  auto x = get_double(m.at(key), prefix + "." + key, lo, hi, lo_open, expect);
  KANARI_TRY(x);
  return std::optional<double>(*x);
}

Result<MetricGate> parse_metric(const json& m, std::size_t index) {
  const std::string prefix = "metrics[" + std::to_string(index) + "]";
  if (!m.is_object())
    return key_error(prefix, "an object like {\"metric\": \"latency_ms\", \"aggregate\": \"p95\", \"max\": 2000}", m);
  for (const auto& [k, v] : m.items())
    if (std::find(k_metric_keys.begin(), k_metric_keys.end(), k) == k_metric_keys.end())
      return usage_error("policy key '" + prefix + "." + k +
                         "' is unknown; allowed keys: " + join_keys(k_metric_keys, k_metric_keys.size()));
  const std::string metric_key = prefix + ".metric";
  const std::string metric_expect =
      "a metric name matching [a-z][a-z0-9_]{0,63}: a built-in field (pass, latency_ms, cost, tokens, score, error), "
      "a recorded metric, or latency_p95_ms, cost_mean, tokens_mean, error_rate";
  if (!m.contains("metric"))
    return usage_error("policy key '" + metric_key + "' is required: " + metric_expect);
  const json& name = m.at("metric");
  if (!name.is_string() || !is_metric_name(name.get_ref<const std::string&>()))
    return key_error(metric_key, metric_expect, name);

  MetricGate g;
  g.metric = name.get<std::string>();
  const LegacyGate* legacy = legacy_gate(g.metric);
  g.source = legacy ? std::string(legacy->source) : g.metric;
  g.direction = g.source == "pass" || g.source == "score" ? Direction::higher_is_better : Direction::lower_is_better;
  if (legacy)
    g.aggregate = legacy->aggregate;
  if (m.contains("aggregate")) {
    auto a = get_enum(m.at("aggregate"), prefix + ".aggregate", k_aggregates);
    KANARI_TRY(a);
    if (legacy && *a != legacy->aggregate)
      return usage_error("policy key '" + prefix + ".aggregate' must be \"" +
                         std::string(name_of(legacy->aggregate, k_aggregates)) + "\" for metric \"" + g.metric +
                         "\" (or name the field \"" + g.source + "\" to choose the aggregate)");
    g.aggregate = *a;
  }
  if (m.contains("direction")) {
    auto d = get_enum(m.at("direction"), prefix + ".direction", k_directions);
    KANARI_TRY(d);
    if (legacy && *d != Direction::lower_is_better)
      return usage_error("policy key '" + prefix + ".direction' must be \"lower_is_better\" for metric \"" + g.metric +
                         "\"");
    g.direction = *d;
  }
  constexpr double k_big = std::numeric_limits<double>::max();
  constexpr double k_lowest = std::numeric_limits<double>::lowest();
  if (legacy) {
    const std::string allowed = legacy->max_ratio ? "max, max_ratio" : "max, max_regression";
    for (const char* k : {"min", "target", "max_ratio", "max_regression"}) {
      const bool ok = (std::string_view(k) == "max_ratio" && legacy->max_ratio) ||
                      (std::string_view(k) == "max_regression" && legacy->max_regression);
      if (m.contains(k) && !ok)
        return usage_error("policy key '" + prefix + "." + k + "' is not allowed for metric \"" + g.metric +
                           "\" (allowed bounds: " + allowed + "; name the field \"" + g.source +
                           "\" with an \"aggregate\" for the others)");
    }
    const bool rate = legacy->max_limit == 1.0;
    auto x = optional_double(m, prefix, "max", 0.0, legacy->max_limit, false,
                             rate ? "a number in [0, 1]" : "a finite number >= 0");
    KANARI_TRY(x);
    g.max = *x;
  } else {
    auto x = optional_double(m, prefix, "max", k_lowest, k_big, false, "a finite number");
    KANARI_TRY(x);
    g.max = *x;
    auto y = optional_double(m, prefix, "min", k_lowest, k_big, false, "a finite number");
    KANARI_TRY(y);
    g.min = *y;
    auto t = optional_double(m, prefix, "target", k_lowest, k_big, false, "a finite number");
    KANARI_TRY(t);
    g.target = *t;
  }
  auto reg = optional_double(m, prefix, "max_regression", 0.0, k_big, false, "a finite number >= 0");
  KANARI_TRY(reg);
  g.max_regression = *reg;
  auto ratio = optional_double(m, prefix, "max_ratio", 0.0, k_big, true, "a finite number > 0");
  KANARI_TRY(ratio);
  g.max_ratio = *ratio;
  if (m.contains("min_samples")) {
    auto n = get_int(m.at("min_samples"), prefix + ".min_samples", 1, k_max_min_samples);
    KANARI_TRY(n);
    g.min_samples = *n;
  }
  if (m.contains("paired")) {
    if (!m.at("paired").is_boolean())
      return key_error(prefix + ".paired", "true or false", m.at("paired"));
    g.paired = m.at("paired").get<bool>();
  }
  if (m.contains("on_fail")) {
    auto f = get_enum(m.at("on_fail"), prefix + ".on_fail", k_on_fails);
    KANARI_TRY(f);
    g.on_fail = *f;
  }
  if (!g.max && !g.min && !g.max_regression && !g.max_ratio && !g.target && !g.paired)
    return usage_error("policy key '" + prefix + "' must set at least one bound: " +
                       (legacy ? std::string(legacy->max_ratio ? "max, max_ratio" : "max, max_regression")
                               : std::string("max, min, max_ratio, max_regression, target (or \"paired\": true)")));
  if (g.min && g.max && *g.min > *g.max)
    return usage_error("policy key '" + prefix + ".min' must not be above its max");
  if (g.target) {
    const bool higher = g.direction == Direction::higher_is_better;
    if (higher && g.min && *g.target < *g.min)
      return usage_error("policy key '" + prefix + ".target' must be >= its min (" + shown(m.at("min")) +
                         ") for a higher_is_better metric, got " + shown(m.at("target")));
    if (!higher && g.max && *g.target > *g.max)
      return usage_error("policy key '" + prefix + ".target' must be <= its max (" + shown(m.at("max")) +
                         ") for a lower_is_better metric, got " + shown(m.at("target")));
  }
  return g;
}

json scaled_number(std::int64_t value, std::int64_t scale) {
  if (value % scale == 0)
    return value / scale;
  // Correctly rounded division: the double nearest the exact decimal, whose
  // shortest text is that decimal again.
  return static_cast<double>(value) / static_cast<double>(scale);
}

} // namespace

bool is_builtin_metric(std::string_view name) {
  return std::find(k_builtin_metrics.begin(), k_builtin_metrics.end(), name) != k_builtin_metrics.end();
}

bool is_legacy_metric_gate(std::string_view name) { return legacy_gate(name) != nullptr; }

bool MetricGate::percentile() const {
  return aggregate == Aggregate::p50 || aggregate == Aggregate::p90 || aggregate == Aggregate::p95 ||
         aggregate == Aggregate::p99;
}

std::int64_t Policy::effective_min_stable_samples() const { return min_stable_samples.value_or(min_samples); }

std::optional<std::int64_t> parse_decimal(std::string_view text, int decimals) {
  if (decimals < 0 || decimals > 18)
    return std::nullopt;
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  std::string digits; // significant digits, integer part then fraction
  std::int64_t frac_len = 0;
  bool any_digit = false;
  auto is_digit = [](char ch) { return ch >= '0' && ch <= '9'; };
  while (i < text.size() && is_digit(text[i])) {
    digits += text[i++];
    any_digit = true;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i])) {
      digits += text[i++];
      ++frac_len;
      any_digit = true;
    }
  }
  if (!any_digit)
    return std::nullopt;
  std::int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
      exp_negative = text[i] == '-';
      ++i;
    }
    if (i >= text.size() || !is_digit(text[i]))
      return std::nullopt;
    while (i < text.size() && is_digit(text[i])) {
      if (exponent < 100000)
        exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (exp_negative)
      exponent = -exponent;
  }
  if (i != text.size())
    return std::nullopt;

  // value = digits * 10^(exponent - frac_len); result = value * 10^decimals.
  const auto first = digits.find_first_not_of('0');
  if (first == std::string::npos)
    return 0;
  digits.erase(0, first);
  std::int64_t shift = exponent - frac_len + decimals;
  while (shift < 0) { // dropping digits: they must be zeros
    if (digits.empty() || digits.back() != '0')
      return std::nullopt;
    digits.pop_back();
    ++shift;
  }
  if (static_cast<std::int64_t>(digits.size()) + shift > 19)
    return std::nullopt;
  digits.append(static_cast<std::size_t>(shift), '0');
  // Accumulate as a negative number so that INT64_MIN is representable.
  std::int64_t acc = 0;
  constexpr std::int64_t k_min = std::numeric_limits<std::int64_t>::min();
  for (char ch : digits) {
    const int d = ch - '0';
    if (acc < k_min / 10 || acc * 10 < k_min + d)
      return std::nullopt;
    acc = acc * 10 - d;
  }
  if (!negative) {
    if (acc == k_min)
      return std::nullopt;
    return -acc;
  }
  return acc;
}

Result<Policy> parse_policy(const json& j) {
  if (!j.is_object())
    return usage_error("policy must be a JSON object, got " + shown(j));
  for (const auto& [k, v] : j.items()) {
    if (std::find(k_policy_keys.begin(), k_policy_keys.end(), k) == k_policy_keys.end())
      return usage_error("policy has unknown key '" + k +
                         "'; allowed keys: " + join_keys(k_policy_keys, k_policy_keys.size()));
  }
  Policy p;
  if (j.contains("min_samples")) {
    auto x = get_int(j.at("min_samples"), "min_samples", 1, k_max_min_samples);
    KANARI_TRY(x);
    p.min_samples = *x;
  }
  if (j.contains("min_stable_samples") && !j.at("min_stable_samples").is_null()) {
    auto x = get_int(j.at("min_stable_samples"), "min_stable_samples", 1, k_max_min_samples);
    KANARI_TRY(x);
    p.min_stable_samples = *x;
  }
  if (j.contains("regression")) {
    auto r = get_enum(j.at("regression"), "regression", k_regressions);
    KANARI_TRY(r);
    p.regression = *r;
  }
  if (j.contains("max_regression")) {
    const json& v = j.at("max_regression");
    const std::string_view expect = "a number in [0, 1] with at most 6 decimals";
    auto text = number_text(v);
    auto ppm = text ? parse_decimal(*text, 6) : std::nullopt;
    if (!ppm || *ppm < 0 || *ppm > 1'000'000)
      return key_error("max_regression", expect, v);
    p.max_regression_ppm = *ppm;
  }
  if (j.contains("method")) {
    auto m = get_enum(j.at("method"), "method", k_methods);
    KANARI_TRY(m);
    p.method = *m;
  }
  if (j.contains("steps")) {
    // Live steps are numbers; shadow steps, only before them, are strings
    // "shadow:P". Each kind is strictly ascending on its own.
    const json& v = j.at("steps");
    const std::string_view expect =
        "an array of percentages in (0, 100] with at most two decimals, strictly ascending, optionally led by "
        "shadow steps \"shadow:P\" (strictly ascending among themselves)";
    if (!v.is_array())
      return key_error("steps", expect, v);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string key = "steps[" + std::to_string(i) + "]";
      const bool shadow = v[i].is_string() && v[i].get_ref<const std::string&>().starts_with(k_shadow_step_prefix);
      auto text = shadow ? std::optional(v[i].get_ref<const std::string&>().substr(k_shadow_step_prefix.size()))
                         : number_text(v[i]);
      auto bp = text ? parse_decimal(*text, 2) : std::nullopt;
      if (!bp || *bp <= 0 || *bp > 10000)
        return key_error(key, expect, v[i]);
      const auto live = static_cast<std::int64_t>(p.steps_bp.size()) - p.shadow_steps;
      if (shadow && live > 0)
        return key_error(key, "a number: shadow steps (\"shadow:P\") come only before the live ones", v[i]);
      if ((shadow ? p.shadow_steps : live) > 0 && *bp <= p.steps_bp.back())
        return key_error("steps", expect, v);
      p.steps_bp.push_back(*bp);
      p.shadow_steps += shadow;
    }
  }
  if (j.contains("min_step_seconds")) {
    auto x = get_int(j.at("min_step_seconds"), "min_step_seconds", 0, k_max_seconds);
    KANARI_TRY(x);
    p.min_step_seconds = *x;
  }
  if (j.contains("max_step_seconds") && !j.at("max_step_seconds").is_null()) {
    auto x = get_int(j.at("max_step_seconds"), "max_step_seconds", 1, k_max_seconds);
    KANARI_TRY(x);
    p.max_step_seconds = *x;
  }
  if (p.max_step_seconds && *p.max_step_seconds < p.min_step_seconds)
    return usage_error("policy key 'max_step_seconds' must be null or >= min_step_seconds (" +
                       std::to_string(p.min_step_seconds) + "), got " + std::to_string(*p.max_step_seconds));
  if (j.contains("on_timeout")) {
    auto t = get_enum(j.at("on_timeout"), "on_timeout", k_on_timeouts);
    KANARI_TRY(t);
    p.on_timeout = *t;
  }
  if (j.contains("consecutive")) {
    auto x = get_int(j.at("consecutive"), "consecutive", 1, k_max_consecutive);
    KANARI_TRY(x);
    p.consecutive = *x;
  }
  if (j.contains("require_approval")) {
    auto a = get_enum(j.at("require_approval"), "require_approval", k_approvals);
    KANARI_TRY(a);
    p.require_approval = *a;
  }
  if (j.contains("metrics")) {
    const json& v = j.at("metrics");
    if (!v.is_array())
      return key_error("metrics", "an array of metric gates", v);
    for (std::size_t i = 0; i < v.size(); ++i) {
      auto g = parse_metric(v[i], i);
      KANARI_TRY(g);
      p.metrics.push_back(std::move(*g));
    }
  }
  if (j.contains("min_pass_rate") && !j.at("min_pass_rate").is_null()) {
    const json& v = j.at("min_pass_rate");
    auto text = number_text(v);
    auto ppm = text ? parse_decimal(*text, 6) : std::nullopt;
    if (!ppm || *ppm < 0 || *ppm > 1'000'000)
      return key_error("min_pass_rate", "null or a number in [0, 1] with at most 6 decimals", v);
    p.min_pass_rate_ppm = *ppm;
  }
  if (j.contains("paired_alpha")) {
    auto x = get_double(j.at("paired_alpha"), "paired_alpha", 0.0, 0.5, true, "a number in (0, 0.5]");
    KANARI_TRY(x);
    p.paired_alpha = *x;
  }
  if (j.contains("alpha")) {
    auto x = get_double(j.at("alpha"), "alpha", 0.0, 0.5, true, "a number in (0, 0.5]");
    KANARI_TRY(x);
    p.alpha = *x;
  }
  if (j.contains("planned_samples")) {
    auto x = get_int(j.at("planned_samples"), "planned_samples", 1, k_max_planned_samples);
    KANARI_TRY(x);
    p.planned_samples = *x;
  }
  if (j.contains("session_ttl_seconds")) {
    auto x = get_int(j.at("session_ttl_seconds"), "session_ttl_seconds", 1, k_max_seconds);
    KANARI_TRY(x);
    p.session_ttl_seconds = *x;
  }
  if (j.contains("on_rollback")) {
    auto o = get_enum(j.at("on_rollback"), "on_rollback", k_on_rollbacks);
    KANARI_TRY(o);
    p.on_rollback = *o;
  }
  if (j.contains("drain_seconds")) {
    auto x = get_int(j.at("drain_seconds"), "drain_seconds", 0, k_max_seconds);
    KANARI_TRY(x);
    p.drain_seconds = *x;
  }
  if (j.contains("require_signature") && !j.at("require_signature").is_null()) {
    const json& v = j.at("require_signature");
    const std::string_view expect = "null or a non-empty array of trusted public keys, each \"ed25519:\" and 64 "
                                    "lowercase hex digits (`kanari version verify` prints a key's id)";
    if (!v.is_array() || v.empty())
      return key_error("require_signature", expect, v);
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string key = "require_signature[" + std::to_string(i) + "]";
      if (!v[i].is_string() || !is_ed25519_key_id(v[i].get_ref<const std::string&>()))
        return key_error(key, expect, v[i]);
      const auto& id = v[i].get_ref<const std::string&>();
      if (std::find(p.require_signature.begin(), p.require_signature.end(), id) != p.require_signature.end())
        return usage_error("policy key '" + key + "' repeats the key " + id);
      p.require_signature.push_back(id);
    }
  }
  return p;
}

json policy_to_json(const Policy& p) {
  json j = json::object();
  j["min_samples"] = p.min_samples;
  j["min_stable_samples"] = p.min_stable_samples ? json(*p.min_stable_samples) : json(nullptr);
  j["max_regression"] = scaled_number(p.max_regression_ppm, 1'000'000);
  j["regression"] = to_string(p.regression);
  j["method"] = to_string(p.method);
  json steps = json::array();
  for (std::size_t i = 0; i < p.steps_bp.size(); ++i) {
    json number = scaled_number(p.steps_bp[i], 100);
    if (static_cast<std::int64_t>(i) < p.shadow_steps)
      steps.push_back(std::string(k_shadow_step_prefix) + number.dump());
    else
      steps.push_back(std::move(number));
  }
  j["steps"] = std::move(steps);
  j["min_step_seconds"] = p.min_step_seconds;
  j["max_step_seconds"] = p.max_step_seconds ? json(*p.max_step_seconds) : json(nullptr);
  j["on_timeout"] = to_string(p.on_timeout);
  j["consecutive"] = p.consecutive;
  j["require_approval"] = to_string(p.require_approval);
  json metrics = json::array();
  for (const auto& g : p.metrics) {
    json m = {{"metric", g.metric},
              {"aggregate", to_string(g.aggregate)},
              {"direction", to_string(g.direction)},
              {"min_samples", g.min_samples},
              {"paired", g.paired},
              {"on_fail", to_string(g.on_fail)}};
    for (const auto& [key, bound] :
         {std::pair{"max", &g.max}, std::pair{"min", &g.min}, std::pair{"max_ratio", &g.max_ratio},
          std::pair{"max_regression", &g.max_regression}, std::pair{"target", &g.target}})
      if (*bound)
        m[key] = **bound;
    metrics.push_back(std::move(m));
  }
  j["metrics"] = std::move(metrics);
  j["min_pass_rate"] = p.min_pass_rate_ppm ? scaled_number(*p.min_pass_rate_ppm, 1'000'000) : json(nullptr);
  j["paired_alpha"] = p.paired_alpha;
  j["alpha"] = p.alpha;
  j["planned_samples"] = p.planned_samples;
  j["require_signature"] = p.require_signature.empty() ? json(nullptr) : json(p.require_signature);
  j["session_ttl_seconds"] = p.session_ttl_seconds;
  j["on_rollback"] = to_string(p.on_rollback);
  j["drain_seconds"] = p.drain_seconds;
  return j;
}

std::string_view to_string(Method m) { return name_of(m, k_methods); }
std::string_view to_string(Regression r) { return name_of(r, k_regressions); }
std::string_view to_string(OnFail f) { return name_of(f, k_on_fails); }
std::string_view to_string(OnTimeout t) { return name_of(t, k_on_timeouts); }
std::string_view to_string(Approval a) { return name_of(a, k_approvals); }
std::string_view to_string(OnRollback o) { return name_of(o, k_on_rollbacks); }
std::string_view to_string(Aggregate a) { return name_of(a, k_aggregates); }
std::string_view to_string(Direction d) { return name_of(d, k_directions); }

} // namespace kanari::gate
