#include "supctl/screen_frame.hpp"

#include <string_view>

namespace sup::cli {
namespace {

constexpr std::string_view kClearLine = "\x1b[2K";
constexpr std::string_view kReset = "\x1b[0m";

std::string_view style_code(LineStyle style) {
  switch (style) {
    case LineStyle::Plain:
      return "";
    case LineStyle::Bold:
      return "\x1b[1m";
    case LineStyle::Warning:
      return "\x1b[33m";
    case LineStyle::Alert:
      return "\x1b[1;31m";
  }
  return "";
}

}  // namespace

std::string encode_frame(const std::vector<FrameLine>& frame, std::size_t rows) {
  std::string bytes;
  for (std::size_t row = 0; row < rows; ++row) {
    bytes += "\x1b[" + std::to_string(row + 1) + ";1H";
    bytes += kClearLine;
    if (row >= frame.size()) continue;
    const std::string_view style = style_code(frame[row].style);
    bytes += style;
    bytes += frame[row].text;
    if (!style.empty()) bytes += kReset;
  }
  return bytes;
}

std::string plain_frame(const std::vector<FrameLine>& frame) {
  std::string text;
  for (const FrameLine& line : frame) text += line.text + "\n";
  return text;
}

}  // namespace sup::cli
