// The UTC timestamp of the Panic line, which the crash handler formats
// inside a signal handler: plain arithmetic (no gmtime, no locale, no
// allocation), the same shape as the log formats' "ts".
//
//   char out[sup::daemon::kTimestampLength];
//   sup::daemon::format_utc_timestamp(unix_nanos, out);  // 2026-11-23T10:00:00.123Z
#pragma once

#include <cstddef>
#include <cstdint>

namespace sup::daemon {

// "2026-11-23T10:00:00.123Z" is exactly this long.
inline constexpr std::size_t kTimestampLength = 24;

// Writes the timestamp of `unix_nanos` into `out` (kTimestampLength bytes,
// no terminator). Async-signal-safe.
void format_utc_timestamp(std::int64_t unix_nanos, char* out);

}  // namespace sup::daemon
