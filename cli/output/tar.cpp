#include "output/tar.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <stdexcept>
#include <sys/types.h>

namespace kanari {

namespace {

constexpr std::size_t k_block = 512;
constexpr std::size_t k_record = 20 * k_block;
constexpr std::uint64_t k_max_octal_11 = 077777777777ULL; // 8 GiB - 1
constexpr mode_t k_file_mode = 0644;
constexpr mode_t k_dir_mode = 0755;

using Block = std::array<char, k_block>;

// `width - 1` octal digits, zero-padded, then NUL (ustar's numeric fields).
void put_octal(char* field, std::size_t width, std::uint64_t value) {
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0; value >>= 3)
    field[i] = static_cast<char>('0' + (value & 7));
}

void put_text(char* field, std::size_t width, std::string_view text) {
  // An empty view may have a null data(), which memcpy must not be given.
  if (!text.empty())
    std::memcpy(field, text.data(), std::min(width, text.size()));
}

// Where a path goes in ustar's name (100 bytes) and prefix (155 bytes)
// fields; `fits` is false when no '/' splits it into both.
struct UstarName {
  std::string_view prefix, name;
  bool fits;
};

UstarName ustar_name(std::string_view path) {
  if (path.size() <= 100)
    return {{}, path, true};
  for (std::size_t slash = path.find('/'); slash != std::string_view::npos && slash <= 155;
       slash = path.find('/', slash + 1)) {
    const std::size_t rest = path.size() - slash - 1;
    if (rest > 0 && rest <= 100)
      return {path.substr(0, slash), path.substr(slash + 1), true};
  }
  return {{}, path.substr(0, 100), false};
}

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// One pax record, "LEN key=value\n", whose LEN counts its own digits.
std::string pax_record(std::string_view key, std::string_view value) {
  const std::size_t body = 1 + key.size() + 1 + value.size() + 1;
  std::size_t len = body;
  while (len != body + std::to_string(len).size())
    len = body + std::to_string(len).size();
  return std::to_string(len) + " " + std::string(key) + "=" + std::string(value) + "\n";
}

class Writer {
public:
  Writer(std::ostream& out, std::uint64_t mtime) : m_out(out), m_mtime(mtime) {}

  void entry(std::string_view path, char type, mode_t mode, std::string_view data) {
    const UstarName n = ustar_name(path);
    if (!n.fits || !is_ascii(path)) {
      const std::string records = pax_record("path", path);
      put(header("././@PaxHeader", {}, 'x', k_file_mode, records.size()));
      put_data(records);
    }
    put(header(n.name, n.prefix, type, mode, data.size()));
    put_data(data);
  }

  void finish() {
    const Block zero{};
    put(zero);
    put(zero);
    while (m_written % k_record != 0)
      put(zero);
  }

private:
  Block header(std::string_view name, std::string_view prefix, char type, mode_t mode, std::uint64_t size) const {
    if (size > k_max_octal_11)
      throw std::length_error("a tar entry of 8 GiB or more");
    Block b{};
    put_text(&b[0], 100, name);
    put_octal(&b[100], 8, mode);
    put_octal(&b[108], 8, 0); // uid
    put_octal(&b[116], 8, 0); // gid
    put_octal(&b[124], 12, size);
    put_octal(&b[136], 12, m_mtime);
    std::memset(&b[148], ' ', 8); // the checksum counts its own field as spaces
    b[156] = type;
    std::memcpy(&b[257],
                "ustar\0"
                "00",
                8);
    put_octal(&b[329], 8, 0); // devmajor
    put_octal(&b[337], 8, 0); // devminor
    put_text(&b[345], 155, prefix);
    unsigned sum = 0;
    for (char c : b)
      sum += static_cast<unsigned char>(c);
    put_octal(&b[148], 7, sum); // six digits and NUL, then the space already there
    return b;
  }

  void put(const Block& b) {
    m_out.write(b.data(), static_cast<std::streamsize>(b.size()));
    m_written += b.size();
  }

  void put_data(std::string_view data) {
    m_out.write(data.data(), static_cast<std::streamsize>(data.size()));
    m_written += data.size();
    const std::size_t pad = (k_block - data.size() % k_block) % k_block;
    static const Block zero{};
    m_out.write(zero.data(), static_cast<std::streamsize>(pad));
    m_written += pad;
  }

  std::ostream& m_out;
  std::uint64_t m_mtime;
  std::uint64_t m_written = 0;
};

} // namespace

void write_tar(std::ostream& out, const std::vector<TreeFile>& files, std::int64_t mtime) {
  // Directories carry a trailing '/', so each sorts before its contents.
  std::map<std::string, const TreeFile*> entries;
  for (const auto& f : files) {
    entries[f.path] = &f;
    for (std::size_t slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1))
      entries.emplace(f.path.substr(0, slash + 1), nullptr);
  }
  Writer w(out,
           static_cast<std::uint64_t>(std::clamp<std::int64_t>(mtime, 0, static_cast<std::int64_t>(k_max_octal_11))));
  for (const auto& [path, file] : entries) {
    if (file)
      w.entry(path, '0', k_file_mode, file->data);
    else
      w.entry(path, '5', k_dir_mode, {});
  }
  w.finish();
}

} // namespace kanari
