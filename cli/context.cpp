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

notify::Settings Context::notify_settings(bool after_commit) const {
  return {[this](const std::string& name) { return io.getenv(name); }, store::display_location(state_dir()),
          KANARI_VERSION, after_commit ? notify::k_after_commit_timeout : notify::k_attempt_timeout,
          after_commit ? notify::k_after_commit_timeout : notify::k_deliver_budget};
}

void Context::deliver_notifications() {
  // Once per batch of commits: `canary wait --apply` delivers after each
  // evaluation that acted, and cli::run once more at the end.
  if (delivered || !m_lib || (m_store->commits() == m_commits_delivered && !deliver_always))
    return;
  m_commits_delivered = m_store->commits();
  deliver_always = false;
  // A delivery that cannot even be tried (a read-only store, a lock held
  // too long) stays pending for the next command.
  Result<std::vector<notify::Attempted>> run = std::vector<notify::Attempted>{};
  try {
    run = notify::deliver_due(*m_lib, notify_settings(/*after_commit=*/true));
  } catch (const std::exception& e) {
    run = operational_error(e.what());
  }
  if (!run.ok()) {
    if (!g.quiet)
      err << "kanari: warning: notifications not attempted: " << run.error().message << "\n";
    return;
  }
  for (const auto& a : *run) {
    if (a.result.ok)
      continue;
    const std::string what = "hook '" + a.delivery.hook + "' (event " + std::to_string(a.event.seq) + ", " +
                             a.event.action + " on track '" + a.event.track + "'): " + a.result.detail;
    if (a.delivery.state == store::DeliveryState::failed)
      err << "kanari: error: " << what << "; given up after " << a.delivery.attempts
          << " attempts over 24 h (`kanari hook log`)\n";
    else if (!g.quiet)
      err << "kanari: warning: " << what << "; will retry (`kanari hook deliver` tries now)\n";
  }
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
