#include "daemon/journald_sink.hpp"

#include <systemd/sd-journal.h>

#include <vector>

#include "common/log_backend.hpp"

namespace sup::daemon {
namespace {

constexpr std::size_t kMaxJournalFieldName = 64;

}  // namespace

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

JournaldSink::JournaldSink(spdlog::sink_ptr fallback, Send send)
    : fallback_(std::move(fallback)), send_(std::move(send)) {
  if (!send_)
    send_ = [](const iovec* entries, int count) { return sd_journal_sendv(entries, count); };
}

void JournaldSink::sink_it_(const spdlog::details::log_msg& msg) {
  auto decoded = logging::decode_log_payload({msg.payload.data(), msg.payload.size()});
  std::vector<std::string> entries;
  entries.reserve(3 + decoded.fields.size());
  entries.push_back("MESSAGE=" + std::string(decoded.message));
  entries.push_back("PRIORITY=" +
                    std::to_string(journal_priority(logging::from_spdlog(msg.level))));
  entries.emplace_back("SYSLOG_IDENTIFIER=supervisor");
  for (const auto& field : decoded.fields)
    entries.push_back(journal_field_name(field.key) + "=" + field.value);
  std::vector<iovec> iov;
  iov.reserve(entries.size());
  for (auto& entry : entries) iov.push_back({entry.data(), entry.size()});
  if (send_(iov.data(), static_cast<int>(iov.size())) < 0 && fallback_) fallback_->log(msg);
}

void JournaldSink::flush_() {
  if (fallback_) fallback_->flush();
}

}  // namespace sup::daemon
