#include "supctl/text_table.hpp"

#include <algorithm>
#include <numeric>

#include "supctl/text_format.hpp"

namespace sup::cli {

TextTable::TextTable(std::vector<Column> columns, std::size_t gap)
    : columns_(std::move(columns)), gap_(gap) {}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  for (std::string& cell : cells) cell = sanitize(cell);
  rows_.push_back(std::move(cells));
}

std::vector<std::size_t> TextTable::column_widths(std::optional<std::size_t> max_width) const {
  std::vector<std::size_t> widths;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    std::size_t width = display_width(columns_[c].header);
    for (const auto& row : rows_) width = std::max(width, display_width(row[c]));
    widths.push_back(width);
  }
  if (!max_width || widths.empty()) return widths;

  const std::size_t gaps = gap_ * (widths.size() - 1);
  std::size_t total = std::accumulate(widths.begin(), widths.end(), gaps);
  // One column at a time, the widest shrinkable one gives up a column.
  while (total > *max_width) {
    std::size_t widest = columns_.size();
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (!columns_[c].shrinkable || widths[c] <= columns_[c].min_width) continue;
      if (widest == columns_.size() || widths[c] > widths[widest]) widest = c;
    }
    if (widest == columns_.size()) break;  // nothing left to give: lines get cut
    --widths[widest];
    --total;
  }
  return widths;
}

std::string TextTable::render_line(const std::vector<std::string>& cells,
                                   const std::vector<std::size_t>& widths,
                                   std::optional<std::size_t> max_width) const {
  std::string line;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (c > 0) line.append(gap_, ' ');
    line += columns_[c].align == Align::Right ? pad_left(cells[c], widths[c])
                                              : pad_right(cells[c], widths[c]);
  }
  line.erase(line.find_last_not_of(' ') + 1);
  return max_width ? fit(line, *max_width) : line;
}

std::vector<std::string> TextTable::render(std::optional<std::size_t> max_width) const {
  const std::vector<std::size_t> widths = column_widths(max_width);
  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  std::vector<std::string> lines{render_line(headers, widths, max_width)};
  for (const auto& row : rows_) lines.push_back(render_line(row, widths, max_width));
  return lines;
}

}  // namespace sup::cli
