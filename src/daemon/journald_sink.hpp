// An spdlog sink that sends each record to journald with its fields as
// journal fields: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER=supervisor, then
// every LogField (CHILD_ID, TASK_EXIT, EXIT_REASON, RESTART_COUNT,
// SHUTDOWN_PHASE, EVENT_TYPE, EXECUTION_ID, NODE_ID, ...) under its
// journal_field_name(). A record journald refuses goes to the fallback sink.
//
//   auto sink = std::make_shared<sup::daemon::JournaldSink>(
//       sup::logging::stderr_output(sup::logging::LogFormat::Text));
//   sup::logging::set_outputs({sink});
#pragma once

#include <spdlog/details/null_mutex.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/uio.h>

#include <functional>
#include <string>
#include <string_view>

#include "sup/log.hpp"

namespace sup::daemon {

// A valid journal field name for a LogField key: upper case, [A-Z0-9_],
// not starting with '_' or a digit, at most 64 characters.
std::string journal_field_name(std::string_view key);

// syslog priority of a level: critical 2, error 3, warn 4, info 6, debug/trace 7.
int journal_priority(LogLevel level);

// The router calls sinks one record at a time, so no lock of its own.
class JournaldSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  // sd_journal_sendv's shape; tests pass a recorder.
  using Send = std::function<int(const iovec* entries, int count)>;

  explicit JournaldSink(spdlog::sink_ptr fallback, Send send = {});

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;

 private:
  spdlog::sink_ptr fallback_;
  Send send_;
};

}  // namespace sup::daemon
