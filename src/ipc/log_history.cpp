#include "ipc/log_history.hpp"

#include <algorithm>

namespace sup::ipc {
namespace {

constexpr std::string_view kChildIdField = "CHILD_ID";

}  // namespace

const std::string* LogEntry::child_id() const {
  for (const auto& [name, value] : fields)
    if (name == kChildIdField) return &value;
  return nullptr;
}

std::size_t LogEntry::text_bytes() const {
  std::size_t bytes = message.size();
  for (const auto& [name, value] : fields) bytes += name.size() + value.size();
  return bytes;
}

LogHistory::LogHistory(Limits limits) : limits_(limits) {}

LogHistory::~LogHistory() {
  detach();
}

void LogHistory::attach() {
  // Not under mutex_: sup::log holds its lock while it calls append().
  std::lock_guard lock(attach_mutex_);
  if (subscriber_) return;
  // unsubscribe_logs() in detach() waits for a call in progress, so `this`
  // outlives every call.
  subscriber_ = subscribe_logs([this](const LogRecord& record) { append(record); });
}

void LogHistory::detach() {
  std::lock_guard lock(attach_mutex_);
  if (auto id = std::exchange(subscriber_, std::nullopt)) unsubscribe_logs(*id);
}

bool LogHistory::matches(const LogEntry& entry, const std::optional<std::string>& child_id) {
  if (!child_id) return true;
  const std::string* id = entry.child_id();
  return id && *id == *child_id;
}

void LogHistory::append(const LogRecord& record) {
  auto entry = std::make_shared<LogEntry>();
  entry->level = record.level;
  entry->message = record.message;
  entry->fields.reserve(record.fields.size());
  for (const auto& field : record.fields) entry->fields.emplace_back(field.key, field.value);
  entry->at_unix_nanos = record.at_unix_nanos;
  std::size_t bytes = entry->text_bytes();

  std::lock_guard lock(mutex_);
  entry->sequence = ++last_sequence_;
  ring_.push_back(entry);
  ring_bytes_ += bytes;
  while (!ring_.empty() &&
         (ring_.size() > limits_.max_records || ring_bytes_ > limits_.max_bytes)) {
    ring_bytes_ -= ring_.front()->text_bytes();
    ring_.pop_front();
  }
  LogEntryPtr shared = std::move(entry);
  for (const auto& [id, follower] : followers_)
    if (matches(*shared, follower.child_id)) follower.fn(shared);
}

LogTail LogHistory::tail(const LogQuery& query) const {
  LogTail result;
  std::lock_guard lock(mutex_);
  result.last_sequence = last_sequence_;
  std::size_t bytes = 0;
  for (auto it = ring_.rbegin(); it != ring_.rend() && result.records.size() < query.lines; ++it) {
    if (!matches(**it, query.child_id)) continue;
    bytes += (*it)->text_bytes();
    if (bytes > query.max_bytes) {
      result.truncated = true;
      break;
    }
    result.records.push_back(*it);
  }
  std::reverse(result.records.begin(), result.records.end());
  return result;
}

EventSubscription LogHistory::follow(std::optional<std::string> child_id,
                                     std::uint64_t after_sequence,
                                     std::function<void(const LogEntryPtr&)> fn) {
  std::lock_guard lock(mutex_);
  auto first = std::partition_point(ring_.begin(), ring_.end(), [after_sequence](const auto& e) {
    return e->sequence <= after_sequence;
  });
  for (auto it = first; it != ring_.end(); ++it)
    if (matches(**it, child_id)) fn(*it);
  std::uint64_t id = next_follower_id_++;
  followers_.emplace(id, Follower{std::move(child_id), std::move(fn)});
  return EventSubscription([weak = weak_from_this(), id] {
    if (auto self = weak.lock()) self->unfollow(id);
  });
}

void LogHistory::unfollow(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  followers_.erase(id);
}

}  // namespace sup::ipc
