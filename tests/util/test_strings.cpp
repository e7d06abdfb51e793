#include "util/strings.hpp"

#include <doctest/doctest.h>

using namespace kanari;

TEST_CASE("strings: split keeps empty fields") {
  CHECK(split("a,b,c", ',') == std::vector<std::string>{"a", "b", "c"});
  CHECK(split("", ',') == std::vector<std::string>{""});
  CHECK(split(",a,", ',') == std::vector<std::string>{"", "a", ""});
  CHECK(split("a//b", '/') == std::vector<std::string>{"a", "", "b"});
}

TEST_CASE("strings: is_valid_utf8 accepts well-formed text") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ascii"));
  CHECK(is_valid_utf8("été 中文 🚀"));
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF
  CHECK(is_valid_utf8("\xEF\xBF\xBF"));     // U+FFFF
  CHECK(is_valid_utf8(std::string("a\0b", 3)));
}

TEST_CASE("strings: is_valid_utf8 rejects malformed sequences") {
  for (const char* bad : {"\x80", "\xC3", "\xC3\x28", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                          "\xF5\x80\x80\x80", "\xFF", "\xF0\x9F\x98", "ok\xE2\x82"}) {
    INFO(quote_for_message(bad));
    CHECK_FALSE(is_valid_utf8(bad));
  }
}

TEST_CASE("strings: is_lower_hex") {
  CHECK(is_lower_hex("0123456789abcdef"));
  CHECK(is_lower_hex(""));
  CHECK_FALSE(is_lower_hex("ABCDEF"));
  CHECK_FALSE(is_lower_hex("abcg"));
}

TEST_CASE("strings: quote_for_message escapes controls quotes and backslashes") {
  CHECK(quote_for_message("abc") == "'abc'");
  CHECK(quote_for_message("a\nb\tc") == "'a\\x0ab\\x09c'");
  CHECK(quote_for_message("it's") == "'it\\x27s'");
  CHECK(quote_for_message("a\\b") == "'a\\x5cb'");
  CHECK(quote_for_message("del\x7f") == "'del\\x7f'");
  CHECK(quote_for_message("été") == "'été'");
}

TEST_CASE("strings: quote_for_message cuts long values") {
  CHECK(quote_for_message(std::string(100, 'x'), 10) == "'xxxxxxxxxx...'");
  CHECK(quote_for_message(std::string(10, 'x'), 10) == "'xxxxxxxxxx'");
}

TEST_CASE("strings: quote_for_message output is valid UTF-8 for invalid input") {
  // The message goes to a terminal or a log: invalid bytes are escaped, and
  // a cut never splits a multi-byte character.
  std::string q = quote_for_message("x\xffy\xc3");
  CHECK(is_valid_utf8(q));
  CHECK(q == "'x\\xffy\\xc3 (not valid UTF-8)'");
  std::string cut = quote_for_message("ééééé", 3); // 'é' is 2 bytes: a cut at 3 must not split one
  CHECK(is_valid_utf8(cut));
  CHECK(cut.find("...") != std::string::npos);
}

TEST_CASE("strings: escape_invalid_utf8 keeps valid text and escapes only bad bytes") {
  CHECK(escape_invalid_utf8("été 🚀") == "été 🚀");
  CHECK(escape_invalid_utf8("a\xff"
                            "b") == "a\\xffb");
  CHECK(escape_invalid_utf8("\xed\xa0\x80") == "\\xed\\xa0\\x80");
  CHECK(escape_invalid_utf8("\xc3") == "\\xc3");
  CHECK(is_valid_utf8(escape_invalid_utf8("\xf0\x9f\x98 \xc0\xaf")));
}
