// Where the daemon's log records go: journald with every LogField as a
// structured journal field (when systemd connected our stderr to the
// journal), else stderr as text or JSON lines.
//
//   auto destination = sup::daemon::install_log_output(config.log, std::getenv("JOURNAL_STREAM"));
//   ...
//   sup::log(sup::LogLevel::Info, "ShutdownPhase::Completed", {{"SHUTDOWN_PHASE", "Completed"}});
//   sup::daemon::seal_log_output();  // nothing is written after this line
#pragma once

#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "config/daemon_config.hpp"
#include "daemon/log_format.hpp"
#include "sup/log.hpp"

namespace sup::daemon {

enum class LogDestination : std::uint8_t { StderrText, StderrJson, Journal };

// True when JOURNAL_STREAM ("<dev>:<inode>") names the file `fd` is; systemd
// sets it for a service whose stderr is the journal. Comparing the inode,
// as sd_journal_stream_fd(3) advises, keeps a redirected stderr (or an
// inherited variable) from sending our lines to the wrong place.
bool is_journal_stream(const char* journal_stream, int fd = STDERR_FILENO);

// A valid journal field name for a LogField key: upper case, [A-Z0-9_],
// not starting with '_' or a digit, at most 64 characters.
std::string journal_field_name(std::string_view key);

// syslog priority of a level: critical 2, error 3, warn 4, info 6, debug/trace 7.
int journal_priority(LogLevel level);

// Sets the level and the sink of sup::log() for the daemon. Call before any
// thread logs. journald is used when JOURNAL_STREAM names our stderr and
// journald's socket exists; a record journald refuses is written to stderr
// as text.
LogDestination install_log_output(const config::LogConfig& config, const char* journal_stream);

// Drops every later record: after ShutdownPhase::Completed nothing else may
// be logged, not even by threads that were abandoned during shutdown.
void seal_log_output();

}  // namespace sup::daemon
