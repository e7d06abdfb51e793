// Tables and colour for human output: alignment by display width, styles
// that do not move columns, and the NO_COLOR / TERM=dumb / terminal rule.
#include "output/table.hpp"

#include <doctest/doctest.h>

using namespace kanari;

TEST_CASE("table: colour only on a terminal, never with NO_COLOR or TERM=dumb") {
  const std::optional<std::string> none;
  CHECK(colour_enabled(true, none, none));
  CHECK(colour_enabled(true, none, std::string("xterm-256color")));
  CHECK_FALSE(colour_enabled(false, none, std::string("xterm-256color")));
  CHECK_FALSE(colour_enabled(true, std::string("1"), none));
  CHECK_FALSE(colour_enabled(true, std::string("0"), none)); // any non-empty value
  CHECK(colour_enabled(true, std::string(""), none));        // empty means unset (no-color.org)
  CHECK_FALSE(colour_enabled(true, none, std::string("dumb")));
}

TEST_CASE("table: paint wraps in SGR escapes only when asked") {
  CHECK(paint("ok", style::green, true) == "\033[32mok\033[0m");
  CHECK(paint("ok", style::green, false) == "ok");
  CHECK(paint("ok", "", true) == "ok");
  CHECK(paint("", style::red, true) == "");
}

TEST_CASE("table: display width counts columns, not bytes") {
  CHECK(display_width("") == 0);
  CHECK(display_width("abc") == 3);
  CHECK(display_width("été") == 3);              // two-byte letters
  CHECK(display_width("e\xCC\x81") == 1);        // e + combining acute
  CHECK(display_width("中文") == 4);             // wide
  CHECK(display_width("\xF0\x9F\x9A\x80") == 2); // rocket emoji
  CHECK(display_width("\xFF"
                      "a") == 2); // an invalid byte counts one
}

TEST_CASE("table: columns align on the widest cell, right-aligned numbers, no trailing spaces") {
  Table t({{"NAME"}, {"N", Table::Align::right}, {"NOTE"}});
  t.add_row({"stable", "7", "first"});
  t.add_row({"canary", "1234", ""});
  t.add_row({"été", "5"});
  CHECK(t.render(false) == "NAME       N  NOTE\n"
                           "stable     7  first\n"
                           "canary  1234\n"
                           "été        5\n");
  CHECK(t.render(false, "  ").rfind("  NAME", 0) == 0);
}

TEST_CASE("table: styled cells keep the columns aligned") {
  Table t({{"ROLE"}, {"ID"}});
  t.add_row({{"stable", style::green}, "abc"});
  t.add_row({"-", "def"});
  const std::string plain = t.render(false);
  const std::string coloured = t.render(true);
  CHECK(plain == "ROLE    ID\nstable  abc\n-       def\n");
  CHECK(coloured == "\033[1mROLE\033[0m    \033[1mID\033[0m\n\033[32mstable\033[0m  abc\n-       def\n");
  // Without escapes the coloured text is the plain text.
  std::string stripped;
  for (std::size_t i = 0; i < coloured.size(); ++i) {
    if (coloured[i] == '\033') {
      i = coloured.find('m', i);
      continue;
    }
    stripped += coloured[i];
  }
  CHECK(stripped == plain);
}
