// Where the daemon's log records go: journald with every LogField as a
// structured journal field (when systemd connected our stderr to the
// journal), else stderr as text or JSON lines (LOG_FORMAT). The outputs are
// spdlog sinks behind sup::log's async logger (src/common/log_backend.hpp).
//
//   auto destination = sup::daemon::install_log_output(config.log, std::getenv("JOURNAL_STREAM"));
//   ...
//   sup::log(sup::LogLevel::Info, "ShutdownPhase::Completed", {{"SHUTDOWN_PHASE", "Completed"}});
//   sup::daemon::seal_log_output();  // written out; nothing is written after this line
#pragma once

#include <unistd.h>

#include <cstdint>

#include "config/daemon_config.hpp"

namespace sup::daemon {

enum class LogDestination : std::uint8_t { StderrText, StderrJson, Journal };

// True when JOURNAL_STREAM ("<dev>:<inode>") names the file `fd` is; systemd
// sets it for a service whose stderr is the journal. Comparing the inode,
// as sd_journal_stream_fd(3) advises, keeps a redirected stderr (or an
// inherited variable) from sending our lines to the wrong place.
bool is_journal_stream(const char* journal_stream, int fd = STDERR_FILENO);

// Sets the level and the outputs of sup::log() for the daemon. journald is
// used when JOURNAL_STREAM names our stderr and journald's socket exists; a
// record journald refuses is written to stderr as text.
LogDestination install_log_output(const config::LogConfig& config, const char* journal_stream);

// Writes out what is queued, then drops every later record: after
// ShutdownPhase::Completed nothing else may be logged, not even by threads
// that were abandoned during shutdown.
void seal_log_output();

}  // namespace sup::daemon
