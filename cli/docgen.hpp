// Shell completions and the man page, generated from the CLI11 command tree
// itself (`kanari generate bash|zsh|man`, run at build time by
// cli/CMakeLists.txt), so a command or flag added to the CLI is completed
// and documented without anyone remembering to.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace kanari::cli {

struct OptionDoc {
  std::vector<std::string> names; // "--state", "-q"
  bool takes_value = false;
  std::string value_name; // e.g. TEXT, INT
  std::string description;
  std::vector<std::string> choices; // values to complete, when there are few
  enum class Complete { none, file, directory } complete = Complete::none;
};

struct CommandDoc {
  std::vector<std::string> path; // empty for kanari itself
  std::string description;
  std::vector<OptionDoc> options;     // its own, without the inherited global ones
  std::vector<OptionDoc> positionals; // FILE, REF, ...
  std::vector<std::string> subcommands;
  std::string name() const; // "kanari canary start"
};

// Every command, kanari itself first, then depth first in declaration order.
std::vector<CommandDoc> command_docs(const CLI::App& root);

std::string bash_completion(const std::vector<CommandDoc>& docs);
std::string zsh_completion(const std::vector<CommandDoc>& docs);
std::string man_page(const std::vector<CommandDoc>& docs, const std::string& version);

} // namespace kanari::cli
