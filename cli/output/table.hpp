// Human output for people at a terminal: aligned tables and colour.
//
// Colour follows the conventions operators expect (ls, git, ripgrep): only
// when the stream is a terminal, never when NO_COLOR is set to a non-empty
// value (no-color.org), never when TERM is `dumb`. The decision is a pure
// function of those three facts; cli::Context looks them up and passes
// them in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanari {

bool colour_enabled(bool is_terminal, const std::optional<std::string>& no_color,
                    const std::optional<std::string>& term);

// SGR styles used by kanari's human output.
namespace style {
inline constexpr const char* bold = "1";
inline constexpr const char* dim = "2";
inline constexpr const char* red = "31";
inline constexpr const char* green = "32";
inline constexpr const char* yellow = "33";
inline constexpr const char* blue = "34";
inline constexpr const char* bold_red = "1;31";
} // namespace style

// `text` wrapped in the SGR escape `sgr` (e.g. "1;31") when `colour`, else
// `text` unchanged. An empty `sgr` never adds escapes.
std::string paint(std::string_view text, std::string_view sgr, bool colour);

// The number of terminal columns UTF-8 text takes: combining marks take
// none, East Asian wide and fullwidth characters and emoji two, everything
// else one. Invalid bytes count one each.
std::size_t display_width(std::string_view text);

// A table whose columns are as wide as their widest cell, separated by two
// spaces, with a header row; the last column is not padded, so no line ends
// in spaces. Styles colour cells without changing the alignment.
class Table {
public:
  enum class Align { left, right };
  struct Column {
    std::string header;
    Align align = Align::left;
  };
  struct Cell {
    std::string text;
    std::string style; // SGR, empty for none
    Cell(std::string t) : text(std::move(t)) {}
    Cell(const char* t) : text(t) {}
    Cell(std::string t, std::string s) : text(std::move(t)), style(std::move(s)) {}
  };

  explicit Table(std::vector<Column> columns);
  // Rows shorter than the header are padded with empty cells.
  void add_row(std::vector<Cell> cells);
  bool empty() const { return m_rows.empty(); }
  // The header (bold when `colour`) and the rows, each line ending in "\n".
  std::string render(bool colour, std::string_view indent = "") const;

private:
  std::vector<Column> m_columns;
  std::vector<std::vector<Cell>> m_rows;
};

} // namespace kanari
