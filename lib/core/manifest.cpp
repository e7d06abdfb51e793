#include "core/manifest.hpp"

#include "core/canonical_json.hpp"
#include "crypto/sha256.hpp"
#include "util/strings.hpp"

#include <algorithm>

namespace kanari::core {

using nlohmann::json;

std::string_view to_string(ComponentKind k) {
  switch (k) {
  case ComponentKind::prompt: return "prompt";
  case ComponentKind::tool: return "tool";
  case ComponentKind::file: return "file";
  }
  return "?";
}

std::optional<ComponentKind> component_kind_from_string(std::string_view s) {
  if (s == "prompt")
    return ComponentKind::prompt;
  if (s == "tool")
    return ComponentKind::tool;
  if (s == "file")
    return ComponentKind::file;
  return std::nullopt;
}

Result<std::string> normalise_component_name(std::string_view name) {
  std::string_view n = name;
  while (n.substr(0, 2) == "./")
    n.remove_prefix(2);
  if (n.empty() || n.size() > 256)
    return usage_error("component name " + quote_for_message(name) +
                       " must be 1 to 256 bytes; name the file by a relative path");
  if (!is_valid_utf8(n))
    return usage_error("component name " + quote_for_message(name) + " is not valid UTF-8");
  if (n.front() == '/')
    return usage_error("component name " + quote_for_message(name) +
                       " is an absolute path; use NAME=FILE to give it a relative name");
  for (const auto& seg : split(n, '/')) {
    if (seg.empty() || seg == "." || seg == "..")
      return usage_error("component name " + quote_for_message(name) +
                         " has an empty, '.' or '..' segment; use NAME=FILE to give it a plain relative name");
  }
  for (char c : n)
    if (static_cast<unsigned char>(c) < 0x20)
      return usage_error("component name " + quote_for_message(name) + " contains a control character");
  return std::string(n);
}

Result<Component> make_component(ComponentKind kind, std::string name, std::string_view bytes) {
  auto norm = normalise_component_name(name);
  KANARI_TRY(norm);
  Component c{kind, std::move(*norm), {}, 0, {}};
  if (kind == ComponentKind::tool) {
    auto parsed = parse_json(bytes, "tool definition '" + c.name + "'");
    KANARI_TRY(parsed);
    if (!parsed->is_object())
      return usage_error("tool definition '" + c.name + "' must be a JSON object");
    c.content = canonical_json(*parsed);
  } else {
    c.content = std::string(bytes);
  }
  c.sha256 = crypto::sha256_hex(c.content);
  c.bytes = c.content.size();
  return c;
}

Result<Manifest> make_manifest(std::vector<Component> components, json model) {
  if (!model.is_object())
    return usage_error("the model configuration must be a JSON object");
  std::sort(components.begin(), components.end(), [](const Component& a, const Component& b) {
    if (a.kind != b.kind)
      return to_string(a.kind) < to_string(b.kind);
    return a.name < b.name;
  });
  for (size_t i = 1; i < components.size(); ++i)
    if (components[i].kind == components[i - 1].kind && components[i].name == components[i - 1].name)
      return usage_error(std::string(to_string(components[i].kind)) + " '" + components[i].name +
                         "' is given twice; give each component once");
  return Manifest{std::move(components), std::move(model)};
}

json manifest_json(const Manifest& m) {
  json comps = json::array();
  for (const auto& c : m.components)
    comps.push_back({{"bytes", c.bytes}, {"kind", to_string(c.kind)}, {"name", c.name}, {"sha256", c.sha256}});
  return {{"components", comps}, {"format", k_manifest_format}, {"model", m.model}};
}

std::string canonical_manifest(const Manifest& m) { return canonical_json(manifest_json(m)); }

std::string version_id(const Manifest& m) { return crypto::sha256_hex(canonical_manifest(m)); }

} // namespace kanari::core
