// How the daemon writes a log record as one line: text for people, JSON for
// log pipelines. Also the UTC timestamp, which the crash handler formats
// inside a signal handler, so it is plain arithmetic (no gmtime, no locale).
//
//   std::string line = sup::daemon::format_text_line(record);
//   // 2026-11-23T10:00:00.123Z WARN child exited CHILD_ID=ingest EXIT_REASON="exit status 3"
//   std::string json = sup::daemon::format_json_line(record);
//   // {"ts":"2026-11-23T10:00:00.123Z","level":"warn","msg":"child
//   exited","CHILD_ID":"ingest",...}
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sup/log.hpp"

namespace sup::daemon {

enum class LogFormat : std::uint8_t { Text, Json };

// "2026-11-23T10:00:00.123Z" is exactly this long.
inline constexpr std::size_t kTimestampLength = 24;

// Writes the timestamp of `unix_nanos` into `out` (kTimestampLength bytes,
// no terminator). Async-signal-safe.
void format_utc_timestamp(std::int64_t unix_nanos, char* out);

// One line, newline-terminated. Text: values with spaces, quotes, '=' or
// control characters are quoted with escapes, so a line always parses back
// into its fields; newlines in the message are escaped to keep one record
// per line.
std::string format_text_line(const LogRecord& record);
// One JSON object, newline-terminated; fields are top-level keys next to
// "ts", "level" and "msg"; invalid UTF-8 is replaced, never thrown on.
std::string format_json_line(const LogRecord& record);

std::string format_line(LogFormat format, const LogRecord& record);

}  // namespace sup::daemon
