// A version's manifest (docs/hashing.md): its components and model config, hashed
// into the content address that identifies the version everywhere.
#pragma once

#include "util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kanari::core {

enum class ComponentKind { prompt, tool, file };

std::string_view to_string(ComponentKind k);
std::optional<ComponentKind> component_kind_from_string(std::string_view s);

struct Component {
  ComponentKind kind;
  std::string name;
  std::string sha256; // lowercase hex
  std::uint64_t bytes;
  // The bytes that were hashed: the raw file for prompt/file, the canonical
  // JSON for tool. Kept as a blob so `checkout` is byte-exact.
  std::string content;
};

struct Manifest {
  std::vector<Component> components; // sorted by (kind, name)
  nlohmann::json model = nlohmann::json::object();
};

inline constexpr std::string_view k_manifest_format = "kanari.manifest.v1";
inline constexpr size_t k_short_id_length = 12;

// Builds a component from file bytes. A tool's bytes must be a JSON object
// (its canonical form is what is hashed and kept).
Result<Component> make_component(ComponentKind kind, std::string name, std::string_view bytes);

// Validates a component name: a relative path with `/` separators, no `.` or
// `..` segments, no empty segments, valid UTF-8, 1..256 bytes. A leading
// `./` is dropped and `\` is not a separator.
Result<std::string> normalise_component_name(std::string_view name);

// Sorts components and rejects two with the same (kind, name).
Result<Manifest> make_manifest(std::vector<Component> components, nlohmann::json model);

nlohmann::json manifest_json(const Manifest& m);
std::string canonical_manifest(const Manifest& m);
std::string version_id(const Manifest& m);

} // namespace kanari::core
