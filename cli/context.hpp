// What a command's run_<verb>() is handed: the streams, the parsed global
// options, and the store, opened on first use.
#pragma once

#include "cli.hpp"
#include "output/progress.hpp"
#include "output/table.hpp"
#include "notify/notify.hpp"
#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <ostream>

namespace kanari::cli {

struct GlobalOptions {
  std::string state;
  std::string track = "default";
  bool track_given = false; // --track was on the command line
  bool json = false;
  bool quiet = false;
  std::string actor;
};

class Context {
public:
  explicit Context(const Io& streams) : in(streams.in), out(streams.out), err(streams.err), io(streams) {}

  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  const Io& io;
  GlobalOptions g;

  // The store for this invocation (opened once); exit 3 when missing.
  Result<rollout::Context*> lib();
  const Clock& clock() const;
  std::string state_dir() const;
  // Waits `ms` (Io::sleep when set).
  void sleep_ms(TimeMs ms) const;

  // Hooks (docs/hooks.md): what deliveries are made with, and the
  // deliveries due now, attempted after a command that wrote (or asked
  // for them, as `canary evaluate` does); what fails is reported on stderr.
  // `after_commit`: 5 s per hook, as a command that wrote waits; otherwise
  // 10 s per attempt and 60 s per hook (`hook deliver`, `hook test`).
  notify::Settings notify_settings(bool after_commit) const;
  void deliver_notifications();
  bool delivered = false;      // this invocation delivers no more (hook deliver and test did it themselves)
  bool deliver_always = false; // attempt them even when nothing was written

  // Prints exactly one JSON document (docs/cli.md: --json).
  void print_json(const nlohmann::json& j) const;
  // Human output, suppressed by --quiet.
  std::ostream& human() const;
  // Whether human output on stdout may use colour: a terminal, NO_COLOR
  // unset or empty, TERM not `dumb`, no --json (docs/cli.md, "Human output").
  bool colour() const;
  // A progress bar on stderr, or null when there must be none: stderr is
  // not a terminal, or --quiet, or --json.
  std::unique_ptr<ProgressBar> progress(ProgressBar::Options options) const;

private:
  std::unique_ptr<store::Store> m_store;
  std::unique_ptr<rollout::Context> m_lib;
  std::int64_t m_commits_delivered = 0; // the store's commits when deliveries were last attempted
  SystemClock m_system_clock;
};

// Reads FILE, or standard input for "-". A file that does not exist is a
// usage error (2); one that cannot be read is operational (3).
Result<std::string> read_input(Context& ctx, const std::string& path, const std::string& what);

// Reads FILE (named by `flag` in errors) as one JSON object; `what` names
// it in messages ("policy file 'p.json'"), `example` shows a valid one.
Result<nlohmann::json> read_json_object(Context& ctx, const std::string& path, const std::string& flag,
                                        const std::string& what, const std::string& example);

} // namespace kanari::cli
