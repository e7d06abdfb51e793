// Fuzzes strict JSON parsing and RFC 8785 canonical serialisation
// (lib/core/canonical_json.hpp), the form every hash in kanari is taken over.
//
// Properties, for any text parse_json accepts (value v, c = canonical(v)):
// - c is valid UTF-8 with no whitespace outside strings;
// - parse_json accepts c, the value it reads is v again (numbers compare by
//   value: -0.0 is printed as 0), and canonical of that value is c
//   byte for byte: canonical(parse(canonical(parse(x)))) == canonical(parse(x));
// - every object's keys in c are in strictly ascending order of their UTF-16
//   code units (RFC 8785 §3.2.3), checked with a comparator written here.
// Refused text gets a usage error (exit 2) with a non-empty UTF-8 message
// that names the input. Text with a raw NUL byte is refused (nlohmann's
// parser alone would stop reading there).
#include "fuzz_check.hpp"

#include "core/canonical_json.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using kanari::ErrorCode;
using nlohmann::json;
using nlohmann::ordered_json;

// The UTF-16 code units of a valid UTF-8 string.
std::u16string to_utf16(const std::string& s) {
  std::u16string out;
  size_t i = 0;
  while (i < s.size()) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    const size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    std::uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    i += len;
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    }
  }
  return out;
}

// Whitespace outside strings.
bool has_insignificant_whitespace(const std::string& c) {
  bool in_string = false;
  for (size_t i = 0; i < c.size(); ++i) {
    const char ch = c[i];
    if (in_string) {
      if (ch == '\\')
        ++i;
      else if (ch == '"')
        in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
      return true;
    }
  }
  return false;
}

// Walks every object of c in document order (iteratively: the input may
// nest deeply) and checks that its keys ascend in UTF-16 order.
void check_key_order(const std::string& c) {
  const ordered_json doc = ordered_json::parse(c);
  std::vector<const ordered_json*> todo{&doc};
  while (!todo.empty()) {
    const ordered_json* v = todo.back();
    todo.pop_back();
    if (v->is_object()) {
      std::u16string previous;
      bool first = true;
      for (auto it = v->begin(); it != v->end(); ++it) {
        std::u16string key = to_utf16(it.key());
        KANARI_FUZZ_CHECK(first || previous < key, "key " + it.key() + " is out of order in " + c);
        previous = std::move(key);
        first = false;
        todo.push_back(&it.value());
      }
    } else if (v->is_array()) {
      for (const auto& e : *v)
        todo.push_back(&e);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto v = kanari::core::parse_json(text, "fuzz input");
  KANARI_FUZZ_CHECK(!v.ok() || text.find('\0') == std::string::npos, "accepted with a NUL byte: " + v->dump());
  if (!v.ok()) {
    KANARI_FUZZ_CHECK_ERROR(v.error(), ErrorCode::usage);
    KANARI_FUZZ_CHECK(v.error().message.rfind("fuzz input ", 0) == 0, v.error().message);
    return 0;
  }
  const std::string c = kanari::core::canonical_json(*v);
  KANARI_FUZZ_CHECK(kanari::is_valid_utf8(c), c);
  KANARI_FUZZ_CHECK(!has_insignificant_whitespace(c), c);

  auto v2 = kanari::core::parse_json(c, "canonical JSON");
  KANARI_FUZZ_CHECK(v2.ok(), c + " is refused: " + v2.error().message);
  KANARI_FUZZ_CHECK(*v2 == *v, text + " is canonically " + c + ", which reads back as " + v2->dump());
  const std::string c2 = kanari::core::canonical_json(*v2);
  KANARI_FUZZ_CHECK(c2 == c, "canonical JSON is not stable: " + c + " then " + c2);
  check_key_order(c);
  return 0;
}
