// kanari record --task ID (--pass | --fail) ... | --jsonl FILE|-
#include "commands.hpp"

#include "rollout/ledger.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace kanari::cli {

using nlohmann::json;

namespace {

struct RecordOptions {
  std::optional<std::string> task;
  bool pass = false;
  bool fail = false;
  std::optional<std::string> version;
  std::optional<std::string> session;
  std::string latency_ms, cost, tokens, score;
  std::optional<std::string> error;
  std::string at;
  std::vector<std::string> metrics; // NAME=X, repeatable
  std::string jsonl;
  bool skip_invalid = false;
};

enum class Sign { any, non_negative };

Result<std::optional<double>> number_flag(const std::string& text, const char* flag, Sign sign) {
  if (text.empty())
    return std::optional<double>();
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  const bool non_negative = sign == Sign::non_negative;
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v) || (non_negative && v < 0))
    return usage_error(std::string(flag) + " must be a finite number" + (non_negative ? " >= 0" : "") + ", got " +
                       quote_for_message(text));
  return std::optional<double>(v);
}

Result<int> report(Context& ctx, const rollout::RecordSummary& s) {
  for (const auto& note : s.notes)
    ctx.err << "kanari: " << note << "\n";
  if (s.notes_omitted)
    ctx.err << "kanari: ... and " << s.notes_omitted << " more\n";
  if (ctx.g.json)
    ctx.print_json({{"inserted", s.inserted},
                    {"duplicates", s.duplicates},
                    {"conflicts", s.conflicts},
                    {"invalid", s.invalid},
                    {"late", s.late},
                    {"backdated", s.backdated}});
  else {
    ctx.human() << "Recorded " << s.inserted << " outcome" << (s.inserted == 1 ? "" : "s") << " (" << s.duplicates
                << " duplicate, " << s.conflicts << " conflicting, " << s.invalid << " invalid skipped)\n";
    if (s.late || s.backdated)
      ctx.human() << "  of these, counted in no gate window: " << s.late
                  << " late (their version's rollout had ended), " << s.backdated
                  << " backdated (dated before their window opened)\n";
  }
  return 0;
}

Result<int> run_record(const RecordOptions& o, Context& ctx) {
  if (!o.jsonl.empty()) {
    if (o.task || o.pass || o.fail || o.version || o.session || !o.latency_ms.empty() || !o.cost.empty() ||
        !o.tokens.empty() || !o.score.empty() || o.error || !o.at.empty() || !o.metrics.empty())
      return usage_error("--jsonl takes every field from its lines; give no --task/--pass/--fail/... with it");
    std::ifstream file;
    std::istream* in = &ctx.in;
    if (o.jsonl != "-") {
      if (std::error_code ec; std::filesystem::is_directory(o.jsonl, ec))
        return usage_error("--jsonl '" + o.jsonl + "' is a directory; give a JSON Lines file, or - for stdin");
      file.open(o.jsonl, std::ios::binary);
      if (!file)
        return usage_error("--jsonl file '" + o.jsonl + "' cannot be opened");
      in = &file;
    }
    auto lib = ctx.lib();
    KANARI_TRY(lib);
    // A bar over the file's bytes, or a line counter for standard input.
    std::int64_t total = 0;
    if (o.jsonl != "-") {
      std::error_code ec;
      auto size = std::filesystem::file_size(o.jsonl, ec);
      if (!ec)
        total = static_cast<std::int64_t>(size);
    }
    auto bar = ctx.progress({"importing", total, "lines", total > 0});
    std::function<void(std::int64_t)> progress;
    if (bar)
      progress = [&](std::int64_t lines) {
        if (total > 0)
          bar->update(static_cast<std::int64_t>(file.tellg()), lines);
        else
          bar->update(lines);
      };
    auto s = rollout::record_jsonl(
        **lib, *in, ctx.g.track, o.skip_invalid ? rollout::InvalidLines::skip : rollout::InvalidLines::fail, progress);
    if (bar && s.ok())
      bar->finish(total > 0 ? s->inserted + s->duplicates + s->conflicts + s->invalid : -1);
    else if (bar && bar->drew())
      ctx.err << "\n";
    KANARI_TRY(s);
    return report(ctx, *s);
  }
  if (o.skip_invalid)
    return usage_error("--skip-invalid goes with --jsonl");
  if (!o.task)
    return usage_error("give --task ID with --pass or --fail, or --jsonl FILE");
  if (o.pass == o.fail)
    return usage_error("give exactly one of --pass and --fail");
  rollout::OutcomeInput in;
  in.track = ctx.g.track;
  in.task = *o.task;
  in.version_ref = o.version;
  in.session = o.session;
  in.pass = o.pass;
  auto latency = number_flag(o.latency_ms, "--latency-ms", Sign::non_negative);
  KANARI_TRY(latency);
  auto cost = number_flag(o.cost, "--cost", Sign::non_negative);
  KANARI_TRY(cost);
  auto score = number_flag(o.score, "--score", Sign::any);
  KANARI_TRY(score);
  in.latency_ms = *latency;
  in.cost = *cost;
  in.score = *score;
  if (!o.tokens.empty()) {
    std::int64_t t = 0;
    auto [p, ec] = std::from_chars(o.tokens.data(), o.tokens.data() + o.tokens.size(), t);
    if (ec != std::errc() || p != o.tokens.data() + o.tokens.size() || t < 0)
      return usage_error("--tokens must be a whole number >= 0, got " + quote_for_message(o.tokens));
    in.tokens = t;
  }
  in.error = o.error;
  for (const auto& m : o.metrics) {
    const auto eq = m.find('=');
    if (eq == std::string::npos)
      return usage_error("--metric takes NAME=X (like --metric tool_calls=7), got " + quote_for_message(m));
    auto value = number_flag(m.substr(eq + 1), "--metric", Sign::any);
    KANARI_TRY(value);
    if (!*value)
      return usage_error("--metric " + quote_for_message(m) + " has no value after '='");
    in.metrics.push_back({m.substr(0, eq), **value});
  }
  if (!o.at.empty()) {
    auto t = parse_rfc3339(o.at);
    if (!t)
      return usage_error("--at must be an RFC 3339 time like 2026-11-22T10:00:00Z, got " + quote_for_message(o.at));
    in.at = *t;
  }
  KANARI_TRY(rollout::validate_outcome(in));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto s = rollout::record_one(**lib, in);
  KANARI_TRY(s);
  return report(ctx, *s);
}

} // namespace

void setup_record(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<RecordOptions>();
  auto* r = app.add_subcommand("record", "Store task outcomes against the version they ran with (idempotent)");
  r->add_option("--task", o->task, "the task id (1 to 256 bytes of UTF-8, no NUL)");
  r->add_flag("--pass", o->pass, "the task passed");
  r->add_flag("--fail", o->fail, "the task failed");
  r->add_option("--version", o->version,
                "the version REF it ran with (default: the assignment from `route --task`); a version of an ended "
                "rollout is stored as a late outcome, counted in no gate window");
  r->add_option("--session", o->session,
                "the session it ran in: recorded against the version `route --session` pinned it to (even after the "
                "session ended or expired); not with --version");
  r->add_option("--latency-ms", o->latency_ms, "latency in milliseconds (>= 0)");
  r->add_option("--cost", o->cost, "cost (>= 0, any unit, used consistently)");
  r->add_option("--tokens", o->tokens, "tokens used (whole number >= 0)");
  r->add_option("--score", o->score, "a score (any finite number)");
  r->add_option("--error", o->error, "an error code; counts toward the error rate");
  r->add_option("--metric", o->metrics,
                "NAME=X: a metric of the outcome that gates can use (repeatable, up to 32; NAME matches "
                "[a-z][a-z0-9_]{0,63}, X a finite number), e.g. --metric escalated=1 --metric tool_calls=7")
      ->allow_extra_args(false);
  r->add_option("--at", o->at,
                "when it ran, RFC 3339 (default: now; at most 10 minutes ahead of this host's clock). An outcome dated "
                "before its window opened is stored as backdated and counts in no gate window");
  r->add_option("--jsonl", o->jsonl,
                "many outcomes, one JSON object per line (- = stdin): task, pass, version, session, track, latency_ms, "
                "cost, tokens, score, error, at, metrics (an object of names and numbers); all or nothing");
  r->add_flag("--skip-invalid", o->skip_invalid, "with --jsonl: store the valid lines and report the invalid ones");
  reg.on(r, o, run_record);
}

} // namespace kanari::cli
