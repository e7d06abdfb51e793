// YAML model configurations (`version add --config FILE.yaml`): YAML 1.2
// read with the core schema into the JSON value the same configuration
// written as JSON would give, so both hash to the same version id
// (docs/hashing.md, "YAML model configurations"). What JSON cannot say, or
// YAML could say two ways, is refused with its line: anchors, aliases, tags,
// keys that are not strings, duplicate keys, a second document, infinities
// and NaN. The only place <yaml-cpp/…> appears.
#pragma once

#include "util/result.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace kanari::yaml {

// Parses YAML text, which must hold one document whose top level is a
// mapping, into a JSON object. `what` names the input in error messages
// ("--config file 'x.yaml'"), each a usage error with the 1-based line.
Result<nlohmann::json> parse_yaml(std::string_view text, const std::string& what);

// Whether a --config path names a YAML file: it ends in .yaml or .yml.
bool is_yaml_path(std::string_view path);

} // namespace kanari::yaml
