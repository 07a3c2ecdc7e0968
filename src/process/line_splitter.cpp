#include "process/line_splitter.hpp"

#include <algorithm>

namespace sup::process {
namespace {

std::string_view without_trailing_cr(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

void LineSplitter::append(std::string_view bytes) {
  // Compact lazily: what is left unconsumed is at most one partial line.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<std::string_view> LineSplitter::next_line() {
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  // A newline right after kMaxLineBytes bytes still ends a line of exactly
  // that size, so look one byte further than the piece size.
  const std::size_t window = std::min(pending.size(), kMaxLineBytes + 1);
  const std::size_t newline = pending.substr(0, window).find('\n', scanned_);
  if (newline != std::string_view::npos) {
    consumed_ += newline + 1;
    scanned_ = 0;
    return without_trailing_cr(pending.substr(0, newline));
  }
  if (pending.size() > kMaxLineBytes) {
    consumed_ += kMaxLineBytes;
    scanned_ = 0;
    return pending.substr(0, kMaxLineBytes);
  }
  scanned_ = pending.size();
  return std::nullopt;
}

std::optional<std::string_view> LineSplitter::take_rest() {
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  consumed_ = buffer_.size();
  scanned_ = 0;
  if (pending.empty()) return std::nullopt;
  return without_trailing_cr(pending);
}

}  // namespace sup::process
