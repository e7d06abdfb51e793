#include "util/rereadable_input.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kanari {

namespace {

// The stream itself, sought back to where it was taken.
class Seekable final : public RereadableInput {
public:
  Seekable(std::istream& in, std::istream::pos_type start, std::string what)
      : m_in(in), m_start(start), m_what(std::move(what)) {}

  Result<std::istream*> rewind() override {
    m_in.clear();
    m_in.seekg(m_start);
    if (!m_in)
      return operational_error("cannot read " + m_what + " again from its start");
    return &m_in;
  }
  bool spooled() const override { return false; }

private:
  std::istream& m_in;
  std::istream::pos_type m_start;
  std::string m_what;
};

// Reads a temporary file through a 64 KiB buffer. A read error throws,
// which the istream reading it turns into badbit.
class FileBuffer final : public std::streambuf {
public:
  explicit FileBuffer(std::FILE* file) : m_file(file) {}
  bool rewind() {
    setg(nullptr, nullptr, nullptr);
    return std::fseek(m_file, 0, SEEK_SET) == 0;
  }

protected:
  int_type underflow() override {
    if (gptr() < egptr())
      return traits_type::to_int_type(*gptr());
    const size_t n = std::fread(m_buffer.data(), 1, m_buffer.size(), m_file);
    if (n == 0) {
      if (std::ferror(m_file))
        throw std::runtime_error(std::strerror(errno));
      return traits_type::eof();
    }
    setg(m_buffer.data(), m_buffer.data(), m_buffer.data() + n);
    return traits_type::to_int_type(*gptr());
  }

private:
  std::FILE* m_file;
  std::array<char, 65536> m_buffer{};
};

class Spooled final : public RereadableInput {
public:
  Spooled(std::FILE* file, std::string what)
      : m_file(file), m_buffer(file), m_stream(&m_buffer), m_what(std::move(what)) {}
  ~Spooled() override { std::fclose(m_file); }
  Spooled(const Spooled&) = delete;
  Spooled& operator=(const Spooled&) = delete;

  Result<std::istream*> rewind() override {
    m_stream.clear();
    if (!m_buffer.rewind())
      return operational_error("cannot read the copy of " + m_what + " again: " + std::strerror(errno));
    return &m_stream;
  }
  bool spooled() const override { return true; }

private:
  std::FILE* m_file;
  FileBuffer m_buffer;
  std::istream m_stream;
  std::string m_what;
};

} // namespace

Result<std::unique_ptr<RereadableInput>> RereadableInput::open(std::istream& in, const std::string& what) {
  if (const auto start = in.tellg(); start != std::istream::pos_type(-1))
    return std::unique_ptr<RereadableInput>(std::make_unique<Seekable>(in, start, what));
  in.clear(); // a failed tellg sets failbit
  std::FILE* file = std::tmpfile();
  if (!file)
    return operational_error("cannot create a temporary file to hold " + what + ": " + std::strerror(errno) +
                             "; check the temporary directory (/tmp)");
  auto spool = std::make_unique<Spooled>(file, what);
  std::array<char, 65536> buffer;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n > 0 && std::fwrite(buffer.data(), 1, n, file) != n)
      return operational_error("cannot copy " + what + " to a temporary file: " + std::strerror(errno) +
                               "; check the space in the temporary directory (/tmp)");
  }
  if (in.bad())
    return operational_error("reading " + what + " failed");
  if (std::fflush(file) != 0)
    return operational_error("cannot copy " + what + " to a temporary file: " + std::strerror(errno) +
                             "; check the space in the temporary directory (/tmp)");
  return std::unique_ptr<RereadableInput>(std::move(spool));
}

} // namespace kanari
