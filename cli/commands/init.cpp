#include "commands.hpp"

#include "store/store.hpp"

namespace kanari::cli {

namespace {

struct InitOptions {};

Result<int> run_init(const InitOptions&, Context& ctx) {
  bool created = false;
  auto s = store::open(ctx.state_dir(), store::OpenMode::create, &created);
  KANARI_TRY(s);
  const std::string path = store::is_postgresql_location(ctx.state_dir()) ? store::display_location(ctx.state_dir())
                                                                          : ctx.state_dir() + "/" + store::k_db_file;
  if (ctx.g.json)
    ctx.print_json({{"store", path}, {"created", created}});
  else
    ctx.human() << (created ? "Initialised an empty kanari store in " : "A kanari store already exists in ") << path
                << "\n";
  return 0;
}

} // namespace

void setup_init(CLI::App& app, Registry& reg) {
  auto opts = std::make_shared<InitOptions>();
  auto* sub = app.add_subcommand("init", "Create the state store (idempotent: a second run changes nothing)");
  reg.on(sub, opts, run_init);
}

} // namespace kanari::cli
