#include "daemon/log_output.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <vector>

#include "daemon/write_all.hpp"

namespace sup::daemon {
namespace {

constexpr std::size_t kMaxJournalFieldName = 64;
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";

std::atomic<bool> g_sealed{false};

// Whole lines go out in one write under a lock, so records from several
// threads never interleave, whatever their length.
void write_line_to_stderr(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  write_all(STDERR_FILENO, line.data(), line.size());
}

void send_to_journal(const LogRecord& record) {
  std::vector<std::string> entries;
  entries.reserve(3 + record.fields.size());
  entries.push_back("MESSAGE=" + std::string(record.message));
  entries.push_back("PRIORITY=" + std::to_string(journal_priority(record.level)));
  entries.emplace_back("SYSLOG_IDENTIFIER=supervisor");
  for (const auto& field : record.fields)
    entries.push_back(journal_field_name(field.key) + "=" + field.value);
  std::vector<iovec> iov;
  iov.reserve(entries.size());
  for (auto& entry : entries) iov.push_back({entry.data(), entry.size()});
  if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
    write_line_to_stderr(format_text_line(record));
}

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

std::string journal_field_name(std::string_view key) {
  std::string name;
  for (char c : key) {
    if (name.size() == kMaxJournalFieldName) break;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    bool valid = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!valid) c = '_';
    if (name.empty() && (c == '_' || (c >= '0' && c <= '9'))) continue;
    name += c;
  }
  return name.empty() ? "FIELD" : name;
}

int journal_priority(LogLevel level) {
  switch (level) {
    case LogLevel::Critical:
      return 2;
    case LogLevel::Error:
      return 3;
    case LogLevel::Warn:
      return 4;
    case LogLevel::Info:
      return 6;
    case LogLevel::Trace:
    case LogLevel::Debug:
      return 7;
  }
  return 6;
}

LogDestination install_log_output(const config::LogConfig& config, const char* journal_stream) {
  set_log_level(config.level);
  // sd_journal_sendv() drops records silently when journald's socket is
  // missing (a container, a chroot), so it must exist before we rely on it.
  bool journal = is_journal_stream(journal_stream) && access(kJournalSocket, W_OK) == 0;
  LogDestination destination = journal                   ? LogDestination::Journal
                               : config.format == "json" ? LogDestination::StderrJson
                                                         : LogDestination::StderrText;
  LogFormat format = destination == LogDestination::StderrJson ? LogFormat::Json : LogFormat::Text;
  set_log_sink([destination, format](const LogRecord& record) {
    if (g_sealed.load(std::memory_order_acquire)) return;
    if (destination == LogDestination::Journal)
      send_to_journal(record);
    else
      write_line_to_stderr(format_line(format, record));
  });
  return destination;
}

void seal_log_output() {
  g_sealed.store(true, std::memory_order_release);
}

}  // namespace sup::daemon
