// Time is passed in, never read from the library's own globals, so that the
// lifecycle (step timing, deadlines) is testable without sleeping.
#pragma once

#include <cstdint>

namespace kanari {

// Milliseconds since the Unix epoch, UTC.
using TimeMs = std::int64_t;

class Clock {
public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
};

class SystemClock final : public Clock {
public:
  TimeMs now_ms() const override;
};

class FakeClock final : public Clock {
public:
  explicit FakeClock(TimeMs start) : m_now(start) {}
  TimeMs now_ms() const override { return m_now; }
  void set(TimeMs t) { m_now = t; }
  void advance_ms(TimeMs d) { m_now += d; }

private:
  TimeMs m_now;
};

} // namespace kanari
