#include "cli.hpp"

#include "commands/commands.hpp"
#include "notify/notify.hpp"
#include "output/table.hpp"
#include "store/failure.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace kanari::cli {

std::optional<std::string> process_getenv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? std::optional<std::string>(v) : std::nullopt;
}

std::string default_actor(const GetEnv& getenv, unsigned long uid) {
  if (auto user = getenv("USER"); user && !user->empty())
    return *user;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  while (::getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &found) == ERANGE &&
         buf.size() < (1U << 20))
    buf.resize(buf.size() * 2);
  if (found && found->pw_name && *found->pw_name)
    return found->pw_name;
  return "uid:" + std::to_string(uid);
}

namespace {

constexpr const char* k_version = "kanari " KANARI_VERSION;

void print_error(const Io& io, const std::string& message) {
  const bool colour = colour_enabled(io.err_is_terminal, io.getenv("NO_COLOR"), io.getenv("TERM"));
  io.err << paint("kanari: error:", style::bold_red, colour) << " " << message << "\n";
}

// CLI11 2.1 applies options given after a subcommand to the parent only when
// the subcommand falls through; make every level do so, so that global
// options are accepted before or after the subcommand (docs/cli.md).
void fall_through_everywhere(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->fallthrough();
    fall_through_everywhere(*sub);
  }
}

// The deepest command the parse selected (`kanari version` for
// `kanari version frob`).
CLI::App* deepest_selected(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands())
    return deepest_selected(sub);
  return app;
}

// CLI11 reports `kanari frob` as "A subcommand is required"; name the word
// it did not know instead.
std::string parse_error_message(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* cmd = deepest_selected(&app);
  std::vector<std::string> rest;
  for (CLI::App* a = cmd; a && rest.empty(); a = a->get_parent())
    rest = a->remaining();
  if (dynamic_cast<const CLI::RequiredError*>(&e) && !rest.empty() && !cmd->get_subcommands({}).empty()) {
    const std::string path = cmd->get_parent() ? "kanari " + cmd->get_name() : "kanari";
    return "unknown command '" + rest.back() + "' for `" + path + "`; run `" + path + " --help` for the commands";
  }
  return std::string(e.what()) + "; run `kanari --help` or `kanari COMMAND --help`";
}

// The top-level commands in the order `kanari --help` lists them.
struct Command {
  const char* name;
  void (*setup)(CLI::App&, Registry&);
};
constexpr Command k_commands[] = {
    {"init", setup_init},       {"version", setup_version},   {"canary", setup_canary},   {"route", setup_route},
    {"session", setup_session}, {"record", setup_record},     {"history", setup_history}, {"track", setup_track},
    {"audit", setup_audit},     {"simulate", setup_simulate}, {"doctor", setup_doctor},   {"store", setup_store},
    {"report", setup_report},   {"metrics", setup_metrics},   {"hook", setup_hook},       {"generate", setup_generate},
};

// The one command `args` runs, when it plainly names one: the first word
// that is neither a global option nor a global option's value. Declaring
// every command's options costs more than a command's own work (CLI11
// built and walked about 2.3 M instructions of objects per invocation), so only that
// command is declared. Anything else (no command, an unknown word or
// option, --help or --version before the command, `generate`, which
// describes them all) declares every command, so help, completions and
// errors see the whole tree.
const Command* named_command(CLI::App& app, const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 1 && a[0] == '-') {
      const auto eq = a.find('=');
      const CLI::Option* o = app.get_option_no_throw(a.substr(0, eq));
      if (!o || a == "--" || o == app.get_help_ptr() || o == app.get_version_ptr())
        return nullptr;
      if (eq == std::string::npos && o->get_items_expected_min() > 0)
        ++i; // its value
      continue;
    }
    for (const Command& c : k_commands)
      if (a == c.name)
        return a == "generate" ? nullptr : &c;
    return nullptr;
  }
  return nullptr;
}

} // namespace

int run(const std::vector<std::string>& args, const Io& io) {
  Context ctx(io);
  Registry reg{ctx, {}};
  CLI::App app{"kanari: versioned prompts and models, canary rollouts with quality gates.\n"
               "Store: .kanari/kanari.db under the current directory, or --state DIR / KANARI_STATE.",
               "kanari"};
  app.set_version_flag("--version", k_version);
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.add_option("--state", ctx.g.state, "state directory (default: $KANARI_STATE or .kanari)");
  app.add_option("--track", ctx.g.track, "track name, [A-Za-z0-9._-]{1,64}")->capture_default_str();
  app.add_flag("--json", ctx.g.json, "print exactly one JSON document on stdout");
  app.add_flag("-q,--quiet", ctx.g.quiet,
               "print nothing but errors, --json output and one line on stderr per rollback applied or seen");
  app.add_option("--actor", ctx.g.actor,
                 "who is acting, recorded in events (default: $USER, else the login name of the user id, else "
                 "uid:N)");

  if (const Command* only = named_command(app, args))
    only->setup(app, reg);
  else
    for (const Command& c : k_commands)
      c.setup(app, reg);
  fall_through_everywhere(app);

  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, io.out, io.err);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes (100+) are all usage errors here (docs/cli.md).
    print_error(io, parse_error_message(app, e));
    return 2;
  }
  ctx.g.track_given = app.get_option("--track")->count() > 0;
  if (!reg.action) {
    print_error(io, "no command given; run `kanari --help`");
    return 2;
  }
  // Notifications of what the command wrote, after its commit, even when it
  // failed later on (`rollback --all` past a track the store refused): they
  // never change its exit code or undo what it did (docs/hooks.md).
  auto deliver = [&] {
    try {
      ctx.deliver_notifications();
    } catch (...) { // deliver_notifications reports its own failures
    }
  };
  try {
    if (ctx.g.actor.empty())
      ctx.g.actor = default_actor(io.getenv, ::getuid());
    Result<int> r = reg.action();
    deliver();
    if (!r.ok()) {
      print_error(io, r.error().message);
      return static_cast<int>(r.error().code);
    }
    return *r;
  } catch (const store::StoreLocked& e) { // a busy store, not a damaged one
    print_error(io, e.what());
    deliver();
    return 3;
  } catch (const store::StoreFailure& e) {
    print_error(io, std::string(e.what()) + "; check the store's disk and permissions, and run `kanari doctor`");
    deliver();
    return 3;
  } catch (const std::bad_alloc&) {
    print_error(io, "out of memory");
    return 3;
  } catch (const std::exception& e) {
    print_error(io, std::string("internal error: ") + e.what() + "; please report it");
    deliver();
    return 3;
  }
}

} // namespace kanari::cli
