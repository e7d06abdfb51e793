// kanari_version_id: the content address of a manifest given as JSON text
// (docs/hashing.md), computed by the same core::version_id the CLI stores.
#include "capi/handle.hpp"
#include "core/canonical_json.hpp"

#include "core/manifest.hpp"

#include <cstring>

namespace kanari::capi {

namespace {

using nlohmann::json;

bool is_lower_hex(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Result<core::Component> component(const json& c, size_t i) {
  const std::string where = "component " + std::to_string(i) + ": ";
  if (!c.is_object())
    return usage_error(where + "must be an object with bytes, kind, name and sha256");
  for (auto& [key, v] : c.items()) {
    (void)v;
    if (key != "bytes" && key != "kind" && key != "name" && key != "sha256")
      return usage_error(where + "unknown key '" + key + "'; allowed: bytes, kind, name, sha256");
  }
  if (!c.contains("kind") || !c["kind"].is_string())
    return usage_error(where + "\"kind\" must be \"prompt\", \"tool\" or \"file\"");
  auto kind = core::component_kind_from_string(c["kind"].get<std::string>());
  if (!kind)
    return usage_error(where + "\"kind\" must be \"prompt\", \"tool\" or \"file\"");
  if (!c.contains("name") || !c["name"].is_string())
    return usage_error(where + "\"name\" must be a string");
  auto name = core::normalise_component_name(c["name"].get<std::string>());
  KANARI_TRY(name);
  if (*name != c["name"].get<std::string>())
    return usage_error(where + "\"name\" must be in normal form ('" + *name + "')");
  if (!c.contains("sha256") || !c["sha256"].is_string() || !is_lower_hex(c["sha256"].get<std::string>()))
    return usage_error(where + "\"sha256\" must be 64 lowercase hex characters");
  if (!c.contains("bytes") || !c["bytes"].is_number_unsigned())
    return usage_error(where + "\"bytes\" must be an integer >= 0");
  return core::Component{*kind, *name, c["sha256"].get<std::string>(), c["bytes"].get<std::uint64_t>(), {}};
}

Result<std::string> manifest_id(const char* text) {
  // The CLI's strict parser: duplicate keys refused, nesting limited.
  auto parsed = core::parse_json(text, "the manifest");
  KANARI_TRY(parsed);
  json j = std::move(*parsed);
  if (!j.is_object())
    return usage_error("the manifest must be a JSON object with components, format and model");
  for (auto& [key, v] : j.items()) {
    (void)v;
    if (key != "components" && key != "format" && key != "model")
      return usage_error("unknown manifest key '" + key + "'; allowed: components, format, model");
  }
  if (j.contains("format") && j["format"] != json(std::string(core::k_manifest_format)))
    return usage_error("the manifest's format must be \"" + std::string(core::k_manifest_format) + "\"");
  if (!j.contains("components") || !j["components"].is_array())
    return usage_error("the manifest's \"components\" must be an array");
  json model = j.contains("model") ? j["model"] : json::object();
  if (!model.is_object())
    return usage_error("the manifest's \"model\" must be an object");
  std::vector<core::Component> comps;
  for (size_t i = 0; i < j["components"].size(); ++i) {
    auto c = component(j["components"][i], i);
    KANARI_TRY(c);
    comps.push_back(std::move(*c));
  }
  auto m = core::make_manifest(std::move(comps), std::move(model));
  KANARI_TRY(m);
  return core::version_id(*m);
}

} // namespace

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API kanari_status kanari_version_id(const char* manifest_json, char* id_out) {
  return capi::guarded(nullptr, [&]() -> Result<int> {
    if (!manifest_json || !id_out)
      return usage_error("kanari_version_id: manifest_json and id_out must not be NULL");
    auto id = capi::manifest_id(manifest_json);
    KANARI_TRY(id);
    std::memcpy(id_out, id->c_str(), id->size() + 1);
    return KANARI_OK;
  });
}

} // extern "C"
