// unified_diff prints what `diff -u` prints. The expected texts below were
// produced by GNU diff 3 (`diff -u --label a/x --label b/x A B`).
#include "util/text_diff.hpp"

#include <doctest/doctest.h>

using kanari::unified_diff;

TEST_CASE("text diff: equal texts give an empty diff") {
  CHECK(unified_diff("", "", "a", "b").empty());
  CHECK(unified_diff("x\ny\n", "x\ny\n", "a", "b").empty());
}

TEST_CASE("text diff: one changed line prints the old line before the new one") {
  CHECK(unified_diff("line1\nline2\nline3\nline4\nline5\n", "line1\nline2\nLINE3\nline4\nline5\n", "a/x", "b/x") ==
        "--- a/x\n+++ b/x\n@@ -1,5 +1,5 @@\n line1\n line2\n-line3\n+LINE3\n line4\n line5\n");
}

TEST_CASE("text diff: three lines of context and separate hunks for distant changes") {
  std::string a, b;
  for (int i = 1; i <= 20; ++i) {
    a += "l" + std::to_string(i) + "\n";
    b += (i == 2 ? "L2" : i == 18 ? "L18" : "l" + std::to_string(i)) + std::string("\n");
  }
  CHECK(unified_diff(a, b, "a/x", "b/x") == "--- a/x\n+++ b/x\n"
                                            "@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n"
                                            "@@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+L18\n l19\n l20\n");
}

TEST_CASE("text diff: changes six lines apart share one hunk") {
  std::string a = "1\n2\n3\n4\n5\n6\n7\n8\n", b = "X\n2\n3\n4\n5\n6\n7\nY\n";
  CHECK(unified_diff(a, b, "a/x", "b/x") ==
        "--- a/x\n+++ b/x\n@@ -1,8 +1,8 @@\n-1\n+X\n 2\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n");
}

TEST_CASE("text diff: pure insertion and deletion ranges") {
  CHECK(unified_diff("", "new\n", "a/x", "b/x") == "--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+new\n");
  CHECK(unified_diff("old\n", "", "a/x", "b/x") == "--- a/x\n+++ b/x\n@@ -1 +0,0 @@\n-old\n");
  CHECK(unified_diff("a\nb\n", "a\nx\nb\n", "a/x", "b/x") == "--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n a\n+x\n b\n");
}

TEST_CASE("text diff: a missing final newline is marked") {
  CHECK(unified_diff("a\nb", "a\nb\n", "a/x", "b/x") ==
        "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
}

TEST_CASE("text diff: CRLF lines differ from LF lines") {
  CHECK(unified_diff("a\r\nb\n", "a\nb\n", "a/x", "b/x") == "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\r\n+a\n b\n");
}
