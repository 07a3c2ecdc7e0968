// A full-screen frame (lines of at most the screen's width, each with a
// style) and its two encodings: ANSI for the live view, plain text for
// `dashboard --once`.
//
// The ANSI encoding redraws in place without clearing the screen first
// (each row addressed, cleared, then written), so a redraw never flickers,
// and it writes no newline, so nothing can scroll.
//
//   std::vector<FrameLine> frame = render_dashboard(model, size, now_ms);
//   terminal.write(encode_frame(frame, size.rows));
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sup::cli {

struct ScreenSize {
  std::size_t columns = 80;
  std::size_t rows = 24;
};

enum class LineStyle : unsigned char { Plain, Bold, Warning, Alert };

struct FrameLine {
  std::string text;  // sanitized, at most ScreenSize::columns wide
  LineStyle style = LineStyle::Plain;
};

// Rows of the screen beyond the frame are cleared.
std::string encode_frame(const std::vector<FrameLine>& frame, std::size_t rows);
std::string plain_frame(const std::vector<FrameLine>& frame);  // one "\n"-ended line each

}  // namespace sup::cli
