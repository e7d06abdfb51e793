// Line diff by longest common subsequence (dynamic programming). Prompts are
// small; inputs past k_max_cells fall back to "replace everything", which is
// still a correct diff, only not a minimal one.
#include "util/text_diff.hpp"

#include <algorithm>
#include <vector>

namespace kanari {

namespace {

constexpr size_t k_max_cells = 16'000'000;

struct Line {
  std::string_view text;
  bool newline; // ends with '\n'
};

std::vector<Line> lines_of(std::string_view s) {
  std::vector<Line> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) {
      out.push_back({s.substr(start), false});
      break;
    }
    out.push_back({s.substr(start, nl - start), true});
    start = nl + 1;
  }
  return out;
}

bool same(const Line& x, const Line& y) { return x.text == y.text && x.newline == y.newline; }

struct Op {
  char kind;   // ' ', '-', '+'
  size_t a, b; // line indexes (a for ' ' and '-', b for '+')
};

std::vector<Op> edit_script(const std::vector<Line>& a, const std::vector<Line>& b) {
  const size_t n = a.size(), m = b.size();
  std::vector<Op> ops;
  if ((n + 1) * (m + 1) > k_max_cells) {
    for (size_t i = 0; i < n; ++i)
      ops.push_back({'-', i, 0});
    for (size_t j = 0; j < m; ++j)
      ops.push_back({'+', n, j});
    return ops;
  }
  std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      at(i, j) = same(a[i], b[j]) ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(a[i], b[j])) {
      ops.push_back({' ', i++, j++});
    } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
      // On a tie delete first, so a changed line reads `-old` then `+new`
      // as diff -u prints it.
      ops.push_back({'-', i++, j});
    } else {
      ops.push_back({'+', i, j++});
    }
  }
  return ops;
}

} // namespace

std::string unified_diff(std::string_view a_text, std::string_view b_text, std::string_view a_name,
                         std::string_view b_name, int context) {
  auto a = lines_of(a_text), b = lines_of(b_text);
  auto ops = edit_script(a, b);
  std::string out;
  const size_t ctx = static_cast<size_t>(context);
  size_t k = 0;
  while (k < ops.size()) {
    // Find the next change.
    size_t first = k;
    while (first < ops.size() && ops[first].kind == ' ')
      ++first;
    if (first == ops.size())
      break;
    size_t start = first >= ctx ? first - ctx : 0;
    start = std::max(start, k);
    // Extend the hunk while changes are within 2*ctx of each other.
    size_t end = first;
    size_t last_change = first;
    while (end < ops.size()) {
      if (ops[end].kind != ' ')
        last_change = end;
      else if (end - last_change > 2 * ctx)
        break;
      ++end;
    }
    end = std::min(ops.size(), last_change + ctx + 1);
    size_t a_start = 0, a_len = 0, b_start = 0, b_len = 0;
    bool a_set = false, b_set = false;
    for (size_t x = start; x < end; ++x) {
      const Op& op = ops[x];
      if (op.kind != '+') {
        if (!a_set) {
          a_start = op.a;
          a_set = true;
        }
        ++a_len;
      }
      if (op.kind != '-') {
        if (!b_set) {
          b_start = op.b;
          b_set = true;
        }
        ++b_len;
      }
    }
    if (!a_set)
      a_start = ops[start].a;
    if (!b_set)
      b_start = ops[start].b;
    if (out.empty()) {
      out += "--- " + std::string(a_name) + "\n";
      out += "+++ " + std::string(b_name) + "\n";
    }
    auto range = [](size_t s, size_t len) {
      // diff -u prints the line before an empty range.
      return std::to_string(len == 0 ? s : s + 1) + (len == 1 ? "" : "," + std::to_string(len));
    };
    out += "@@ -" + range(a_start, a_len) + " +" + range(b_start, b_len) + " @@\n";
    for (size_t x = start; x < end; ++x) {
      const Op& op = ops[x];
      const Line& line = op.kind == '+' ? b[op.b] : a[op.a];
      out += op.kind;
      out += line.text;
      out += '\n';
      if (!line.newline)
        out += "\\ No newline at end of file\n";
    }
    k = end;
  }
  return out;
}

} // namespace kanari
