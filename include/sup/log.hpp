// Structured logging shared by the library and the daemon.
//
// The library logs through `sup::log()`; where the lines go is the host's
// choice (`set_log_sink`): the daemon sends them to journald with the
// fields as journal fields, or to stderr as text or JSON. Subscribers (the
// dashboard's `logs.tail`) see every record too.
//
//   sup::log(sup::LogLevel::Warn, "child exited",
//            {{"CHILD_ID", "ingest"}, {"TASK_EXIT", "TaskExit::Failed"}});
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sup {

enum class LogLevel : std::uint8_t { Trace, Debug, Info, Warn, Error, Critical };
// "trace", "debug", "info", "warn", "error", "critical"
std::string_view to_string(LogLevel level);
std::optional<LogLevel> log_level_from_string(std::string_view text);

struct LogField {
  std::string_view key;  // journald-style: upper case, e.g. "CHILD_ID"
  std::string value;
};

struct LogRecord {
  LogLevel level = LogLevel::Info;
  std::string_view message;
  std::span<const LogField> fields;
  std::int64_t at_unix_nanos = 0;
};

using LogSink = std::function<void(const LogRecord&)>;

// Replaces the sink (default: text lines on stderr). Not thread-safe against
// concurrent log() calls: set it before starting the runtime.
void set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Every record, after the level filter, goes to the sink and to the
// subscribers. Subscribers run on the logging thread: keep them quick.
using LogSubscriberId = std::uint64_t;
LogSubscriberId subscribe_logs(LogSink subscriber);
void unsubscribe_logs(LogSubscriberId id);

void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
void log(LogLevel level, std::string_view message, std::span<const LogField> fields);

}  // namespace sup
