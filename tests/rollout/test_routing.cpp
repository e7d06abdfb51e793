// Sticky routing (SPEC §5, docs/routing.md).
//
// - The independent vectors in tests/data/routing_vectors.json (a verbatim
//   copy of ../shared/vectors/routing.json) pin the bucket of every key and
//   its arm at every percentage, through routing_bucket, through Router and,
//   under the salt a real rollout drew, through `kanari route`.
// - A few more vectors, computed with tests/data/routing_reference.py, pin
//   SHA-256 block boundaries, Unicode normalisation and long keys.
// - Statistical checks use fixed salts (deterministic) or 5-sigma binomial
//   bands (a false alarm about once in 1.7 million runs).
#include "rollout/routing.hpp"
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

using namespace kanari;
using kanari::test::Cli;
using nlohmann::json;

namespace {

json load_vectors() {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/routing_vectors.json", std::ios::binary);
  REQUIRE(f.good());
  json doc = json::parse(f);
  REQUIRE(doc.at("vectors").size() >= 18);
  return doc.at("vectors");
}

// "25.25" -> 2525, exactly (no floating point).
std::int64_t percent_to_bp(const std::string& p) {
  auto dot = p.find('.');
  std::int64_t whole = std::stoll(p.substr(0, dot));
  std::string frac = dot == std::string::npos ? "" : p.substr(dot + 1);
  REQUIRE(frac.size() <= 2);
  while (frac.size() < 2)
    frac += '0';
  return whole * 100 + std::stoll(frac);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    parts.push_back(cur);
  return parts;
}

std::vector<std::string> lines_of(const std::string& s) {
  auto v = split(s, '\n');
  return v;
}

std::string user_keys(int n, const std::string& prefix = "user-") {
  std::string s;
  for (int i = 0; i < n; ++i)
    s += prefix + std::to_string(i) + "\n";
  return s;
}

// |count - n p| within five binomial standard deviations.
void check_binomial_share(std::int64_t count, std::int64_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
  INFO("count " << count << " of " << n << ", expected " << mean << " +- 5 x " << sigma);
  CHECK(std::abs(static_cast<double>(count) - mean) <= 5 * sigma);
}

// A store with a stable and a candidate version on the default track.
struct Fixture {
  Cli cli;
  std::string stable, candidate;

  Fixture() {
    cli.ok({"init"});
    stable =
        cli.json({"version", "add", "--prompt", "system=" + cli.dir().file("v1.txt", "You are helpful.\n")}).at("id");
    candidate =
        cli.json({"version", "add", "--prompt", "system=" + cli.dir().file("v2.txt", "You are very helpful.\n")})
            .at("id");
    REQUIRE(stable != candidate);
  }

  // The salt of the open rollout, read through the Store API.
  std::string salt() {
    auto s = store::open(cli.state(), store::OpenMode::existing);
    REQUIRE(s.ok());
    auto r = (*s)->open_rollout("default");
    REQUIRE(r.has_value());
    return r->salt;
  }

  // route --keys - (TSV): key -> the parsed columns after the key.
  std::vector<std::vector<std::string>> route_tsv(const std::string& keys) {
    auto r = cli.ok({"route", "--keys", "-"}, keys);
    std::vector<std::vector<std::string>> rows;
    for (const auto& line : lines_of(r.out))
      rows.push_back(split(line, '\t'));
    return rows;
  }

  // The set of keys routed to the canary among `n` user keys, checking
  // every line's shape on the way.
  std::set<std::string> canary_keys(int n) {
    std::set<std::string> out;
    auto rows = route_tsv(user_keys(n));
    REQUIRE(rows.size() == static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const auto& row = rows[static_cast<size_t>(i)];
      REQUIRE(row.size() == 3);
      CHECK(row[0] == "user-" + std::to_string(i));
      if (row[1] == "canary") {
        CHECK(row[2] == candidate);
        out.insert(row[0]);
      } else {
        CHECK(row[1] == "stable");
        CHECK(row[2] == stable);
      }
    }
    return out;
  }
};

} // namespace

TEST_CASE("routing: every shared vector's bucket and arms through routing_bucket") {
  for (const auto& v : load_vectors()) {
    const std::string salt = v.at("salt"), key = v.at("key");
    INFO("salt " << salt << " key " << key);
    const auto b = rollout::routing_bucket(salt, key);
    CHECK(b == v.at("bucket").get<std::uint32_t>());
    REQUIRE(v.at("canary_at_percent").size() >= 6);
    // Not a structured binding: clang 14 cannot capture one in INFO's lambda.
    for (const auto& item : v.at("canary_at_percent").items()) {
      const std::string& percent = item.key();
      INFO("at " << percent << " %");
      CHECK((b < percent_to_bp(percent)) == item.value().get<bool>());
    }
  }
}

TEST_CASE("routing: every shared vector's bucket and arms through Router") {
  for (const auto& v : load_vectors()) {
    const std::string salt = v.at("salt"), key = v.at("key");
    INFO("salt " << salt << " key " << key);
    for (const auto& item : v.at("canary_at_percent").items()) {
      const std::string& percent = item.key();
      INFO("at " << percent << " %");
      const rollout::Router router(salt, percent_to_bp(percent));
      const auto b = router.bucket(key);
      CHECK(b == v.at("bucket").get<std::uint32_t>());
      CHECK(router.in_canary(b) == item.value().get<bool>());
    }
  }
}

// A rollout whose steps begin with shadow steps (docs/routing.md, "Shadow
// steps"): at each shared vector's percentages, a shadow step mirrors exactly
// the keys the same percentage serves the canary in a live step, with the
// same bucket, and serves everyone stable.
TEST_CASE("routing: every shared vector through decide() in a shadow step and in a live step") {
  for (const auto& v : load_vectors()) {
    const std::string salt = v.at("salt"), key = v.at("key");
    INFO("salt " << salt << " key " << key);
    for (const auto& item : v.at("canary_at_percent").items()) {
      const std::string& percent = item.key();
      const bool canary = item.value().get<bool>();
      INFO("at " << percent << " %");
      store::RolloutRecord r;
      r.canary = "canary-id";
      r.salt = salt;
      r.steps_bp = {percent_to_bp(percent), percent_to_bp(percent)}; // shadow:P, then P
      r.shadow = true;
      r.shadow_steps = 1;
      const rollout::RoutingTable table{"stable-id", r};
      const rollout::Router router(salt, table.threshold_bp());
      const auto shadow = rollout::decide(table, &router, key);
      CHECK(shadow.bucket == v.at("bucket").get<std::uint32_t>());
      CHECK(shadow.arm == store::Arm::stable);
      CHECK(shadow.version == "stable-id");
      CHECK(shadow.shadow == canary);
      CHECK(shadow.canary == "canary-id");

      r.step = 1; // promoted out of the shadow step
      const rollout::RoutingTable live_table{"stable-id", r};
      const auto live = rollout::decide(live_table, &router, key);
      CHECK(live.bucket == v.at("bucket").get<std::uint32_t>());
      CHECK(live.arm == (canary ? store::Arm::canary : store::Arm::stable));
      CHECK(live.version == (canary ? "canary-id" : "stable-id"));
      CHECK_FALSE(live.shadow);
    }
  }
}

TEST_CASE("routing: the vectors tell the published bytes from plausible wrong ones") {
  // Each alternative below is a bug an implementation could ship; the
  // vectors must reject every one (many times over, not by one lucky key).
  auto be = [](const crypto::Digest& d, size_t from, size_t n) {
    std::uint64_t v = 0;
    for (size_t i = from; i < from + n; ++i)
      v = (v << 8) | d[i];
    return static_cast<std::uint32_t>(v % rollout::k_buckets);
  };
  auto le = [](const crypto::Digest& d) {
    std::uint64_t v = 0;
    for (size_t i = 8; i-- > 0;)
      v = (v << 8) | d[i];
    return static_cast<std::uint32_t>(v % rollout::k_buckets);
  };
  const auto vectors = load_vectors();
  int le_hits = 0, first4_hits = 0, last8_hits = 0, no_colon_hits = 0, reference_hits = 0;
  for (const auto& v : vectors) {
    const std::string salt = v.at("salt"), key = v.at("key");
    const auto expected = v.at("bucket").get<std::uint32_t>();
    const auto d = crypto::sha256(salt + ":" + key);
    reference_hits += be(d, 0, 8) == expected;
    le_hits += le(d) == expected;
    first4_hits += be(d, 0, 4) == expected;
    last8_hits += be(d, 24, 8) == expected;
    no_colon_hits += be(crypto::sha256(salt + key), 0, 8) == expected;
  }
  CHECK(reference_hits == static_cast<int>(vectors.size()));
  CHECK(le_hits == 0);
  CHECK(first4_hits == 0);
  CHECK(last8_hits == 0);
  CHECK(no_colon_hits == 0);
}

TEST_CASE("routing: extra vectors from the Python reference (block boundaries, Unicode, long keys)") {
  // Computed with `python3 tests/data/routing_reference.py SALT KEY...`;
  // the same table is in docs/routing.md. salt + ":" + key is 55, 56, 64 and
  // 65 bytes for the four "k" keys: SHA-256's padding and block edges.
  struct Row {
    std::string key;
    std::uint32_t bucket;
  };
  const std::string salt = "5f1e0c3a9b8d7e6f4a2b1c0d9e8f7a6b";
  std::string long_key;
  for (int i = 0; i < 1000; ++i)
    long_key += "\xC3\xA9"; // U+00E9, 2000 bytes
  const std::vector<Row> rows = {
      {"alice", 2854},
      {"Stra\xC3\x9F"
       "e",
       8891},
      {"caf\xC3\xA9", 4701},  // NFC: U+00E9
      {"cafe\xCC\x81", 6784}, // NFD: e + U+0301; keys are hashed as given, not normalised
      {std::string(22, 'k'), 1641},
      {std::string(23, 'k'), 7956},
      {std::string(31, 'k'), 9995},
      {std::string(32, 'k'), 9248},
      {long_key, 3061},
      {"tenant-42/user-9001", 5},
  };
  for (const auto& row : rows) {
    INFO("key of " << row.key.size() << " bytes: " << row.key.substr(0, 40));
    CHECK(rollout::routing_bucket(salt, row.key) == row.bucket);
    const rollout::Router router(salt, 5000);
    CHECK(router.bucket(row.key) == row.bucket);
  }
  // Thresholds are exclusive: bucket 9995 is canary from 99.96 %, not at 99.95 %.
  CHECK_FALSE(rollout::Router(salt, 9995).in_canary(9995));
  CHECK(rollout::Router(salt, 9996).in_canary(9995));
  CHECK(rollout::Router(salt, 10000).in_canary(9999));
  CHECK_FALSE(rollout::Router(salt, 0).in_canary(0));
  // Bucket 5 is canary at 0.06 % and not at 0.05 %.
  CHECK(rollout::Router(salt, 6).in_canary(5));
  CHECK_FALSE(rollout::Router(salt, 5).in_canary(5));
}

TEST_CASE("routing: buckets are uniform (chi-square over 100 bins, 1,000,000 keys)") {
  // bin = bucket / 100, 10,000 expected per bin. The bound is the 0.999
  // quantile of chi-square with 99 degrees of freedom:
  //   python3 -c "from scipy.stats import chi2; print(chi2.ppf(0.999, 99))"
  //   -> 148.23035916510173
  // The salt is fixed, so the statistic is deterministic; a uniform hash
  // lands below the bound, while e.g. hashing 2 bytes instead of 8 (which
  // over-weights buckets 0..5535 by 7/6) puts it in the thousands.
  constexpr double k_chi2_999_df99 = 148.23035916510173;
  constexpr int k_keys = 1'000'000;
  const rollout::Router router("0123456789abcdef0123456789abcdef", 5000);
  std::vector<std::int64_t> bins(100, 0);
  std::int64_t canary = 0;
  std::string key;
  for (int i = 0; i < k_keys; ++i) {
    key = "user-";
    key += std::to_string(i);
    const auto b = router.bucket(key);
    REQUIRE(b < rollout::k_buckets);
    ++bins[b / 100];
    canary += router.in_canary(b);
  }
  const double expected = k_keys / 100.0;
  double chi2 = 0;
  for (auto o : bins)
    chi2 += (static_cast<double>(o) - expected) * (static_cast<double>(o) - expected) / expected;
  INFO("chi-square " << chi2);
  CHECK(chi2 < k_chi2_999_df99);
  CHECK(chi2 > 0);
  check_binomial_share(canary, k_keys, 0.5);
}

TEST_CASE("route --key: the CLI's bucket is routing_bucket under the rollout's salt") {
  Fixture f;
  // 25.25 % exercises a fractional percentage: threshold 2525 basis points.
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "25.25"});
  const std::string salt = f.salt();
  REQUIRE(salt.size() == 32);
  CHECK(salt.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(f.cli.json({"canary", "status"}).at("salt") == salt);
  std::set<std::string> keys;
  for (const auto& v : load_vectors())
    keys.insert(v.at("key").get<std::string>());
  REQUIRE(keys.size() >= 9);
  int canary = 0;
  for (const auto& key : keys) {
    INFO("key " << key);
    const auto j = f.cli.json({"route", "--key", key});
    const auto b = rollout::routing_bucket(salt, key);
    CHECK(j.at("bucket") == b);
    CHECK(j.at("key") == key);
    CHECK(j.at("track") == "default");
    CHECK(j.at("shadow") == false);
    const bool is_canary = b < 2525;
    canary += is_canary;
    CHECK(j.at("arm") == (is_canary ? "canary" : "stable"));
    CHECK(j.at("version") == (is_canary ? f.candidate : f.stable));
  }
  MESSAGE(canary << " of " << keys.size() << " vector keys on the canary under salt " << salt);
}

TEST_CASE("route --keys -: TSV and JSON Lines agree with route --key for 1000 keys") {
  Fixture f;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "30"});
  const std::string salt = f.salt();
  const std::string keys = user_keys(1000, "session-");

  const auto tsv = lines_of(f.cli.ok({"route", "--keys", "-"}, keys).out);
  const auto jsonl = lines_of(f.cli.ok({"route", "--keys", "-", "--json"}, keys).out);
  // A file works like stdin.
  const auto from_file = lines_of(f.cli.ok({"route", "--keys", f.cli.dir().file("keys.txt", keys)}).out);
  REQUIRE(tsv.size() == 1000);
  REQUIRE(jsonl.size() == 1000);
  CHECK(from_file == tsv);

  int canary = 0;
  for (size_t i = 0; i < 1000; ++i) {
    const std::string key = "session-" + std::to_string(i);
    INFO("key " << key);
    const auto one = f.cli.json({"route", "--key", key});
    const auto row = split(tsv[i], '\t');
    REQUIRE(row.size() == 3);
    CHECK(row[0] == key);
    CHECK(row[1] == one.at("arm"));
    CHECK(row[2] == one.at("version"));

    const auto line = json::parse(jsonl[i]);
    CHECK(line == one); // every field: track, key, version, arm, bucket, shadow
    CHECK(line.at("bucket") == rollout::routing_bucket(salt, key));
    canary += one.at("arm") == "canary";
  }
  check_binomial_share(canary, 1000, 0.30);
}

TEST_CASE("route --keys: CRLF line ends and blank lines") {
  Fixture f;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "50"});
  const auto out = lines_of(f.cli.ok({"route", "--keys", "-"}, "alice\r\n\r\nbob\n\n").out);
  REQUIRE(out.size() == 2);
  CHECK(split(out[0], '\t').at(0) == "alice");
  CHECK(split(out[1], '\t').at(0) == "bob");
  const auto j = f.cli.json({"route", "--key", "alice"});
  CHECK(split(out[0], '\t').at(1) == j.at("arm"));
}

TEST_CASE("routing: sticky across steps 5, 25, 50, 100 with each share within 5 sigma") {
  Fixture f;
  constexpr int n = 10000;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--steps", "5,25,50,100"});
  const std::string salt = f.salt();
  const std::vector<std::int64_t> steps_bp = {500, 2500, 5000, 10000};
  std::set<std::string> previous;
  for (size_t step = 0; step < steps_bp.size(); ++step) {
    INFO("step " << step << " at " << steps_bp[step] / 100 << " %");
    const auto status = f.cli.json({"canary", "status"});
    REQUIRE(status.at("step") == step);
    REQUIRE(status.at("salt") == salt); // promotion keeps the salt
    const auto canary = f.canary_keys(n);
    // Sticky: nobody who was on the canary is back on stable.
    for (const auto& k : previous)
      CHECK_MESSAGE(canary.count(k) == 1, k << " left the canary");
    // Exactly the keys below the threshold, not just about as many.
    for (int i = 0; i < n; ++i) {
      const std::string key = "user-" + std::to_string(i);
      CHECK((canary.count(key) == 1) == (rollout::routing_bucket(salt, key) < steps_bp[step]));
    }
    check_binomial_share(static_cast<std::int64_t>(canary.size()), n, static_cast<double>(steps_bp[step]) / 10000);
    CHECK(canary.size() >= previous.size());
    previous = canary;
    f.cli.ok({"canary", "promote"});
  }
  CHECK(previous.size() == static_cast<size_t>(n)); // 100 %: everyone
  // Promoting past the last step made the canary stable: everyone keeps it.
  const auto status = f.cli.json({"canary", "status"});
  CHECK(status.at("state") == "idle");
  CHECK(status.at("stable") == f.candidate);
  for (const auto& row : f.route_tsv(user_keys(200))) {
    REQUIRE(row.size() == 3);
    CHECK(row[1] == "stable");
    CHECK(row[2] == f.candidate);
  }
}

TEST_CASE("routing: a new rollout after a rollback draws a new salt and new users") {
  Fixture f;
  constexpr int n = 10000;
  constexpr double p = 0.20;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "20"});
  const std::string salt_a = f.salt();
  const auto a = f.canary_keys(n);
  check_binomial_share(static_cast<std::int64_t>(a.size()), n, p);

  f.cli.ok({"canary", "rollback"});
  // Rolled back: everyone on stable, no bucket.
  CHECK(f.canary_keys(n).empty());
  CHECK(f.cli.json({"route", "--key", "user-1"}).at("bucket").is_null());

  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "20"});
  const std::string salt_b = f.salt();
  CHECK(salt_b != salt_a);
  const auto b = f.canary_keys(n);
  check_binomial_share(static_cast<std::int64_t>(b.size()), n, p);
  std::int64_t overlap = 0;
  for (const auto& k : a)
    overlap += b.count(k);
  // Independent draws overlap in about n p^2 = 400 keys; the same salt would
  // give n p = 2000.
  check_binomial_share(overlap, n, p * p);
  CHECK(overlap < static_cast<std::int64_t>(a.size()) / 2);
}

TEST_CASE("routing: a shadow rollout serves stable to all, shadow exactly below the threshold") {
  Fixture f;
  constexpr int n = 5000;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "30", "--shadow"});
  const std::string salt = f.salt();
  const std::string keys = user_keys(n);
  const auto tsv = lines_of(f.cli.ok({"route", "--keys", "-"}, keys).out);
  const auto jsonl = lines_of(f.cli.ok({"route", "--keys", "-", "--json"}, keys).out);
  REQUIRE(tsv.size() == static_cast<size_t>(n));
  REQUIRE(jsonl.size() == static_cast<size_t>(n));
  std::int64_t shadows = 0;
  for (int i = 0; i < n; ++i) {
    const std::string key = "user-" + std::to_string(i);
    INFO("key " << key);
    const bool shadow = rollout::routing_bucket(salt, key) < 3000;
    shadows += shadow;
    const auto row = split(tsv[static_cast<size_t>(i)], '\t');
    REQUIRE(row.size() == (shadow ? 4u : 3u));
    CHECK(row[0] == key);
    CHECK(row[1] == "stable");
    CHECK(row[2] == f.stable);
    if (shadow)
      CHECK(row[3] == "shadow");
    const auto j = json::parse(jsonl[static_cast<size_t>(i)]);
    CHECK(j.at("arm") == "stable");
    CHECK(j.at("version") == f.stable);
    CHECK(j.at("shadow") == shadow);
    CHECK(j.at("bucket") == rollout::routing_bucket(salt, key));
  }
  check_binomial_share(shadows, n, 0.30);
  // route --key says the same for one shadowed and one plain key.
  for (int i = 0; i < n; ++i) {
    const std::string key = "user-" + std::to_string(i);
    if (rollout::routing_bucket(salt, key) < 3000) {
      const auto j = f.cli.json({"route", "--key", key});
      CHECK(j.at("shadow") == true);
      CHECK(j.at("arm") == "stable");
      CHECK(j.at("version") == f.stable);
      CHECK(split(f.cli.ok({"route", "--key", key}).out, '\t').size() == 4);
      break;
    }
  }
}

TEST_CASE("routing: no rollout: everyone stable, bucket null") {
  Fixture f;
  const auto j = f.cli.json({"route", "--key", "user-1"});
  CHECK(j.at("arm") == "stable");
  CHECK(j.at("version") == f.stable);
  CHECK(j.at("bucket").is_null());
  CHECK(j.at("shadow") == false);
  const auto keys = user_keys(500);
  CHECK(f.canary_keys(500).empty());
  for (const auto& line : lines_of(f.cli.ok({"route", "--keys", "-", "--json"}, keys).out)) {
    const auto l = json::parse(line);
    CHECK(l.at("bucket").is_null());
    CHECK(l.at("arm") == "stable");
    CHECK(l.at("shadow") == false);
  }
}

TEST_CASE("routing: a paused rollout keeps routing at its percentage") {
  Fixture f;
  constexpr int n = 4000;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--steps", "10,40"});
  f.cli.ok({"canary", "promote"});
  const auto before = f.canary_keys(n);
  check_binomial_share(static_cast<std::int64_t>(before.size()), n, 0.40);
  f.cli.ok({"canary", "pause"});
  const auto status = f.cli.json({"canary", "status"});
  REQUIRE(status.at("state") == "paused");
  CHECK(status.at("percentage") == 40);
  CHECK(f.canary_keys(n) == before);
  f.cli.ok({"canary", "resume"});
  CHECK(f.canary_keys(n) == before);
}

TEST_CASE("route --task remembers the assignment and record --task uses it") {
  Fixture f;
  f.cli.ok({"canary", "start", "--version", f.candidate, "--percentage", "50"});
  const std::string salt = f.salt();
  std::string canary_key, stable_key;
  for (int i = 0; canary_key.empty() || stable_key.empty(); ++i) {
    const std::string key = "user-" + std::to_string(i);
    (rollout::routing_bucket(salt, key) < 5000 ? canary_key : stable_key) = key;
  }

  const auto c = f.cli.json({"route", "--key", canary_key, "--task", "task-c"});
  CHECK(c.at("arm") == "canary");
  CHECK(c.at("version") == f.candidate);
  const auto s = f.cli.json({"route", "--key", stable_key, "--task", "task-s"});
  CHECK(s.at("arm") == "stable");
  CHECK(s.at("version") == f.stable);

  CHECK(f.cli.json({"record", "--task", "task-c", "--pass"}).at("inserted") == 1);
  CHECK(f.cli.json({"record", "--task", "task-s", "--fail"}).at("inserted") == 1);
  auto status = f.cli.json({"canary", "status"});
  CHECK(status.at("canary_stats").at("n") == 1);
  CHECK(status.at("canary_stats").at("pass") == 1);
  CHECK(status.at("stable_stats").at("n") == 1);
  CHECK(status.at("stable_stats").at("pass") == 0);

  // A retry without --version is a duplicate, not a second outcome.
  const auto again = f.cli.json({"record", "--task", "task-c", "--pass"});
  CHECK(again.at("inserted") == 0);
  CHECK(again.at("duplicates") == 1);
  status = f.cli.json({"canary", "status"});
  CHECK(status.at("canary_stats").at("n") == 1);

  SUBCASE("a task never routed: exit 4, nothing stored") {
    const auto before = kanari::test::store_snapshot(f.cli.state());
    const auto r = f.cli({"record", "--task", "task-never-routed", "--pass"});
    CHECK(r.code == 4);
    CHECK(r.err.find("task-never-routed") != std::string::npos);
    CHECK(r.err.find("route") != std::string::npos);
    CHECK(kanari::test::store_snapshot(f.cli.state()) == before);
    auto st = store::open(f.cli.state(), store::OpenMode::existing);
    REQUIRE(st.ok());
    CHECK((*st)->count_outcomes("default") == 2);
    CHECK_FALSE((*st)->get_assignment("default", "task-never-routed").has_value());
  }
  SUBCASE("an assignment on one track is not one on another") {
    f.cli.ok(
        {"--track", "other", "version", "add", "--prompt", "system=" + f.cli.dir().file("v3.txt", "Other track.\n")});
    const auto r = f.cli({"--track", "other", "record", "--task", "task-c", "--pass"});
    CHECK(r.code == 4);
  }
}

TEST_CASE("route --task with no rollout assigns stable") {
  Fixture f;
  const auto j = f.cli.json({"route", "--key", "user-1", "--task", "t-1"});
  CHECK(j.at("arm") == "stable");
  CHECK(f.cli.json({"record", "--task", "t-1", "--pass"}).at("inserted") == 1);
  auto st = store::open(f.cli.state(), store::OpenMode::existing);
  REQUIRE(st.ok());
  const auto a = (*st)->get_assignment("default", "t-1");
  REQUIRE(a.has_value());
  CHECK(a->version_id == f.stable);
  CHECK(a->arm == store::Arm::stable);
  CHECK_FALSE(a->rollout_id.has_value());
  CHECK((*st)->count_outcomes("default") == 1);
}
