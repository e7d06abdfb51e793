#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "support.hpp"

#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  // On PostgreSQL (KANARI_TEST_STORE=postgresql) a server must answer; one
  // that does not skips the test (exit 77), except under CI, where the
  // scripts started one and its absence is a failure.
  if (kanari::test::on_postgresql() && !context.shouldExit()) {
    try {
      kanari::test::run_postgresql(kanari::test::postgresql_base_uri(), "SELECT 1");
    } catch (const std::exception& e) {
      const char* ci = std::getenv("CI");
      std::cerr << "no PostgreSQL server for the tests (" << e.what()
                << "); run them through scripts/test.sh, which starts one\n";
      return ci && *ci ? 1 : 77;
    }
  }
  return context.run();
}
