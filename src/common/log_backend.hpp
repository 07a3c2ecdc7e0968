// The spdlog side of sup::log, for the hosts that choose outputs (the
// daemon) and for the sinks that read structured fields.
//
// How a record travels: sup::log() filters by level, packs the message and
// its fields into one payload string (encode_log_payload) and hands it to an
// spdlog async logger whose bounded queue drops the oldest record when full,
// so a logging thread (the control loop) never blocks on output. On the
// logger's one backend thread, a router sink passes each
// spdlog::details::log_msg to the subscribers of sup::subscribe_logs (as a
// LogRecord) and then to the outputs (spdlog sinks that call
// decode_log_payload to get the fields back). Fields travel inside the payload, not
// in thread-local state, because the sinks run on another thread than the
// caller.
//
//   sup::logging::set_outputs({sup::logging::stderr_output(sup::logging::LogFormat::Json)});
//   sup::log(sup::LogLevel::Warn, "child exited", {{"CHILD_ID", "ingest"}});
//   sup::logging::seal();  // drains the queue; nothing is written afterwards
#pragma once

#include <spdlog/common.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sup/log.hpp"

namespace sup::logging {

enum class LogFormat : std::uint8_t { Text, Json };

// Records the queue holds before the oldest is dropped (and counted).
inline constexpr std::size_t kQueueRecords = 8192;

spdlog::level::level_enum to_spdlog(LogLevel level);
LogLevel from_spdlog(spdlog::level::level_enum level);

// The payload of one record: the message first, then the fields with their
// lengths, then a trailer that marks it as ours. A payload without the
// trailer decodes as a plain message without fields.
std::string encode_log_payload(std::string_view message, std::span<const LogField> fields);

struct DecodedPayload {
  std::string_view message;      // a view into the payload
  std::vector<LogField> fields;  // keys are views into the payload
};
DecodedPayload decode_log_payload(std::string_view payload);

// A record as subscribers see it; `decoded` must outlive the returned view.
LogRecord to_log_record(const spdlog::details::log_msg& msg, const DecodedPayload& decoded);

// The two stderr formats as spdlog formatters, newline-terminated, UTC:
//   text: 2026-11-23T10:00:00.123Z WARN child exited CHILD_ID=ingest EXIT_REASON="exit status 3"
//   json: {"ts":"2026-11-23T10:00:00.123Z","level":"warn","msg":"child exited","CHILD_ID":"ingest"}
// Text quotes values with spaces, quotes, '=' or control characters and
// escapes newlines, so one record stays one line and parses back into its
// fields. JSON is written by the one JSON writer: invalid UTF-8 becomes
// U+FFFD, never invalid JSON.
std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format);

// spdlog's stderr sink with one of the formats above.
spdlog::sink_ptr stderr_output(LogFormat format);

// Replaces where records go (default: stderr, text). Safe while logging:
// records already queued go to the new outputs.
void set_outputs(std::vector<spdlog::sink_ptr> outputs);

// Stops logging for good: later sup::log() calls are dropped, the records
// already queued are written first (within the flush timeout).
void seal();

}  // namespace sup::logging
