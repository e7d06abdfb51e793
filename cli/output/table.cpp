#include "output/table.hpp"

#include <algorithm>

namespace kanari {

bool colour_enabled(bool is_terminal, const std::optional<std::string>& no_color,
                    const std::optional<std::string>& term) {
  if (no_color && !no_color->empty())
    return false;
  if (term && *term == "dumb")
    return false;
  return is_terminal;
}

std::string paint(std::string_view text, std::string_view sgr, bool colour) {
  if (!colour || sgr.empty() || text.empty())
    return std::string(text);
  std::string out;
  out.reserve(text.size() + sgr.size() + 8);
  out += "\033[";
  out += sgr;
  out += 'm';
  out += text;
  out += "\033[0m";
  return out;
}

namespace {

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i,
// or returns nullopt (and advances one byte) for an invalid byte.
std::optional<char32_t> next_code_point(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  int len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<std::size_t>(len) > s.size()) {
    ++i;
    return std::nullopt;
  }
  char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((b >> 6) != 0x2) {
      ++i;
      return std::nullopt;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  i += static_cast<std::size_t>(len);
  return cp;
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

int code_point_width(char32_t c) {
  if (c == 0x200B || in(c, 0x0300, 0x036F) || in(c, 0x1AB0, 0x1AFF) || in(c, 0x1DC0, 0x1DFF) || in(c, 0x20D0, 0x20FF) ||
      in(c, 0xFE00, 0xFE0F) || in(c, 0xFE20, 0xFE2F))
    return 0;
  if (in(c, 0x1100, 0x115F) || in(c, 0x2E80, 0x303E) || in(c, 0x3041, 0x33FF) || in(c, 0x3400, 0x4DBF) ||
      in(c, 0x4E00, 0x9FFF) || in(c, 0xA000, 0xA4CF) || in(c, 0xAC00, 0xD7A3) || in(c, 0xF900, 0xFAFF) ||
      in(c, 0xFE30, 0xFE4F) || in(c, 0xFF00, 0xFF60) || in(c, 0xFFE0, 0xFFE6) || in(c, 0x1F300, 0x1F64F) ||
      in(c, 0x1F680, 0x1F6FF) || in(c, 0x1F900, 0x1F9FF) || in(c, 0x20000, 0x3FFFD))
    return 2;
  return 1;
}

} // namespace

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size();) {
    auto cp = next_code_point(text, i);
    width += static_cast<std::size_t>(cp ? code_point_width(*cp) : 1);
  }
  return width;
}

Table::Table(std::vector<Column> columns) : m_columns(std::move(columns)) {}

void Table::add_row(std::vector<Cell> cells) {
  cells.resize(std::max(cells.size(), m_columns.size()), Cell(""));
  m_rows.push_back(std::move(cells));
}

std::string Table::render(bool colour, std::string_view indent) const {
  const std::size_t ncols = m_columns.size();
  std::vector<std::size_t> widths(ncols, 0);
  for (std::size_t c = 0; c < ncols; ++c) {
    widths[c] = display_width(m_columns[c].header);
    for (const auto& row : m_rows)
      widths[c] = std::max(widths[c], display_width(row[c].text));
  }
  std::string out;
  auto line = [&](const std::vector<Cell>& cells, bool header) {
    std::string text(indent);
    for (std::size_t c = 0; c < ncols; ++c) {
      const auto& cell = cells[c];
      const std::size_t pad = widths[c] - display_width(cell.text);
      const bool last = c + 1 == ncols;
      const bool right = m_columns[c].align == Align::right;
      if (right)
        text.append(pad, ' ');
      text += paint(cell.text, header ? std::string_view(style::bold) : std::string_view(cell.style), colour);
      if (!right && !last)
        text.append(pad, ' ');
      if (!last)
        text += "  ";
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out += text;
    out += '\n';
  };
  std::vector<Cell> header;
  for (const auto& col : m_columns)
    header.emplace_back(col.header);
  line(header, true);
  for (const auto& row : m_rows)
    line(row, false);
  return out;
}

} // namespace kanari
