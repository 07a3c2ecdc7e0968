// Plain-text building blocks of supctl's output: durations, ages, clock
// times, token counts, and fitting untrusted text into a terminal column.
//
//   format_duration_ms(1500) == "1.5s";   format_tokens(2.53, 5) == "2.5/5"
//   fit("worker-b-with-a-long-name", 10) == "worker-b-…"
//
// Text that comes from the daemon (ids, reasons, a child's output lines) is
// untrusted: `sanitize` replaces control characters and invalid UTF-8 so an
// escape sequence in a child's stderr cannot reprogram the operator's
// terminal. Widths count code points (every one as one column).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sup::cli {

// "0ms", "850ms", "1.5s", "42s", "2m03s", "1h02m", "3d04h".
std::string format_duration_ms(std::uint64_t ms);
// Time elapsed from `at_ms` to `now_ms` as a duration ("0ms" when `at_ms` is
// in the future: clocks of two hosts may disagree a little).
std::string format_age(std::int64_t now_ms, std::int64_t at_ms);

enum class TimeStyle : unsigned char {
  Clock,  // "12:00:03" (local time)
  Full,   // "2024-05-01 12:00:03.123" (local time)
};
std::string format_local_time(std::int64_t unix_ms, TimeStyle style);

// Tokens rounded *down* to a tenth: 0.99 tokens cannot pay for a restart,
// so it must not read "1.0".
std::string format_tokens(double tokens, double capacity);
// "0.5/s", "98.7/s", "1234/s", "12.3k/s".
std::string format_rate(double per_second);

// Control characters become spaces (tabs, newlines) or '?', and invalid
// UTF-8 becomes '?'.
std::string sanitize(std::string_view text);
std::size_t display_width(std::string_view utf8);
// At most `width` columns; cut text ends with "…".
std::string fit(std::string_view text, std::size_t width);
// `fit` then padded with spaces to exactly `width` columns.
std::string pad_right(std::string_view text, std::size_t width);
std::string pad_left(std::string_view text, std::size_t width);

// "TaskExit::Failed" -> "Failed": the qualified spellings are for logs and
// scripts, tables have no room for them.
std::string_view strip_qualifier(std::string_view name);

}  // namespace sup::cli
