// The CLI's entry point (lld's link(args, stdout, stderr)): everything a
// command needs comes in through these arguments, so tests run the real CLI
// in-process with captured streams and a temporary store.
#pragma once

#include "util/clock.hpp"

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace kanari::cli {

using GetEnv = std::function<std::optional<std::string>(const std::string&)>;

struct Io {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  GetEnv getenv;                // KANARI_STATE, USER, NO_COLOR
  const Clock* clock = nullptr; // defaults to the system clock
  bool out_is_terminal = false;
  bool err_is_terminal = false;
  // How a command waits (`canary wait` between polls); null: really sleep.
  std::function<void(TimeMs)> sleep;
};

// args excludes the program name. Returns the process exit code (docs/cli.md).
int run(const std::vector<std::string>& args, const Io& io);

// The process environment, for main().
std::optional<std::string> process_getenv(const std::string& name);

// Who acts when --actor is not given: $USER when set and non-empty, else
// the login name of `uid` in the password database, else "uid:N".
std::string default_actor(const GetEnv& getenv, unsigned long uid);

} // namespace kanari::cli
