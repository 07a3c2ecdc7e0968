#include "daemon/log_setup.hpp"

#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>

#include "common/log_backend.hpp"
#include "daemon/journald_sink.hpp"

namespace sup::daemon {
namespace {

constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

}  // namespace

bool is_journal_stream(const char* journal_stream, int fd) {
  if (!journal_stream || !*journal_stream) return false;
  std::uintmax_t device = 0;
  std::uintmax_t inode = 0;
  char trailing = 0;
  if (std::sscanf(journal_stream, "%" SCNuMAX ":%" SCNuMAX "%c", &device, &inode, &trailing) != 2)
    return false;
  struct stat info {};
  if (fstat(fd, &info) != 0) return false;
  return static_cast<std::uintmax_t>(info.st_dev) == device &&
         static_cast<std::uintmax_t>(info.st_ino) == inode;
}

LogDestination install_log_output(const config::LogConfig& config, const char* journal_stream) {
  set_log_level(config.level);
  // sd_journal_sendv() drops records silently when journald's socket is
  // missing (a container, a chroot), so it must exist before we rely on it.
  bool journal = is_journal_stream(journal_stream) && access(kJournalSocket, W_OK) == 0;
  if (journal) {
    logging::set_outputs(
        {std::make_shared<JournaldSink>(logging::stderr_output(logging::LogFormat::Text))});
    return LogDestination::Journal;
  }
  bool json = config.format == "json";
  logging::set_outputs(
      {logging::stderr_output(json ? logging::LogFormat::Json : logging::LogFormat::Text)});
  return json ? LogDestination::StderrJson : LogDestination::StderrText;
}

void seal_log_output() {
  logging::seal();
}

}  // namespace sup::daemon
