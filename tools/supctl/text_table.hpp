// Column-aligned text tables that fit a terminal width.
//
// Columns take the width of their widest cell. When the table must fit a
// width, the shrinkable columns give way first (the widest first, never
// below their minimum; their cells end with "…"), then optional columns are
// left out (the highest drop rank first); only then are lines cut. Cells
// are sanitized.
//
//   TextTable table({{"ID"}, {"PID", Align::Right, 0, false, 1}, {"NOTE", Align::Left, 8, true}});
//   table.add_row({"crasher", "3"});
//   for (const std::string& line : table.render(80)) std::cout << line << "\n";
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace sup::cli {

enum class Align : unsigned char { Left, Right };

struct Column {
  std::string header;
  Align align = Align::Left;
  std::size_t min_width = 0;  // shrinkable columns stop giving way here
  bool shrinkable = false;
  // 0: always shown; otherwise left out when the table cannot fit, the
  // highest rank first.
  int drop_rank = 0;
};

class TextTable {
 public:
  explicit TextTable(std::vector<Column> columns, std::size_t gap = 2);

  // Missing cells are empty; extra cells are ignored.
  void add_row(std::vector<std::string> cells);
  std::size_t row_count() const { return rows_.size(); }

  // The header line, then one line per row; no trailing spaces. With
  // `max_width`, every line is at most that many columns wide.
  std::vector<std::string> render(std::optional<std::size_t> max_width = std::nullopt) const;

 private:
  // Widths of the shown columns (0 for a left-out one) and whether they fit.
  std::vector<std::size_t> column_widths(std::optional<std::size_t> max_width,
                                         const std::vector<bool>& shown, bool& fits) const;
  std::string render_line(const std::vector<std::string>& cells,
                          const std::vector<std::size_t>& widths, const std::vector<bool>& shown,
                          std::optional<std::size_t> max_width) const;

  std::vector<Column> columns_;
  std::size_t gap_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sup::cli
