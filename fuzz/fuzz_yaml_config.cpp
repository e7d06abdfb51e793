// Fuzzes reading a YAML model configuration (lib/yaml/yaml_config.hpp):
// yaml-cpp's parser under kanari's event handler.
//
// Properties, for any text:
// - a refusal is a usage error (exit 2) whose message is one line of UTF-8
//   that names the input;
// - text that is not valid UTF-8 is refused;
// - an accepted config is a JSON object that a JSON config can hold: its
//   canonical JSON is UTF-8, parse_json accepts it and reads back an equal
//   value with the same canonical bytes, so the YAML and the JSON form of a
//   config are one version.
#include "fuzz_check.hpp"

#include "core/canonical_json.hpp"
#include "yaml/yaml_config.hpp"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  using kanari::ErrorCode;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto v = kanari::yaml::parse_yaml(text, "fuzz input");
  if (!v.ok()) {
    KANARI_FUZZ_CHECK_ERROR(v.error(), ErrorCode::usage);
    KANARI_FUZZ_CHECK(v.error().message.rfind("fuzz input ", 0) == 0, v.error().message);
    KANARI_FUZZ_CHECK(v.error().message.find('\n') == std::string::npos, v.error().message);
    return 0;
  }
  KANARI_FUZZ_CHECK(kanari::is_valid_utf8(text), "accepted text that is not UTF-8: " + v->dump());
  KANARI_FUZZ_CHECK(v->is_object(), v->dump());
  const std::string c = kanari::core::canonical_json(*v);
  KANARI_FUZZ_CHECK(kanari::is_valid_utf8(c), c);
  auto back = kanari::core::parse_json(c, "canonical JSON");
  KANARI_FUZZ_CHECK(back.ok(), c + " is refused: " + back.error().message);
  KANARI_FUZZ_CHECK(*back == *v, text + " is canonically " + c + ", which reads back as " + back->dump());
  KANARI_FUZZ_CHECK(kanari::core::canonical_json(*back) == c, "canonical JSON is not stable: " + c);
  return 0;
}
