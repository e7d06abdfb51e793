#include "output/progress.hpp"

#include <algorithm>
#include <cstdio>

namespace kanari {

namespace {

std::string size_text(std::int64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes < 1024)
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else if (bytes < 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  else if (bytes < std::int64_t{1024} * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024 * 1024));
  else
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / (1024.0 * 1024 * 1024));
  return buf;
}

} // namespace

ProgressBar::ProgressBar(std::ostream& out, const Clock& clock, Options options)
    : m_out(out), m_clock(clock), m_opt(std::move(options)), m_start(clock.now_ms()) {}

std::string ProgressBar::frame(std::int64_t done, std::int64_t count) const {
  std::string text = "kanari: " + m_opt.label;
  auto amount = [&](std::int64_t v) { return m_opt.bytes ? size_text(v) : std::to_string(v); };
  if (m_opt.total > 0) {
    const std::int64_t d = std::clamp<std::int64_t>(done, 0, m_opt.total);
    const double frac = static_cast<double>(d) / static_cast<double>(m_opt.total);
    const int filled = static_cast<int>(frac * m_opt.width);
    text += " [" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(m_opt.width - filled), '.') + "] ";
    char pct[16];
    std::snprintf(pct, sizeof pct, "%3d %%", static_cast<int>(frac * 100));
    text += pct;
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false
    // positive) about `"literal" + std::string` here.
    text += "  ";
    text += amount(d);
    text += '/';
    text += amount(m_opt.total);
    if (!m_opt.bytes && !m_opt.unit.empty())
      text += " " + m_opt.unit;
  } else {
    text += ' ';
    text += amount(done);
    if (!m_opt.bytes && !m_opt.unit.empty())
      text += " " + m_opt.unit;
  }
  if (count >= 0)
    text += ", " + std::to_string(count) + (m_opt.bytes && !m_opt.unit.empty() ? " " + m_opt.unit : "");
  return text;
}

void ProgressBar::draw(std::int64_t done, std::int64_t count) {
  // \r back to the line's start, the frame, then erase what a longer frame
  // left behind.
  m_out << '\r' << frame(done, count) << "\033[K" << std::flush;
  m_drew = true;
}

void ProgressBar::update(std::int64_t done, std::int64_t count) {
  m_done = done;
  const TimeMs now = m_clock.now_ms();
  if (now - m_start < m_opt.delay_ms)
    return;
  if (m_drew && now - m_last < m_opt.interval_ms)
    return;
  m_last = now;
  draw(done, count);
}

void ProgressBar::finish(std::int64_t count) {
  if (!m_drew)
    return;
  draw(m_opt.total > 0 ? m_opt.total : m_done, count);
  m_out << '\n' << std::flush;
}

} // namespace kanari
