// A bounded ring of recent log records: the daemon's own log and its
// children's captured output (records with field CHILD_ID, and STREAM).
//
// The daemon creates it before the runtime starts and attaches it to
// sup::log, so the history outlives any one relay incarnation; the relay
// answers `logs.tail` from it and streams new records to followers. Every
// record gets a sequence number (+1 per record), so a follower resuming
// after sequence N misses nothing still in the ring.
//
//   auto history = std::make_shared<sup::ipc::LogHistory>();
//   history->attach();  // now every sup::log record is kept
//   auto recent = history->tail({.child_id = "ingest", .lines = 50});
//   auto follow = history->follow({.child_id = "ingest"}, recent.last_sequence,
//                                 [](const auto& entry) { /* quick, non-blocking */ });
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sup/handle.hpp"
#include "sup/log.hpp"

namespace sup::ipc {

struct LogEntry {
  std::uint64_t sequence = 0;
  LogLevel level = LogLevel::Info;
  std::string message;
  std::vector<std::pair<std::string, std::string>> fields;  // in logging order
  std::int64_t at_unix_nanos = 0;

  // The CHILD_ID field, or nullptr for the daemon's own records.
  const std::string* child_id() const;
  // Text bytes (message, field names and values): what the limits count.
  std::size_t text_bytes() const;
};

using LogEntryPtr = std::shared_ptr<const LogEntry>;

struct LogQuery {
  std::optional<std::string> child_id;  // only this child's records; all when empty
  std::size_t lines = 100;              // at most this many, the newest
  std::size_t max_bytes = SIZE_MAX;     // and at most this many text bytes
};

struct LogTail {
  std::vector<LogEntryPtr> records;  // oldest first
  std::uint64_t last_sequence = 0;   // the newest sequence in the history (0: none yet)
  bool truncated = false;            // max_bytes left out older matching records
};

// Create it with std::make_shared: follow() subscriptions hold it weakly.
class LogHistory : public std::enable_shared_from_this<LogHistory> {
 public:
  struct Limits {
    std::size_t max_records = 10'000;
    std::size_t max_bytes = 16u << 20;  // message + field bytes of the kept records
  };

  LogHistory() : LogHistory(Limits{}) {}
  explicit LogHistory(Limits limits);
  ~LogHistory();  // detaches
  LogHistory(const LogHistory&) = delete;
  LogHistory& operator=(const LogHistory&) = delete;

  // Subscribes to sup::log (idempotent); detach() stops it.
  void attach();
  void detach();

  // What the sup::log subscription calls; public for tests and embedders.
  void append(const LogRecord& record);

  LogTail tail(const LogQuery& query) const;

  // Calls `fn` for every matching record after `after_sequence`: first
  // those still in the ring, then new ones as they are appended (on the
  // logging thread, under the history's lock: `fn` must be quick and must
  // not log). Stops when the returned subscription is destroyed.
  EventSubscription follow(std::optional<std::string> child_id, std::uint64_t after_sequence,
                           std::function<void(const LogEntryPtr&)> fn);

 private:
  struct Follower {
    std::optional<std::string> child_id;
    std::function<void(const LogEntryPtr&)> fn;
  };
  static bool matches(const LogEntry& entry, const std::optional<std::string>& child_id);
  void unfollow(std::uint64_t id);

  Limits limits_;
  mutable std::mutex mutex_;
  std::deque<LogEntryPtr> ring_;
  std::size_t ring_bytes_ = 0;
  std::uint64_t last_sequence_ = 0;
  std::map<std::uint64_t, Follower> followers_;
  std::uint64_t next_follower_id_ = 1;
  std::mutex attach_mutex_;
  std::optional<LogSubscriberId> subscriber_;
};

}  // namespace sup::ipc
