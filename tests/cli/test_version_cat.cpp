// `kanari version cat REF NAME`: one file of a version's checkout on stdout,
// byte-exact (the component's bytes; model.json the canonical model JSON),
// so an agent runtime that shells out needs no checkout directory. And the
// same bytes through the C API's kanari_component / kanari_model.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include "kanari/kanari.h"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <cstdio>

using namespace kanari::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string k_binary("\x00\x01\xff\xfe no newline at the end", 27);

// A stable with a prompt, a tool, a binary file and a model configuration,
// and a canary with another prompt.
struct Versions {
  Cli cli;
  std::string a, b;
  Versions() {
    cli.ok({"init"});
    auto& d = cli.dir();
    a = cli.json({"version", "add", "--prompt", "roles/backend.md=" + d.file("a.md", "You are the backend agent.\n"),
                  "--tool", "search=" + d.file("search.json", R"({"name": "search", "parameters": {}})"), "--file",
                  "data/blob.bin=" + d.file("blob.bin", k_binary), "--config",
                  d.file("model.json", R"({"temperature": 0.2, "model": "m-1", "max_tokens": 4096})")})["id"];
    b = cli.json({"version", "add", "--prompt",
                  "roles/backend.md=" + d.file("b.md", "You are the careful backend agent.\n")})["id"];
    cli.ok({"canary", "start", "--version", b, "--percentage", "20"});
  }
  std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

} // namespace

TEST_CASE("version cat: each file's exact bytes, the same checkout writes") {
  Versions v;
  auto to = v.cli.dir().path() / "co";
  v.cli.ok({"version", "checkout", v.a, "--to", to.string()});
  for (const std::string name : {"roles/backend.md", "search", "data/blob.bin", "model.json"}) {
    CAPTURE(name);
    auto r = v.cli.ok({"version", "cat", v.a, name});
    CHECK(r.out == v.read(to / name));
    CHECK(r.err.empty());
  }
  CHECK(v.cli.ok({"version", "cat", v.a, "data/blob.bin"}).out == k_binary);
  CHECK(v.cli.ok({"version", "cat", v.a, "model.json"}).out ==
        "{\"max_tokens\":4096,\"model\":\"m-1\",\"temperature\":0.2}\n");
  // A tool is stored as canonical JSON.
  CHECK(v.cli.ok({"version", "cat", v.a, "search"}).out == R"({"name":"search","parameters":{}})");
}

TEST_CASE("version cat: REFs are those of every other command") {
  Versions v;
  CHECK(v.cli.ok({"version", "cat", "stable", "roles/backend.md"}).out == "You are the backend agent.\n");
  CHECK(v.cli.ok({"version", "cat", "canary", "roles/backend.md"}).out == "You are the careful backend agent.\n");
  CHECK(v.cli.ok({"version", "cat", v.b.substr(0, 8), "roles/backend.md"}).out ==
        "You are the careful backend agent.\n");
  // A leading ./ is dropped, as by version add.
  CHECK(v.cli.ok({"version", "cat", "stable", "./roles/backend.md"}).out == "You are the backend agent.\n");
  // stable of another track.
  v.cli.ok({"version", "add", "--track", "other", "--prompt", "p=" + v.cli.dir().file("o.md", "other\n")});
  CHECK(v.cli.ok({"--track", "other", "version", "cat", "stable", "p"}).out == "other\n");
}

TEST_CASE("version cat: an unknown name is exit 4 listing the names, and nothing on stdout") {
  Versions v;
  auto r = v.cli({"version", "cat", v.a, "roles/frontend.md"});
  CHECK(r.code == 4);
  CHECK(r.out.empty());
  CHECK(r.err.find("has no component 'roles/frontend.md'") != std::string::npos);
  for (const std::string name : {"'roles/backend.md'", "'search'", "'data/blob.bin'", "'model.json'"}) {
    CAPTURE(name);
    CHECK(r.err.find(name) != std::string::npos);
  }
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);

  r = v.cli({"version", "cat", "0000000000", "model.json"});
  CHECK(r.code == 4);
  CHECK(r.out.empty());
  r = v.cli({"--track", "other", "version", "cat", "canary", "model.json"});
  CHECK(r.code == 4);
}

TEST_CASE("version cat: usage errors") {
  Versions v;
  auto r = v.cli({"--json", "version", "cat", v.a, "model.json"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("--json") != std::string::npos);
  CHECK(v.cli({"version", "cat", v.a}).code == 2);

  // Two components of different kinds at one name: which one is meant is
  // not for cat to guess (checkout refuses the same version).
  auto& d = v.cli.dir();
  auto both = v.cli
                  .json({"version", "add", "--prompt", "x=" + d.file("x.md", "prompt x\n"), "--file",
                         "x=" + d.file("x.bin", "file x\n")})["id"]
                  .get<std::string>();
  r = v.cli({"version", "cat", both, "x"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find("more than one file at 'x'") != std::string::npos);
  auto shadowed = v.cli.json({"version", "add", "--file", "model.json=" + d.file("m.bin", "not the model\n")})["id"]
                      .get<std::string>();
  CHECK(v.cli({"version", "cat", shadowed, "model.json"}).code == 2);
}

namespace {

// The peak resident memory (KiB) of `kanari --state STATE version cat REF
// NAME`. Python starts it and reads its peak: a child forked from this test
// process would count the test's own memory in its peak (Linux keeps the
// high-water mark across exec), which under AddressSanitizer's quarantine
// is hundreds of megabytes.
long cat_peak_kib(const std::string& state, const std::string& ref, const std::string& name) {
  const std::string script = "import resource, subprocess, sys\n"
                             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)\n"
                             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
  const std::string command = "/usr/bin/python3 -c " + shell_quote(script) + " " + shell_quote(KANARI_BINARY) +
                              " --state " + shell_quote(state) + " version cat " + shell_quote(ref) + " " +
                              shell_quote(name);
  FILE* p = ::popen(command.c_str(), "r");
  REQUIRE(p != nullptr);
  char line[64] = {};
  const bool read = std::fgets(line, sizeof line, p) != nullptr;
  REQUIRE(::pclose(p) == 0);
  REQUIRE(read);
  return std::stol(line);
}

} // namespace

// Reading a prompt reads that prompt: not the other blobs of the store (an
// SQLite store of schema 7 read every record it compared keys with, so a
// 3-byte prompt beside a 200 MB file cost 200 MB).
TEST_CASE("version cat: reading a small component does not read a large one beside it") {
  Versions v;
  const long before = cat_peak_kib(v.cli.state(), v.a, "roles/backend.md");
  std::string big(48 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096)
    big[i] = static_cast<char>(i / 4096); // not one run of a byte
  v.cli.ok({"version", "add", "--file", "big.bin=" + v.cli.dir().file("big.bin", big), "--prompt",
            "roles/backend.md=" + v.cli.dir().file("a2.md", "You are the backend agent.\n")});
  big.clear();
  big.shrink_to_fit();
  const long after = cat_peak_kib(v.cli.state(), v.a, "roles/backend.md");
  INFO("peak before the large file: " << before << " KiB, after: " << after << " KiB");
  CHECK(after < before + 16 * 1024);
}

TEST_CASE("capi: kanari_component and kanari_model give what version cat prints") {
  Versions v;
  kanari_store* h = nullptr;
  REQUIRE(kanari_open(v.cli.state().c_str(), "test", 0, &h) == KANARI_OK);
  for (const std::string name : {"roles/backend.md", "search", "data/blob.bin", "model.json"}) {
    CAPTURE(name);
    char* data = nullptr;
    size_t len = 0;
    REQUIRE(kanari_component(h, v.a.c_str(), name.c_str(), &data, &len) == KANARI_OK);
    REQUIRE(data != nullptr);
    CHECK(std::string(data, len) == v.cli.ok({"version", "cat", v.a, name}).out);
    CHECK(data[len] == '\0');
    kanari_free(data);
  }
  char* data = nullptr;
  size_t len = 0;
  REQUIRE(kanari_component(h, "canary", "roles/backend.md", &data, &len) == KANARI_OK);
  CHECK(std::string(data, len) == "You are the careful backend agent.\n");
  kanari_free(data);

  char* model = nullptr;
  REQUIRE(kanari_model(h, v.a.substr(0, 10).c_str(), &model) == KANARI_OK);
  CHECK(std::string(model) == "{\"max_tokens\":4096,\"model\":\"m-1\",\"temperature\":0.2}");
  kanari_free(model);
  REQUIRE(kanari_model(h, v.b.c_str(), &model) == KANARI_OK);
  CHECK(std::string(model) == "{}");
  kanari_free(model);

  // Failures: a status, a message, and the out-parameters cleared.
  data = reinterpret_cast<char*>(1);
  len = 7;
  CHECK(kanari_component(h, v.a.c_str(), "nope.md", &data, &len) == KANARI_NOT_FOUND);
  CHECK(data == nullptr);
  CHECK(len == 0);
  CHECK(std::string(kanari_last_error(h)).find("'roles/backend.md'") != std::string::npos);
  CHECK(kanari_component(h, "abcdef0123", "model.json", &data, &len) == KANARI_NOT_FOUND);
  CHECK(kanari_component(h, "", "model.json", &data, &len) == KANARI_USAGE);
  CHECK(kanari_component(h, nullptr, "model.json", &data, &len) == KANARI_USAGE);
  CHECK(kanari_component(h, v.a.c_str(), nullptr, &data, &len) == KANARI_USAGE);
  CHECK(kanari_component(h, v.a.c_str(), "model.json", nullptr, &len) == KANARI_USAGE);
  data = reinterpret_cast<char*>(1);
  len = 7;
  CHECK(kanari_component(nullptr, v.a.c_str(), "model.json", &data, &len) == KANARI_USAGE);
  CHECK(data == nullptr);
  CHECK(len == 0);
  model = reinterpret_cast<char*>(1);
  CHECK(kanari_model(h, "ffff", &model) == KANARI_NOT_FOUND);
  CHECK(model == nullptr);
  CHECK(kanari_model(h, v.a.c_str(), nullptr) == KANARI_USAGE);
  model = reinterpret_cast<char*>(1);
  CHECK(kanari_model(nullptr, v.a.c_str(), &model) == KANARI_USAGE);
  CHECK(model == nullptr);
  kanari_close(h);
}
