// Fuzzes REF resolution (rollout::resolve_ref, SPEC §3) against a real
// SQLite store that is built once per process in a temporary directory:
//
//   track "t": stable A, an active rollout with canary B
//   track "u": stable C, no rollout
//
// where A and B share their first five hex digits (found by hashing
// candidate prompts before the store is built), so short prefixes are
// ambiguous. The input is `REF` (on track "t") or `TRACK\nREF`.
//
// The answer is checked against an oracle written from SPEC §3, not from
// the code: `stable` / `canary` name the track's version or exit 4 (an
// invalid track name exits 2); a 4..64 character lowercase hex string is a
// prefix, resolving to the one stored id it starts, or exit 4 when none or
// several (then every candidate is listed); anything else is unknown,
// exit 4. Every error has a non-empty UTF-8 message.
#include "fuzz_check.hpp"

#include "core/manifest.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/versions.hpp"
#include "store/store.hpp"

#include <stdlib.h> // mkdtemp

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

using namespace kanari;

namespace {

core::Component prompt(const std::string& text) {
  auto c = core::make_component(core::ComponentKind::prompt, "system.md", text);
  KANARI_FUZZ_CHECK(c.ok(), "make_component");
  return *c;
}

std::string id_of(const std::string& text) {
  auto m = core::make_manifest({prompt(text)}, nlohmann::json::object());
  KANARI_FUZZ_CHECK(m.ok(), "make_manifest");
  return core::version_id(*m);
}

class Fixture {
public:
  Fixture() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kanari-fuzz-resolve-XXXXXX").string();
    KANARI_FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr, pattern);
    m_dir = pattern;
    bool created = false;
    auto s = store::open(m_dir + "/state", store::OpenMode::create, &created);
    KANARI_FUZZ_CHECK(s.ok(), s.error().message);
    m_store = std::move(*s);
    m_ctx = std::make_unique<rollout::Context>(rollout::Context{*m_store, m_clock, "fuzz"});

    // Two prompts whose version ids share five hex digits.
    std::map<std::string, std::string> by_prefix; // first five digits -> text
    std::string a, b;
    for (int i = 0; a.empty(); ++i) {
      const std::string text = "You are agent " + std::to_string(i) + ".\n";
      auto [it, fresh] = by_prefix.emplace(id_of(text).substr(0, 5), text);
      if (!fresh) {
        a = it->second;
        b = text;
      }
    }
    const std::string stable_t = add("t", a), canary_t = add("t", b), stable_u = add("u", "You are agent C.\n");
    KANARI_FUZZ_CHECK(stable_t.substr(0, 5) == canary_t.substr(0, 5), stable_t + " " + canary_t);
    rollout::StartInput start{"t", canary_t, {1000}, gate::Policy{}, 0, "fuzz"};
    auto r = rollout::start_rollout(*m_ctx, start);
    KANARI_FUZZ_CHECK(r.ok(), r.error().message);
    m_roles[{"t", "stable"}] = stable_t;
    m_roles[{"t", "canary"}] = canary_t;
    m_roles[{"u", "stable"}] = stable_u;
  }
  ~Fixture() {
    m_ctx.reset();
    m_store.reset();
    std::error_code ec;
    std::filesystem::remove_all(m_dir, ec);
  }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;

  rollout::Context& ctx() { return *m_ctx; }
  const std::vector<std::string>& ids() const { return m_ids; }
  std::optional<std::string> role(const std::string& track, const std::string& ref) const {
    auto it = m_roles.find({track, ref});
    return it == m_roles.end() ? std::nullopt : std::optional(it->second);
  }

private:
  std::string add(const std::string& track, const std::string& text) {
    rollout::AddVersionInput in{track, {prompt(text)}, nlohmann::json::object(), std::nullopt, std::nullopt};
    auto r = rollout::add_version(*m_ctx, std::move(in));
    KANARI_FUZZ_CHECK(r.ok(), r.error().message);
    KANARI_FUZZ_CHECK(r->id == id_of(text), r->id);
    m_ids.push_back(r->id);
    return r->id;
  }

  std::string m_dir;
  FakeClock m_clock{1'800'000'000'000};
  std::unique_ptr<store::Store> m_store;
  std::unique_ptr<rollout::Context> m_ctx;
  std::vector<std::string> m_ids;
  std::map<std::pair<std::string, std::string>, std::string> m_roles;
};

Fixture* g_fixture = nullptr;

bool valid_track(const std::string& t) {
  if (t.empty() || t.size() > 64)
    return false;
  for (char c : t)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
          c == '-'))
      return false;
  return true;
}

bool lower_hex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static Fixture fixture;
  g_fixture = &fixture;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string track = newline == std::string::npos ? "t" : input.substr(0, newline);
  const std::string ref = newline == std::string::npos ? input : input.substr(newline + 1);
  const std::string what = "track " + track + ", ref " + ref;

  auto r = rollout::resolve_ref(g_fixture->ctx(), track, ref);
  if (ref == "stable" || ref == "canary") {
    if (!valid_track(track)) {
      KANARI_FUZZ_CHECK(!r.ok(), what + " resolves to " + *r);
      KANARI_FUZZ_CHECK_ERROR(r.error(), ErrorCode::usage);
      return 0;
    }
    auto expected = g_fixture->role(track, ref);
    if (expected) {
      KANARI_FUZZ_CHECK(r.ok() && *r == *expected, what + ": " + (r.ok() ? *r : r.error().message));
    } else {
      KANARI_FUZZ_CHECK(!r.ok(), what + " resolves to " + *r);
      KANARI_FUZZ_CHECK_ERROR(r.error(), ErrorCode::not_found);
    }
    return 0;
  }
  std::vector<std::string> matches;
  if (ref.size() >= 4 && ref.size() <= 64 && lower_hex(ref))
    for (const auto& id : g_fixture->ids())
      if (id.compare(0, ref.size(), ref) == 0)
        matches.push_back(id);
  if (matches.size() == 1) {
    KANARI_FUZZ_CHECK(r.ok() && *r == matches.front(), what + ": " + (r.ok() ? *r : r.error().message));
    return 0;
  }
  KANARI_FUZZ_CHECK(!r.ok(), what + " resolves to " + *r);
  KANARI_FUZZ_CHECK_ERROR(r.error(), ErrorCode::not_found);
  for (const auto& id : matches) // ambiguous: the candidates are listed
    KANARI_FUZZ_CHECK(r.error().message.find(id) != std::string::npos, what + ": " + r.error().message);
  return 0;
}
