#include "notify/notify.hpp"

#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"

#include <nlohmann/json.hpp>

namespace kanari::notify {

using nlohmann::json;

namespace {

std::string short_id(const std::optional<std::string>& id) { return id ? id->substr(0, 12) : "-"; }

std::string evidence_text(const json& evidence, const char* key) {
  auto it = evidence.find(key);
  return it != evidence.end() && it->is_string() ? it->get<std::string>() : "";
}

// One line a person reads in a chat channel: what happened to which track,
// between which versions, and why.
std::string slack_text(const store::EventRecord& e) {
  json evidence = json::parse(e.evidence, nullptr, false);
  if (!evidence.is_object())
    evidence = json::object();
  const std::string stable = evidence_text(evidence, "stable");
  const std::string verdict = evidence_text(evidence, "verdict");
  std::string what = e.action;
  for (char& c : what)
    if (c == '_')
      c = ' ';
  std::string text = (e.action == "rolled_back" ? ":rotating_light: "
                      : e.action == "promoted"  ? ":white_check_mark: "
                                                : "") +
                     std::string("kanari: track `") + e.track + "` " + what;
  if (e.version)
    text += ": canary `" + short_id(e.version) + "`";
  if (!stable.empty())
    text += ", stable `" + short_id(stable) + "`";
  if (e.rollout)
    text += " (rollout " + std::to_string(*e.rollout) + ")";
  if (!verdict.empty())
    text += "\nverdict: " + verdict;
  if (!e.reason.empty())
    text += "\nreason: " + e.reason;
  text += "\nby " + e.actor + ", event " + std::to_string(e.seq) + " " + e.hash.substr(0, 12);
  return text;
}

} // namespace

std::string request_body(const store::HookRecord& h, const store::EventRecord& e, const Settings& s) {
  if (h.format == "slack")
    return json{{"text", slack_text(e)}}.dump(-1, ' ', false, json::error_handler_t::replace);
  json j = rollout::event_json(e);
  j.erase("prev_hash"); // as `history --json` prints it
  j["store"] = s.store;
  j["kanari_version"] = s.kanari_version;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string signature(std::string_view secret, std::string_view body) {
  return "sha256=" + crypto::hmac_sha256_hex(secret, body);
}

TimeMs retry_delay_ms(std::int64_t attempts) {
  TimeMs delay = 30'000;
  for (std::int64_t i = 1; i < attempts && delay < 3'600'000; ++i)
    delay *= 2;
  return std::min<TimeMs>(delay, 3'600'000);
}

} // namespace kanari::notify
