// output/tar: the ustar and pax fields byte by byte, read back by a reader
// written here from the POSIX layout (tests/cli/check_checkout_tar.py reads
// whole streams with Python's tarfile and GNU tar).
#include "output/tar.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>

using namespace kanari;

namespace {

std::string tar(const std::vector<TreeFile>& files, std::int64_t mtime = 1'700'000'000) {
  std::ostringstream out;
  write_tar(out, files, mtime);
  return out.str();
}

std::string field(const std::string& block, std::size_t offset, std::size_t width) {
  std::string f = block.substr(offset, width);
  return f.substr(0, f.find('\0'));
}

std::uint64_t octal(const std::string& block, std::size_t offset, std::size_t width) {
  return std::stoull(field(block, offset, width), nullptr, 8);
}

struct Entry {
  std::string name; // prefix/name, or the pax path
  char type;
  unsigned mode;
  std::uint64_t mtime;
  std::string data;
  std::string pax; // the pax header's records, if any
};

// Reads every entry, checking each header's checksum and magic.
std::vector<Entry> read_tar(const std::string& s) {
  std::vector<Entry> out;
  std::size_t pos = 0;
  std::string pending_pax;
  while (true) {
    REQUIRE(pos + 512 <= s.size());
    const std::string h = s.substr(pos, 512);
    if (h == std::string(512, '\0'))
      break;
    unsigned sum = 0;
    for (std::size_t i = 0; i < 512; ++i)
      sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
    CHECK(octal(h, 148, 8) == sum);
    CHECK(h.substr(154, 2) == std::string("\0 ", 2));
    CHECK(h.substr(257, 8) == std::string("ustar\0"
                                          "00",
                                          8));
    const auto size = octal(h, 124, 12);
    std::string data = s.substr(pos + 512, size);
    pos += 512 + (size + 511) / 512 * 512;
    if (h[156] == 'x') {
      pending_pax = data;
      continue;
    }
    std::string prefix = field(h, 345, 155), name = field(h, 0, 100);
    Entry e{prefix.empty() ? name : prefix + "/" + name,
            h[156],
            static_cast<unsigned>(octal(h, 100, 8)),
            octal(h, 136, 12),
            data,
            pending_pax};
    if (!pending_pax.empty()) {
      auto eq = pending_pax.find(" path=");
      REQUIRE(eq != std::string::npos);
      e.name = pending_pax.substr(eq + 6, pending_pax.size() - eq - 7);
    }
    pending_pax.clear();
    out.push_back(e);
  }
  CHECK(s.substr(pos, 1024) == std::string(1024, '\0'));
  CHECK(s.size() % 10240 == 0);
  return out;
}

} // namespace

TEST_CASE("tar: no files is two zero blocks padded to one record") { CHECK(tar({}) == std::string(10240, '\0')); }

TEST_CASE("tar: one file, every ustar field") {
  const std::string s = tar({{"a.txt", "hi"}});
  REQUIRE(s.size() == 10240);
  const std::string h = s.substr(0, 512);
  CHECK(field(h, 0, 100) == "a.txt");
  CHECK(h.substr(100, 8) == std::string("0000644\0", 8));
  CHECK(h.substr(108, 8) == std::string("0000000\0", 8));
  CHECK(h.substr(116, 8) == std::string("0000000\0", 8));
  CHECK(h.substr(124, 12) == std::string("00000000002\0", 12));
  CHECK(octal(h, 136, 12) == 1'700'000'000);
  CHECK(h[156] == '0');
  CHECK(field(h, 265, 32).empty());
  CHECK(s.substr(512, 2) == "hi");
  CHECK(s.substr(514, 510) == std::string(510, '\0'));
  auto entries = read_tar(s);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].data == "hi");
}

TEST_CASE("tar: sorted, every parent directory first, files 0644 and directories 0755") {
  auto entries = read_tar(tar({{"b/c/d.md", "d"}, {"a.md", ""}, {"b/a.md", "ba"}, {"b-c.md", "x"}}));
  std::vector<std::string> names;
  for (const auto& e : entries) {
    names.push_back(e.name);
    CHECK(e.mode == (e.type == '5' ? 0755u : 0644u));
    CHECK(e.type == (e.name.back() == '/' ? '5' : '0'));
  }
  CHECK(names == std::vector<std::string>{"a.md", "b-c.md", "b/", "b/a.md", "b/c/", "b/c/d.md"});
}

TEST_CASE("tar: names past 100 bytes: split into prefix and name, else a pax path") {
  const std::string exactly_100(100, 'a');
  const std::string split = std::string(120, 'p') + "/" + std::string(90, 'q');
  const std::string unsplittable = std::string(200, 'x') + "/" + std::string(55, 'y');
  const std::string s = tar({{exactly_100, "1"}, {split, "2"}, {unsplittable, "3"}});
  auto entries = read_tar(s);
  REQUIRE(entries.size() == 5); // two directories
  std::map<std::string, Entry> by;
  for (const auto& e : entries)
    by[e.name] = e;
  CHECK(by.at(exactly_100).pax.empty());
  CHECK(by.at(split).pax.empty());
  CHECK(by.at(split).data == "2");
  CHECK(by.at(unsplittable).pax == "266 path=" + unsplittable + "\n");
  CHECK(by.at(unsplittable).data == "3");
  // The first header's name fills its field with no NUL.
  CHECK(s.substr(0, 100) == exactly_100);
}

TEST_CASE("tar: a non-ASCII name gets a pax path, whose length counts its own digits") {
  // " path=" + 91 bytes + "\\n" is 98; with two digits 100, which has three.
  const std::string name = "\xc3\xa9" + std::string(89, 'e');
  auto entries = read_tar(tar({{name, "x"}}));
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].pax == "101 path=" + name + "\n");
  CHECK(entries[0].pax.size() == 101);
  CHECK(entries[0].name == name);
}

TEST_CASE("tar: mtime is clamped to what ustar holds") {
  CHECK(read_tar(tar({{"a", ""}}, -5))[0].mtime == 0);
  CHECK(read_tar(tar({{"a", ""}}, std::int64_t{1} << 40))[0].mtime == 077777777777ULL);
}
