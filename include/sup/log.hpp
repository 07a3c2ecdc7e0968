// Structured logging shared by the library and the daemon.
//
// The library logs through `sup::log()`: a message and journald-style fields.
// Records go through spdlog: an async logger with a bounded queue, so a
// logging thread never waits for output; when the queue is full the oldest
// record is dropped and counted (`dropped_log_records()`), and the next
// record written is preceded, at most once a second, by a warning
// "dropped N log messages" (field DROPPED_LOG_MESSAGES). Where records go is
// the host's choice: by default text lines on stderr; the daemon sends them
// to journald with the fields as journal fields, or to stderr as text or
// JSON (src/common/log_backend.hpp); `set_log_sink` routes them to a
// callback instead. Subscribers (an IPC client's `logs.tail`) see every
// record that was not dropped.
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

// Sends every record to `sink` instead of the outputs (nullptr: back to text
// lines on stderr). The sink runs on the logging backend thread.
void set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);

// Every record, after the level filter, goes to the subscribers and then
// to the outputs. Both run on the logging backend thread, one record at a
// time: keep subscribers quick, and never call flush_logs() from them. A
// subscriber sees the records delivered while it is registered (records
// still queued when it subscribes included): call flush_logs() before
// unsubscribing to see everything logged until then. unsubscribe_logs()
// waits for a call in progress.
using LogSubscriberId = std::uint64_t;
LogSubscriberId subscribe_logs(LogSink subscriber);
void unsubscribe_logs(LogSubscriberId id);

// Never blocks on output: the record is queued for the backend thread.
void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
void log(LogLevel level, std::string_view message, std::span<const LogField> fields);

// Records dropped because the queue was full, since the process started.
std::uint64_t dropped_log_records();

// Blocks until every record logged before the call has reached the outputs
// and subscribers; false if that took longer than `timeout_ms`.
bool flush_logs(std::uint32_t timeout_ms = 2000);

}  // namespace sup
