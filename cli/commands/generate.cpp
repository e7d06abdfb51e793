// kanari generate bash|zsh|man: the shell completions and the man page,
// generated from this very command tree (cli/docgen.cpp). The build runs it
// to produce the installed files; users can run it too
// (`source <(kanari generate bash)`).
#include "commands.hpp"

#include "docgen.hpp"

namespace kanari::cli {

namespace {

struct GenerateOptions {
  std::string target;
  const CLI::App* root = nullptr;
};

Result<int> run_generate(const GenerateOptions& o, Context& ctx) {
  auto docs = command_docs(*o.root);
  if (o.target == "bash")
    ctx.out << bash_completion(docs);
  else if (o.target == "zsh")
    ctx.out << zsh_completion(docs);
  else if (o.target == "man")
    ctx.out << man_page(docs, KANARI_VERSION);
  else
    return usage_error("generate what? give bash, zsh or man, got '" + o.target + "'");
  ctx.out << std::flush;
  return 0;
}

} // namespace

void setup_generate(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<GenerateOptions>();
  o->root = &app;
  auto* g = app.add_subcommand("generate", "Print the bash or zsh completion script, or the man page (roff)");
  g->add_option("TARGET", o->target, "bash, zsh or man")->required();
  reg.on(g, o, run_generate);
}

} // namespace kanari::cli
