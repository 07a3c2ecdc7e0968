// The first line of a crash report, formatted without allocating so the
// fatal-signal handler can use it (async-signal-safe: plain stores into a
// caller's buffer, nothing else).
//
//   char line[512];
//   std::size_t n = sup::daemon::format_signal_panic(line, sizeof line, PanicStyle::Text,
//                                                    SIGSEGV, SEGV_MAPERR, addr, 0, now_nanos);
//   // 2026-11-23T10:00:00.123Z CRITICAL Panic: fatal signal SIGSEGV (code 1, addr 0x10)
//   write_all(STDERR_FILENO, line, n);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sup::daemon {

// Matches the log output: a text line, a JSON object, or, when stderr is the
// journal, a line with the "<2>" prefix that gives it priority "crit".
enum class PanicStyle : std::uint8_t { Text, Json, Journal };

// "SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", else "signal".
std::string_view signal_name(int signo);

// "Panic: fatal signal SIGSEGV (code 1, addr 0x10)" for a fault; a signal
// sent by another process (code <= 0) names the sender instead:
// "Panic: fatal signal SIGSEGV (code 0, sent by pid 4242)". Returns the
// length written (truncated to fit, always newline-terminated).
std::size_t format_signal_panic(char* out, std::size_t capacity, PanicStyle style, int signo,
                                int code, const void* fault_address, long sender_pid,
                                std::int64_t unix_nanos);

// "Panic: std::terminate: <cause>".
std::size_t format_terminate_panic(char* out, std::size_t capacity, PanicStyle style,
                                   std::string_view cause, std::int64_t unix_nanos);

}  // namespace sup::daemon
