// The logging core: level filter, one sink, and subscribers.
//
// The sink is swapped only before the runtime starts, so log() reads it
// without a lock; subscribers come and go at run time and sit behind a
// mutex that is only touched when at least one exists.
#include "sup/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.hpp"

namespace sup {
namespace {

void write_text_to_stderr(const LogRecord& record) {
  std::string line;
  line.reserve(128);
  line += to_string(record.level);
  line += ' ';
  line += record.message;
  for (const auto& field : record.fields) {
    line += ' ';
    line += field.key;
    line += '=';
    line += field.value;
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);
}

struct LogState {
  LogSink sink = write_text_to_stderr;
  std::atomic<LogLevel> level{LogLevel::Info};
  std::atomic<bool> has_subscribers{false};
  std::mutex subscribers_mutex;
  std::vector<std::pair<LogSubscriberId, LogSink>> subscribers;
  LogSubscriberId next_id = 1;
};

LogState& state() {
  static LogState* instance = new LogState;  // never destroyed: logging works during exit
  return *instance;
}

}  // namespace

void set_log_sink(LogSink sink) {
  state().sink = sink ? std::move(sink) : write_text_to_stderr;
}

void set_log_level(LogLevel level) {
  state().level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return level >= state().level.load(std::memory_order_relaxed);
}

LogSubscriberId subscribe_logs(LogSink subscriber) {
  auto& s = state();
  std::lock_guard lock(s.subscribers_mutex);
  auto id = s.next_id++;
  s.subscribers.emplace_back(id, std::move(subscriber));
  s.has_subscribers.store(true, std::memory_order_release);
  return id;
}

void unsubscribe_logs(LogSubscriberId id) {
  auto& s = state();
  std::lock_guard lock(s.subscribers_mutex);
  std::erase_if(s.subscribers, [id](const auto& entry) { return entry.first == id; });
  s.has_subscribers.store(!s.subscribers.empty(), std::memory_order_release);
}

void log(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  if (!log_enabled(level)) return;
  auto& s = state();
  LogRecord record{level, message, fields, unix_now_nanos()};
  s.sink(record);
  if (!s.has_subscribers.load(std::memory_order_acquire)) return;
  std::lock_guard lock(s.subscribers_mutex);
  for (const auto& [id, subscriber] : s.subscribers) subscriber(record);
}

void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  log(level, message, std::span<const LogField>(fields.begin(), fields.size()));
}

}  // namespace sup
