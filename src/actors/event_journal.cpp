#include "actors/event_journal.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>
#include <utility>

#include "common/clock.hpp"

namespace sup::actors {
namespace {

// Journal field names of the payload keys the runtime emits, spelled once
// instead of upper-cased for every event.
constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kJournalKeys{{
    {"task_exit", "TASK_EXIT"},
    {"exit_reason", "EXIT_REASON"},
    {"restart_count", "RESTART_COUNT"},
    {"generation", "GENERATION"},
    {"backoff_ms", "BACKOFF_MS"},
    {"backoff_ceiling_ms", "BACKOFF_CEILING_MS"},
    {"attempt", "ATTEMPT"},
    {"reason", "REASON"},
    {"shutdown_timeout_ms", "SHUTDOWN_TIMEOUT_MS"},
    {"from", "FROM"},
    {"to", "TO"},
}};

std::string upper(std::string_view key) {
  std::string out(key);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

LogLevel level_for(std::string_view severity) {
  if (severity == "error") return LogLevel::Error;
  if (severity == "warning") return LogLevel::Warn;
  return LogLevel::Info;
}

const std::string* payload_value(const Event& event, const std::string& key) {
  auto it = event.payload.find(key);
  return it == event.payload.end() ? nullptr : &it->second;
}

std::string message_of(const Event& event) {
  static const std::string kTaskExit = "task_exit";
  static const std::string kExitReason = "exit_reason";
  static const std::string kReason = "reason";
  static const std::string kBackoff = "backoff_ms";
  std::string message;
  message.reserve(96);
  message += event.event_type;
  if (!event.child_id.empty()) {
    message += ' ';
    message += event.child_id;
  }
  if (const std::string* exit = payload_value(event, kTaskExit)) {
    message += ": ";
    message += *exit;
    if (const std::string* reason = payload_value(event, kExitReason)) {
      message += " (";
      message += *reason;
      message += ')';
    }
  } else if (const std::string* reason = payload_value(event, kReason)) {
    message += ": ";
    message += *reason;
  } else if (const std::string* backoff = payload_value(event, kBackoff)) {
    message += " in ";
    message += *backoff;
    message += " ms";
  }
  return message;
}

}  // namespace

// Every restart journals three events, so a line is built with as few
// allocations as the LogField type allows.
JournalLine journal_line(const Event& event) {
  JournalLine line;
  line.level = level_for(event.severity);
  line.message = message_of(event);
  line.fields.reserve(event.payload.size() + 3);
  line.fields.push_back({"EVENT_TYPE", event.event_type});
  line.fields.push_back({"EVENT_SEQUENCE", std::to_string(event.sequence)});
  if (!event.child_id.empty()) line.fields.push_back({"CHILD_ID", event.child_id});
  // Reserved once, before the first push: the fields point into it.
  line.field_names.reserve(event.payload.size());
  for (const auto& [key, value] : event.payload) {
    auto known = std::find_if(kJournalKeys.begin(), kJournalKeys.end(),
                              [&](const auto& entry) { return entry.first == key; });
    if (known != kJournalKeys.end()) {
      line.fields.push_back({known->second, value});
    } else {
      line.field_names.push_back(upper(key));
      line.fields.push_back({line.field_names.back(), value});
    }
  }
  return line;
}

void EventJournal::publish(Event event) {
  event.occurred_at_unix_nanos = unix_now_nanos();
  const Event& stored = hub_.publish(std::move(event));
  if (!log_enabled(level_for(stored.severity))) return;
  JournalLine line = journal_line(stored);
  log(line.level, line.message, std::span<const LogField>(line.fields));
}

}  // namespace sup::actors
