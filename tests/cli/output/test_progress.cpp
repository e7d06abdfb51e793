// The progress bar draws nothing for quick work, then at most every
// interval, and ends with a full bar and a newline.
#include "output/progress.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace kanari;

TEST_CASE("progress: nothing is drawn before the delay, and finish then draws nothing") {
  FakeClock clock(1000);
  std::ostringstream out;
  ProgressBar bar(out, clock, {"importing", 100, "lines"});
  clock.advance_ms(499);
  bar.update(50);
  bar.finish();
  CHECK_FALSE(bar.drew());
  CHECK(out.str().empty());
}

TEST_CASE("progress: after the delay it draws, throttled, and finishes at 100 %") {
  FakeClock clock(0);
  std::ostringstream out;
  ProgressBar bar(out, clock, {"simulating", 200, "trials", false, 500, 100, 10});
  clock.advance_ms(600);
  bar.update(50);
  CHECK(out.str() == "\rkanari: simulating [##........]  25 %  50/200 trials\033[K");
  clock.advance_ms(50); // inside the interval: no frame
  bar.update(60);
  CHECK(out.str().find("60/200") == std::string::npos);
  clock.advance_ms(100);
  bar.update(100);
  CHECK(out.str().find("\rkanari: simulating [#####.....]  50 %  100/200 trials\033[K") != std::string::npos);
  bar.finish();
  CHECK(out.str().find("[##########] 100 %  200/200 trials\033[K\n") != std::string::npos);
  CHECK(out.str().back() == '\n');
}

TEST_CASE("progress: bytes and an unknown total") {
  FakeClock clock(0);
  std::ostringstream sink;
  ProgressBar bytes(sink, clock, {"importing", 3 * 1024 * 1024, "lines", true, 0, 0, 4});
  CHECK(bytes.frame(1536 * 1024, 70000) == "kanari: importing [##..]  50 %  1.5 MiB/3.0 MiB, 70000 lines");
  std::ostringstream out;
  ProgressBar counter(out, clock, {"importing", 0, "lines", false, 0, 0});
  counter.update(131072);
  counter.finish();
  CHECK(out.str() == "\rkanari: importing 131072 lines\033[K\rkanari: importing 131072 lines\033[K\n");
}
