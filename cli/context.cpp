#include "context.hpp"

#include "core/canonical_json.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <chrono>
#include <sstream>
#include <sys/stat.h>
#include <thread>

namespace kanari::cli {

std::string Context::state_dir() const {
  if (!g.state.empty())
    return g.state;
  if (auto s = io.getenv("KANARI_STATE"); s && !s->empty())
    return *s;
  return ".kanari";
}

const Clock& Context::clock() const { return io.clock ? *io.clock : m_system_clock; }

void Context::sleep_ms(TimeMs ms) const {
  if (io.sleep)
    io.sleep(ms);
  else
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

Result<rollout::Context*> Context::lib() {
  if (!m_lib) {
    KANARI_TRY(rollout::validate_track_name(g.track));
    auto s = store::open(state_dir(), store::OpenMode::existing);
    KANARI_TRY(s);
    m_store = std::move(*s);
    m_lib = std::make_unique<rollout::Context>(rollout::Context{*m_store, clock(), g.actor});
  }
  return m_lib.get();
}

void Context::print_json(const nlohmann::json& j) const {
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

namespace {
struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
};
} // namespace

std::ostream& Context::human() const {
  static NullBuffer null_buffer;
  static std::ostream null_stream(&null_buffer);
  return g.quiet || g.json ? null_stream : out;
}

bool Context::colour() const {
  return !g.json && colour_enabled(io.out_is_terminal, io.getenv("NO_COLOR"), io.getenv("TERM"));
}

std::unique_ptr<ProgressBar> Context::progress(ProgressBar::Options options) const {
  if (!io.err_is_terminal || g.quiet || g.json)
    return nullptr;
  return std::make_unique<ProgressBar>(err, clock(), std::move(options));
}

Result<std::string> read_input(Context& ctx, const std::string& path, const std::string& what) {
  if (path == "-") {
    std::ostringstream ss;
    ss << ctx.in.rdbuf();
    return ss.str();
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return usage_error(what + " '" + path + "' cannot be read: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return usage_error(what + " '" + path + "' is a directory; give a file");
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return operational_error(what + " '" + path + "' cannot be opened: " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad())
    return operational_error(what + " '" + path + "' could not be read completely");
  return ss.str();
}

Result<nlohmann::json> read_json_object(Context& ctx, const std::string& path, const std::string& flag,
                                        const std::string& what, const std::string& example) {
  auto text = read_input(ctx, path, flag);
  KANARI_TRY(text);
  auto parsed = core::parse_json(*text, what);
  KANARI_TRY(parsed);
  if (!parsed->is_object())
    return usage_error(what + " must hold a JSON object, e.g. " + example);
  return std::move(*parsed);
}

} // namespace kanari::cli
