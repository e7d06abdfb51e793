#include "util/rereadable_input.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace kanari;

namespace {

// A stream that cannot seek, as a pipe, handing out a few bytes at a time;
// with `fail_after`, reading past that many bytes is an I/O error.
class PipeBuffer final : public std::streambuf {
public:
  explicit PipeBuffer(std::string data, size_t fail_after = std::string::npos)
      : m_data(std::move(data)), m_fail_after(fail_after) {}

protected:
  int_type underflow() override {
    if (m_pos >= m_fail_after)
      throw std::runtime_error("Input/output error");
    if (m_pos >= m_data.size())
      return traits_type::eof();
    const size_t n = std::min<size_t>(4093, m_data.size() - m_pos);
    m_chunk.assign(m_data, m_pos, n);
    m_pos += n;
    setg(m_chunk.data(), m_chunk.data(), m_chunk.data() + n);
    return traits_type::to_int_type(m_chunk[0]);
  }

private:
  std::string m_data, m_chunk;
  size_t m_pos = 0;
  size_t m_fail_after;
};

std::string read_all(RereadableInput& input) {
  auto in = input.rewind();
  REQUIRE(in.ok());
  std::ostringstream out;
  std::string line;
  while (std::getline(**in, line))
    out << line << "\n";
  CHECK_FALSE((*in)->bad());
  return out.str();
}

std::string lines(int n) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += "line " + std::to_string(i) + " of a pipe, long enough to span several buffers\n";
  return text;
}

} // namespace

TEST_CASE("rereadable input: a seekable stream is read again from where it was handed over") {
  std::istringstream in("header\nfirst\nsecond\n");
  std::string header;
  std::getline(in, header);
  auto input = RereadableInput::open(in, "the input");
  REQUIRE(input.ok());
  CHECK_FALSE((*input)->spooled());
  CHECK(read_all(**input) == "first\nsecond\n");
  CHECK(read_all(**input) == "first\nsecond\n");
}

TEST_CASE("rereadable input: a pipe is copied to a temporary file and read again whole") {
  const std::string text = lines(20000); // about 1.3 MB, many times the buffers
  PipeBuffer pipe(text);
  std::istream in(&pipe);
  auto input = RereadableInput::open(in, "the input");
  REQUIRE(input.ok());
  CHECK((*input)->spooled());
  CHECK(read_all(**input) == text);
  CHECK(read_all(**input) == text);
}

TEST_CASE("rereadable input: a pipe that fails while it is copied is an operational error") {
  PipeBuffer pipe(lines(100), 1000);
  std::istream in(&pipe);
  auto input = RereadableInput::open(in, "the JSONL input");
  REQUIRE_FALSE(input.ok());
  CHECK(input.error().code == ErrorCode::operational);
  CHECK(input.error().message == "reading the JSONL input failed");
}
