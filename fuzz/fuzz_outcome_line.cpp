// Fuzzes the JSONL outcome parser: the flat-object JSON parser
// (lib/rollout/outcome_line.hpp) and parse_outcome_line on top of it
// (lib/rollout/ledger.hpp). The input is one line.
//
// Properties:
// - The flat parser agrees with nlohmann's full JSON parser (an independent
//   implementation): it accepts a line exactly when nlohmann parses it to an
//   object whose values are all scalars, and it reports the same values.
//   Two differences are nlohmann's: it skips a UTF-8 byte order mark, which
//   the flat parser refuses (RFC 8259 §8.1 allows either), and it stops at a
//   NUL byte as if the input ended there, while a raw NUL is never JSON.
// - Every error is a usage error (exit 2) with a non-empty UTF-8 message.
// - An accepted outcome line is a valid outcome, and writing the record
//   back as a JSON line (RFC 3339 time in UTC, as the C API's batches do)
//   and parsing that line gives the same record.
#include "fuzz_check.hpp"

#include "rollout/ledger.hpp"
#include "rollout/outcome_line.hpp"
#include "util/time.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <algorithm>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace {

using kanari::ErrorCode;
using kanari::Result;
using kanari::rollout::JsonScalar;
using nlohmann::json;

std::string describe(const JsonScalar& v) {
  switch (v.kind) {
  case JsonScalar::Kind::null: return "null";
  case JsonScalar::Kind::boolean: return v.boolean ? "true" : "false";
  case JsonScalar::Kind::integer: return "integer " + std::to_string(v.integer);
  case JsonScalar::Kind::number: return "number " + json(v.number).dump();
  case JsonScalar::Kind::string: return "string " + json(v.text).dump(-1, ' ', false, json::error_handler_t::replace);
  case JsonScalar::Kind::object: {
    json o = json::object();
    for (const auto& [k, x] : v.members)
      o[k] = x;
    return "object " + o.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  }
  return "?";
}

// The flat parser's value equals nlohmann's.
bool same_value(const JsonScalar& v, const json& j) {
  switch (v.kind) {
  case JsonScalar::Kind::null: return j.is_null();
  case JsonScalar::Kind::boolean: return j.is_boolean() && j.get<bool>() == v.boolean;
  case JsonScalar::Kind::string: return j.is_string() && j.get_ref<const std::string&>() == v.text;
  case JsonScalar::Kind::integer:
    if (j.is_number_unsigned())
      return j.get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
             static_cast<std::int64_t>(j.get<std::uint64_t>()) == v.integer && j.get<double>() == v.number;
    return j.is_number_integer() && j.get<std::int64_t>() == v.integer && j.get<double>() == v.number;
  case JsonScalar::Kind::number:
    // Not an integer to the flat parser: nlohmann has a float, or an
    // integer beyond int64 (a uint64 above INT64_MAX).
    if (j.is_number_unsigned())
      return j.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
             j.get<double>() == v.number;
    return j.is_number_float() && j.get<double>() == v.number;
  case JsonScalar::Kind::object: {
    // nlohmann keeps the last of repeated keys, as for the outer object.
    if (!j.is_object())
      return false;
    size_t distinct = 0;
    for (size_t i = 0; i < v.members.size(); ++i) {
      bool last = true;
      for (size_t later = i + 1; later < v.members.size(); ++later)
        last = last && v.members[later].first != v.members[i].first;
      if (!last)
        continue;
      ++distinct;
      const auto it = j.find(v.members[i].first);
      if (it == j.end() || !it->is_number() || it->get<double>() != v.members[i].second)
        return false;
    }
    return distinct == j.size();
  }
  }
  return false;
}

void check_flat_parser(std::string_view line) {
  std::vector<std::pair<std::string, JsonScalar>> members;
  auto r = kanari::rollout::parse_flat_object(line, [&](const std::string& k, JsonScalar& v) -> Result<void> {
    members.emplace_back(k, v);
    return {};
  });
  if (!r.ok())
    KANARI_FUZZ_CHECK_ERROR(r.error(), ErrorCode::usage);

  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  // Flat: scalars, or one level of an object of numbers (an outcome's
  // metrics).
  bool flat = j.is_object();
  if (flat)
    for (const auto& [k, v] : j.items()) {
      if (v.is_array())
        flat = false;
      if (v.is_object())
        for (const auto& [ik, iv] : v.items())
          flat = flat && iv.is_number();
    }
  const bool bom = line.substr(0, 3) == "\xEF\xBB\xBF";
  const bool nul = line.find('\0') != std::string_view::npos;
  const bool expected = flat && !bom && !nul;
  KANARI_FUZZ_CHECK(r.ok() == expected,
                    r.ok() ? "accepted; nlohmann: " + std::string(j.is_discarded() ? "invalid" : "not a flat object")
                           : "refused with: " + r.error().message);
  if (!r.ok())
    return;
  // nlohmann keeps the last of repeated keys; compare each key's last value.
  size_t distinct = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    const auto& [k, v] = members[i];
    bool last = true;
    for (size_t later = i + 1; later < members.size(); ++later)
      last = last && members[later].first != k;
    if (!last)
      continue;
    ++distinct;
    KANARI_FUZZ_CHECK(j.contains(k), "key " + k + " is missing in nlohmann's object");
    KANARI_FUZZ_CHECK(same_value(v, j.at(k)),
                      "key " + k + ": flat parser " + describe(v) + ", nlohmann " + j.at(k).dump());
  }
  KANARI_FUZZ_CHECK(distinct == j.size(),
                    "the flat parser saw " + std::to_string(distinct) + " keys, nlohmann " + std::to_string(j.size()));
}

// The record written back as one JSON line.
std::string to_line(const kanari::rollout::OutcomeInput& o) {
  json j = {{"task", o.task}, {"pass", o.pass}, {"track", o.track}};
  if (o.version_ref)
    j["version"] = *o.version_ref;
  if (o.latency_ms)
    j["latency_ms"] = *o.latency_ms;
  if (o.cost)
    j["cost"] = *o.cost;
  if (o.tokens)
    j["tokens"] = *o.tokens;
  if (o.score)
    j["score"] = *o.score;
  if (o.error)
    j["error"] = *o.error;
  if (o.at)
    j["at"] = kanari::format_rfc3339(*o.at);
  if (!o.metrics.empty()) {
    j["metrics"] = json::object();
    for (const auto& m : o.metrics)
      j["metrics"][m.name] = m.value;
  }
  return j.dump();
}

// The metrics in name order: the line written back lists them so.
kanari::store::Metrics sorted(kanari::store::Metrics m) {
  std::sort(m.begin(), m.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  return m;
}

bool same_record(const kanari::rollout::OutcomeInput& a, const kanari::rollout::OutcomeInput& b) {
  return a.track == b.track && a.task == b.task && a.version_ref == b.version_ref && a.pass == b.pass &&
         a.latency_ms == b.latency_ms && a.cost == b.cost && a.tokens == b.tokens && a.score == b.score &&
         a.error == b.error && a.at == b.at && sorted(a.metrics) == sorted(b.metrics);
}

void check_outcome_line(std::string_view line) {
  auto o = kanari::rollout::parse_outcome_line(line, "default");
  if (!o.ok()) {
    KANARI_FUZZ_CHECK_ERROR(o.error(), ErrorCode::usage);
    return;
  }
  auto valid = kanari::rollout::validate_outcome(*o);
  KANARI_FUZZ_CHECK(valid.ok(), valid.error().message);
  const std::string again = to_line(*o);
  // Another default track: the written line names its track.
  auto o2 = kanari::rollout::parse_outcome_line(again, "other");
  KANARI_FUZZ_CHECK(o2.ok(), again + " is refused: " + o2.error().message);
  KANARI_FUZZ_CHECK(same_record(*o, *o2), "written back as " + again + " it reads as " + to_line(*o2));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  check_flat_parser(line);
  check_outcome_line(line);
  return 0;
}
