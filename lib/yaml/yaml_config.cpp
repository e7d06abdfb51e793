#include "yaml/yaml_config.hpp"

#include "util/strings.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>
#include <vector>

namespace kanari::yaml {

namespace {

using nlohmann::json;

// The first thing refused, thrown from the event handler so that yaml-cpp
// stops reading at once. `line` is 1-based.
struct Refusal {
  int line;
  std::string message;
};

int line_of(const ::YAML::Mark& mark) { return mark.line + 1; }

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_octal(char c) { return c >= '0' && c <= '7'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

size_t count_digits(std::string_view s, size_t from) {
  size_t i = from;
  while (i < s.size() && is_digit(s[i]))
    ++i;
  return i - from;
}

// A number in JSON's syntax, parsed by the same parser as a JSON config, so
// that it becomes the same nlohmann::json value (unsigned, signed or double)
// and hence the same canonical bytes.
json json_number(const std::string& json_text, std::string_view yaml_text, int line) {
  try {
    return json::parse(json_text);
  } catch (const json::exception&) {
    // out_of_range: beyond a double, as 1e400 is in a JSON config.
    throw Refusal{line, "the number " + quote_for_message(yaml_text) + " is beyond the range of a double"};
  }
}

// `digits` without its leading zeros (JSON allows none), at least "0".
std::string strip_leading_zeros(std::string_view digits) {
  size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0')
    ++i;
  return std::string(digits.substr(i));
}

// 0o and 0x integers: their value in decimal, which must fit in 64 bits.
json radix_integer(std::string_view digits, unsigned radix, std::string_view text, int line) {
  uint64_t v = 0;
  for (char c : digits) {
    unsigned d = is_digit(c) ? unsigned(c - '0') : unsigned((c | 0x20) - 'a' + 10);
    if (v > (UINT64_MAX - d) / radix)
      throw Refusal{line, "the integer " + quote_for_message(text) + " does not fit in 64 bits"};
    v = v * radix + d;
  }
  return json_number(std::to_string(v), text, line);
}

// A plain (unquoted, untagged) scalar under the YAML 1.2 core schema:
// null, a boolean, an integer, a float, or else a string.
json resolve_plain(const std::string& s, int line) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return nullptr;
  if (s == "true" || s == "True" || s == "TRUE")
    return true;
  if (s == "false" || s == "False" || s == "FALSE")
    return false;
  std::string_view v = s;
  // 0o17, 0x1F (no sign in the core schema).
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'o' || v[1] == 'x')) {
    auto digits = v.substr(2);
    bool octal = v[1] == 'o';
    bool all = true;
    for (char c : digits)
      all = all && (octal ? is_octal(c) : is_hex(c));
    if (all)
      return radix_integer(digits, octal ? 8 : 16, v, line);
    return s;
  }
  size_t i = 0;
  bool negative = false;
  if (!v.empty() && (v[0] == '+' || v[0] == '-')) {
    negative = v[0] == '-';
    ++i;
  }
  std::string_view rest = v.substr(i);
  if (rest == ".inf" || rest == ".Inf" || rest == ".INF")
    throw Refusal{line, quote_for_message(v) + " is an infinity, which JSON cannot hold; quote it to make it a string"};
  if (i == 0 && (rest == ".nan" || rest == ".NaN" || rest == ".NAN"))
    throw Refusal{line, quote_for_message(v) + " is NaN, which JSON cannot hold; quote it to make it a string"};
  // int: [-+]?[0-9]+ ; float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  size_t int_digits = count_digits(v, i);
  std::string_view int_part = v.substr(i, int_digits);
  i += int_digits;
  if (int_digits > 0 && i == v.size())
    return json_number((negative ? "-" : "") + strip_leading_zeros(int_part), v, line);
  bool dot = false;
  std::string_view frac;
  if (i < v.size() && v[i] == '.') {
    dot = true;
    size_t n = count_digits(v, i + 1);
    frac = v.substr(i + 1, n);
    i += 1 + n;
  }
  if (int_digits == 0 && frac.empty())
    return s;
  std::string_view exponent;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    size_t start = i++;
    if (i < v.size() && (v[i] == '+' || v[i] == '-'))
      ++i;
    size_t n = count_digits(v, i);
    if (n == 0)
      return s;
    i += n;
    exponent = v.substr(start, i - start);
  }
  if (i != v.size())
    return s;
  // The same number in JSON's syntax: no '+', a digit before the point, one
  // after it (`1.` is the float 1.0, not the integer 1).
  std::string text = negative ? "-" : "";
  text += int_digits == 0 ? std::string("0") : strip_leading_zeros(int_part);
  if (dot)
    text += "." + (frac.empty() ? std::string("0") : std::string(frac));
  text += exponent;
  return json_number(text, v, line);
}

std::string kind_of(const json& v) {
  if (v.is_null())
    return "null";
  if (v.is_boolean())
    return "a boolean";
  if (v.is_number_float())
    return "a float";
  return "an integer";
}

// yaml-cpp spells the core tags in full: show them as written (!!str).
std::string shown_tag(const std::string& tag) {
  const std::string core = "tag:yaml.org,2002:";
  if (tag.compare(0, core.size(), core) == 0)
    return "!!" + tag.substr(core.size());
  return tag;
}

// Builds the JSON value from yaml-cpp's events, refusing what the core
// schema's JSON cannot hold or could read two ways.
class Builder final : public ::YAML::EventHandler {
public:
  explicit Builder(std::string_view text) : m_text(text) {}

  int documents() const { return m_documents; }
  std::optional<json>& root() { return m_root; }
  int root_line() const { return m_root_line; }

  void OnDocumentStart(const ::YAML::Mark& mark) override {
    if (++m_documents == 1)
      return;
    // yaml-cpp leaves a ',' where a node should start unread and begins a
    // new document at it, again and again.
    if (mark.pos >= 0 && static_cast<size_t>(mark.pos) < m_text.size() && m_text[size_t(mark.pos)] == ',')
      throw Refusal{line_of(mark), "not valid YAML: a ',' outside [...] and {...}"};
    throw Refusal{line_of(mark), "a second YAML document, or a line indented less than the node it belongs to; a "
                                 "config file holds exactly one document"};
  }
  void OnDocumentEnd() override {}

  void OnAnchor(const ::YAML::Mark& mark, const std::string& name) override {
    throw Refusal{line_of(mark), "the anchor &" + escape_invalid_utf8(name) +
                                     " is not allowed (nor aliases); write the value out where it is used"};
  }
  void OnAlias(const ::YAML::Mark& mark, ::YAML::anchor_t) override {
    throw Refusal{line_of(mark), "aliases (*name) are not allowed; write the value out where it is used"};
  }

  void OnNull(const ::YAML::Mark& mark, ::YAML::anchor_t anchor) override {
    check_anchor(mark, anchor);
    // yaml-cpp reads `[1,,2]` and `[,]` as holding nulls; YAML has no empty
    // entries in a flow sequence.
    if (!m_stack.empty() && m_stack.back().value.is_array() && mark.pos >= 0 &&
        static_cast<size_t>(mark.pos) < m_text.size() &&
        (m_text[size_t(mark.pos)] == ',' || m_text[size_t(mark.pos)] == ']'))
      throw Refusal{line_of(mark), "not valid YAML: an empty entry in a [...] sequence (write null for a null)"};
    if (at_key())
      throw Refusal{line_of(mark), "a null key (empty, ~ or null); keys must be strings, quote it (\"null\": ...)"};
    attach(nullptr, line_of(mark));
  }

  void OnScalar(const ::YAML::Mark& mark, const std::string& tag, ::YAML::anchor_t anchor,
                const std::string& value) override {
    check_anchor(mark, anchor);
    const int line = line_of(mark);
    if (!is_valid_utf8(value))
      throw Refusal{line, "the scalar " + quote_for_message(value) +
                              " is not valid UTF-8: the escapes \\N and \\_ and escapes of lone surrogates are not "
                              "supported; write \\u0085 or \\u00A0 for the first two"};
    json v;
    if (tag == "?") {
      v = resolve_plain(value, line);
    } else if (tag == "!" && !explicit_tag_at(mark)) {
      check_closed(mark);
      v = value; // quoted or a block scalar: always a string
    } else {
      throw Refusal{line, "the tag " + quote_for_message(shown_tag(tag)) +
                              " is not allowed; write the plain value (quoted for a string)"};
    }
    if (at_key()) {
      if (!v.is_string())
        throw Refusal{line, "the key " + quote_for_message(value) + " is " + kind_of(v) +
                                ", not a string; quote it to make it one"};
      auto& frame = m_stack.back();
      std::string key = v.get<std::string>();
      if (frame.value.contains(key))
        throw Refusal{line, "the key " + quote_for_message(key) + " appears twice in one mapping; keep one"};
      frame.key = std::move(key);
      return;
    }
    attach(std::move(v), line);
  }

  void OnSequenceStart(const ::YAML::Mark& mark, const std::string& tag, ::YAML::anchor_t anchor,
                       ::YAML::EmitterStyle::value) override {
    start(mark, tag, anchor, false);
  }
  void OnSequenceEnd() override { end(); }
  void OnMapStart(const ::YAML::Mark& mark, const std::string& tag, ::YAML::anchor_t anchor,
                  ::YAML::EmitterStyle::value) override {
    start(mark, tag, anchor, true);
  }
  void OnMapEnd() override { end(); }

private:
  struct Frame {
    json value;
    int line;
    std::optional<std::string> key; // a mapping's key awaiting its value
  };

  bool at_key() const { return !m_stack.empty() && m_stack.back().value.is_object() && !m_stack.back().key; }

  void check_anchor(const ::YAML::Mark& mark, ::YAML::anchor_t anchor) const {
    if (anchor != ::YAML::NullAnchor)
      throw Refusal{line_of(mark), "anchors (&name) are not allowed; write the value out where it is used"};
  }

  // A node written `! value` carries the non-specific tag "!" as a quoted
  // scalar does; the source at the node's mark tells them apart.
  bool explicit_tag_at(const ::YAML::Mark& mark) const {
    return mark.pos >= 0 && static_cast<size_t>(mark.pos) < m_text.size() && m_text[size_t(mark.pos)] == '!';
  }

  // yaml-cpp takes a quoted scalar that a line break and the end of the
  // input cut short as if it were closed there: find its closing quote.
  void check_closed(const ::YAML::Mark& mark) const {
    if (mark.pos < 0 || static_cast<size_t>(mark.pos) >= m_text.size())
      return;
    const char quote = m_text[size_t(mark.pos)];
    if (quote != '"' && quote != '\'')
      return; // a block scalar
    for (size_t i = size_t(mark.pos) + 1; i < m_text.size(); ++i) {
      if (quote == '"' && m_text[i] == '\\')
        ++i; // an escape: the next character is not the end
      else if (quote == '\'' && m_text[i] == '\'' && i + 1 < m_text.size() && m_text[i + 1] == '\'')
        ++i; // '' is a quote inside a single-quoted scalar
      else if (m_text[i] == quote)
        return;
    }
    throw Refusal{line_of(mark), std::string("the quoted scalar opened here is never closed (no ") + quote +
                                     " before the end of the file)"};
  }

  void start(const ::YAML::Mark& mark, const std::string& tag, ::YAML::anchor_t anchor, bool map) {
    check_anchor(mark, anchor);
    const int line = line_of(mark);
    if (tag != "?")
      throw Refusal{line, "the tag " + quote_for_message(shown_tag(tag)) + " is not allowed"};
    if (at_key())
      throw Refusal{line, std::string(map ? "a mapping" : "a sequence") + " used as a key; keys must be strings"};
    m_stack.push_back({map ? json::object() : json::array(), line, std::nullopt});
  }

  void end() {
    Frame frame = std::move(m_stack.back());
    m_stack.pop_back();
    attach(std::move(frame.value), frame.line);
  }

  void attach(json v, int line) {
    if (m_stack.empty()) {
      m_root = std::move(v);
      m_root_line = line;
      return;
    }
    auto& frame = m_stack.back();
    if (frame.value.is_array()) {
      frame.value.push_back(std::move(v));
      return;
    }
    frame.value[*frame.key] = std::move(v);
    frame.key.reset();
  }

  std::string_view m_text;
  std::vector<Frame> m_stack;
  std::optional<json> m_root;
  int m_root_line = 1;
  int m_documents = 0;
};

// yaml-cpp's syntax check: every event ignored.
// It stops at a second document, which the builder refuses: yaml-cpp would
// start one document after another at a stray ',' and never finish.
class Syntax final : public ::YAML::EventHandler {
public:
  struct SecondDocument {};
  void OnDocumentStart(const ::YAML::Mark&) override {
    if (++m_documents > 1)
      throw SecondDocument{};
  }
  void OnDocumentEnd() override {}
  void OnNull(const ::YAML::Mark&, ::YAML::anchor_t) override {}
  void OnAlias(const ::YAML::Mark&, ::YAML::anchor_t) override {}
  void OnScalar(const ::YAML::Mark&, const std::string&, ::YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const ::YAML::Mark&, const std::string&, ::YAML::anchor_t,
                       ::YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const ::YAML::Mark&, const std::string&, ::YAML::anchor_t, ::YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

private:
  int m_documents = 0;
};

void read_documents(std::string_view text, ::YAML::EventHandler& handler) {
  std::istringstream in{std::string(text)};
  ::YAML::Parser parser(in);
  while (parser.HandleNextDocument(handler)) {
  }
}

// yaml-cpp reads a file that declares `%YAML 1.1` by the same rules as any
// other, but its author meant 1.1's, where `yes`, `on` and `010` are a
// boolean, a boolean and eight: refuse every version but 1.2 rather than
// read such a file into another config than the one written.
std::optional<Refusal> check_version_directive(std::string_view text) {
  int line = 1;
  for (size_t pos = 0; pos < text.size(); ++line) {
    const size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (l.substr(0, 5) == "%YAML") {
      std::string_view rest = l.substr(5);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
        rest.remove_prefix(1);
      const std::string_view version = rest.substr(0, rest.find_first_of(" \t\r#"));
      if (version != "1.2")
        return Refusal{line, "the file declares %YAML " + quote_for_message(version) +
                                 "; only YAML 1.2 is read (1.1 reads yes, on and 010 otherwise): write %YAML 1.2 "
                                 "or leave the directive out"};
    }
    if (end == std::string_view::npos)
      break;
    pos = end + 1;
  }
  return std::nullopt;
}

// YAML's characters: valid UTF-8 of the printable set (tab, line breaks,
// U+0020..U+007E, U+0085, U+00A0 and up except surrogates and U+FFFE/U+FFFF).
// Returns the 1-based line of the first other byte, with what it is.
std::optional<Refusal> check_characters(std::string_view text) {
  int line = 1;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7F)) {
        ++i;
        continue;
      }
      char buf[8];
      std::snprintf(buf, sizeof buf, "U+%04X", c);
      return Refusal{line, std::string("the control character ") + buf + " is not allowed in YAML"};
    }
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > text.size() || !is_valid_utf8(text.substr(i, len)))
      return Refusal{line, "not valid UTF-8"};
    unsigned cp = c & (0xFFu >> (len + 1));
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if ((cp >= 0x80 && cp < 0xA0 && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", cp);
      return Refusal{line, std::string("the character ") + buf + " is not allowed in YAML"};
    }
    i += len;
  }
  return std::nullopt;
}

} // namespace

bool is_yaml_path(std::string_view path) {
  auto ends_with = [&](std::string_view suffix) {
    if (path.size() <= suffix.size())
      return false;
    auto tail = path.substr(path.size() - suffix.size());
    for (size_t i = 0; i < suffix.size(); ++i)
      if ((tail[i] | 0x20) != suffix[i])
        return false;
    return true;
  };
  return ends_with(".yaml") || ends_with(".yml");
}

Result<nlohmann::json> parse_yaml(std::string_view text, const std::string& what) {
  auto refused = [&](const Refusal& r) {
    return usage_error(what + " line " + std::to_string(r.line) + ": " + r.message);
  };
  // A UTF-8 byte order mark may open the file.
  if (text.substr(0, 3) == "\xEF\xBB\xBF")
    text.remove_prefix(3);
  if (auto bad = check_characters(text))
    return refused(*bad);
  if (auto bad = check_version_directive(text))
    return refused(*bad);
  auto not_yaml = [&](const ::YAML::Exception& e) {
    std::string msg = escape_invalid_utf8(e.msg);
    if (e.mark.is_null())
      return usage_error(what + " is not valid YAML: " + msg);
    return usage_error(what + " line " + std::to_string(e.mark.line + 1) + ": not valid YAML: " + msg);
  };
  // yaml-cpp alone first, so that a syntax error is reported as one and
  // not as whatever the builder would refuse on the way to it.
  try {
    Syntax syntax;
    read_documents(text, syntax);
  } catch (const Syntax::SecondDocument&) {
    // the builder stops there too
  } catch (const ::YAML::DeepRecursion& e) {
    return usage_error(what + " line " + std::to_string(e.mark.line + 1) +
                       ": mappings and sequences nested 500 or more deep");
  } catch (const ::YAML::Exception& e) {
    return not_yaml(e);
  }
  Builder builder(text);
  try {
    read_documents(text, builder);
  } catch (const Refusal& r) {
    return refused(r);
  } catch (const ::YAML::Exception& e) {
    return not_yaml(e);
  }
  const std::string example = "; a model config is a mapping, e.g. 'model: m-1'";
  if (builder.documents() == 0 || !builder.root())
    return usage_error(what + " holds no YAML document" + example);
  if (builder.root()->is_null())
    return usage_error(what + " holds an empty YAML document" + example);
  if (!builder.root()->is_object())
    return usage_error(what + " line " + std::to_string(builder.root_line()) +
                       ": the top level must be a mapping (a JSON object), e.g. 'model: m-1'");
  return std::move(*builder.root());
}

} // namespace kanari::yaml
