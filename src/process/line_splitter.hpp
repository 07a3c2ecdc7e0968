// Turns the byte stream of a child's stdout or stderr into lines.
//
// Lines end at '\n'; the '\n' and one trailing '\r' are dropped. A line
// longer than kMaxLineBytes comes out as consecutive pieces of
// kMaxLineBytes (the last piece holds the remainder), so a child that never
// writes a newline cannot grow the buffer without bound.
//
//   LineSplitter lines;
//   lines.append(chunk_read_from_pipe);
//   while (auto line = lines.next_line()) deliver(*line);
//   ...at EOF:
//   if (auto rest = lines.take_rest()) deliver(*rest);
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sup::process {

class LineSplitter {
 public:
  static constexpr std::size_t kMaxLineBytes = 64 * 1024;

  // Invalidates views returned earlier.
  void append(std::string_view bytes);

  // The next complete line or long-line piece; nullopt when more bytes are
  // needed. The view stays valid until the next append() or take_rest().
  std::optional<std::string_view> next_line();

  // At end of input, once next_line() returned nullopt: the unterminated
  // remainder, if there is one.
  std::optional<std::string_view> take_rest();

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already handed out
  std::size_t scanned_ = 0;   // bytes after consumed_ known to hold no '\n'
};

}  // namespace sup::process
