// A progress bar for long imports and simulations, drawn on a terminal's
// stderr. The CLI decides whether to show one at all (a terminal, no --quiet,
// no --json); this class decides when to draw: not before `delay_ms` have
// passed, so quick runs print nothing, then at most every `interval_ms`, and
// a final full bar and newline from finish() if it ever drew. Time comes
// from the Clock handed in, so tests drive it with a fake one.
#pragma once

#include "util/clock.hpp"

#include <cstdint>
#include <ostream>
#include <string>

namespace kanari {

class ProgressBar {
public:
  // total 0 means unknown: a counter instead of a bar. `unit` names what is
  // counted ("lines", "trials"); with `bytes` the bar shows sizes instead.
  struct Options {
    std::string label;
    std::int64_t total = 0;
    std::string unit;
    bool bytes = false;
    TimeMs delay_ms = 500;
    TimeMs interval_ms = 100;
    int width = 30;
  };

  ProgressBar(std::ostream& out, const Clock& clock, Options options);
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // `done` units out of total so far; `count` (e.g. lines when the bar
  // measures bytes) is shown beside the bar when given.
  void update(std::int64_t done, std::int64_t count = -1);
  // Draws the final state (done = total when total is known) and ends the
  // line, if anything was drawn.
  void finish(std::int64_t count = -1);
  bool drew() const { return m_drew; }

  // The text of one frame, without the leading "\r" (for tests).
  std::string frame(std::int64_t done, std::int64_t count) const;

private:
  void draw(std::int64_t done, std::int64_t count);

  std::ostream& m_out;
  const Clock& m_clock;
  Options m_opt;
  TimeMs m_start;
  TimeMs m_last = 0;
  std::int64_t m_done = 0;
  bool m_drew = false;
};

} // namespace kanari
