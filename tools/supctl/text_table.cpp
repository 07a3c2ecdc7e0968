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

std::vector<std::size_t> TextTable::column_widths(std::optional<std::size_t> max_width,
                                                  const std::vector<bool>& shown,
                                                  bool& fits) const {
  std::vector<std::size_t> widths(columns_.size(), 0);
  std::size_t total = 0;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (!shown[c]) continue;
    widths[c] = display_width(columns_[c].header);
    for (const auto& row : rows_) widths[c] = std::max(widths[c], display_width(row[c]));
    total += (total > 0 ? gap_ : 0) + widths[c];
  }
  fits = !max_width || total <= *max_width;
  // One column at a time, the widest shrinkable one gives up a column.
  while (!fits) {
    std::size_t widest = columns_.size();
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (!shown[c] || !columns_[c].shrinkable || widths[c] <= columns_[c].min_width) continue;
      if (widest == columns_.size() || widths[c] > widths[widest]) widest = c;
    }
    if (widest == columns_.size()) break;
    --widths[widest];
    fits = --total <= *max_width;
  }
  return widths;
}

std::string TextTable::render_line(const std::vector<std::string>& cells,
                                   const std::vector<std::size_t>& widths,
                                   const std::vector<bool>& shown,
                                   std::optional<std::size_t> max_width) const {
  std::string line;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (!shown[c]) continue;
    if (!line.empty()) line.append(gap_, ' ');
    line += columns_[c].align == Align::Right ? pad_left(cells[c], widths[c])
                                              : pad_right(cells[c], widths[c]);
  }
  line.erase(line.find_last_not_of(' ') + 1);
  return max_width ? fit(line, *max_width) : line;
}

std::vector<std::string> TextTable::render(std::optional<std::size_t> max_width) const {
  std::vector<bool> shown(columns_.size(), true);
  bool fits = false;
  std::vector<std::size_t> widths = column_widths(max_width, shown, fits);
  while (!fits) {
    std::size_t dropped = columns_.size();
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (!shown[c] || columns_[c].drop_rank == 0) continue;
      if (dropped == columns_.size() || columns_[c].drop_rank > columns_[dropped].drop_rank)
        dropped = c;
    }
    if (dropped == columns_.size()) break;  // nothing left to leave out: lines get cut
    shown[dropped] = false;
    widths = column_widths(max_width, shown, fits);
  }

  std::vector<std::string> headers;
  for (const Column& column : columns_) headers.push_back(column.header);
  std::vector<std::string> lines{render_line(headers, widths, shown, max_width)};
  for (const auto& row : rows_) lines.push_back(render_line(row, widths, shown, max_width));
  return lines;
}

}  // namespace sup::cli
