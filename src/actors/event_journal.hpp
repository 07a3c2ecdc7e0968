// The event journal: numbers every event of the tree, keeps the recent ones
// for replay and fans them out (EventHub), and writes each as one log line
// whose message reads well in `journalctl` and whose fields (CHILD_ID,
// TASK_EXIT, EXIT_REASON, RESTART_COUNT, ...) filter well.
//
// Single-threaded: lives on the control loop's thread.
//
//   EventJournal journal(4096);
//   journal.publish(std::move(event));   // stamps time, sequence; delivers; logs
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/event_hub.hpp"
#include "sup/log.hpp"
#include "sup/state.hpp"

namespace sup::actors {

// The log line of one event. `fields` point into the event and into
// `field_names` (names of payload keys outside the known set).
struct JournalLine {
  LogLevel level = LogLevel::Info;
  std::string message;  // "child_exited worker: TaskExit::Failed (boom)"
  std::vector<LogField> fields;
  std::vector<std::string> field_names;
};
JournalLine journal_line(const Event& event);

class EventJournal {
 public:
  explicit EventJournal(std::size_t replay_ring) : hub_(replay_ring) {}

  // Stamps the time, assigns the sequence, delivers, logs.
  void publish(Event event);

  EventHub::SubscriberId subscribe(EventHub::Subscriber subscriber, std::uint64_t after_sequence) {
    return hub_.subscribe(std::move(subscriber), after_sequence);
  }
  void unsubscribe(EventHub::SubscriberId id) { hub_.unsubscribe(id); }
  std::uint64_t last_sequence() const { return hub_.last_sequence(); }

 private:
  EventHub hub_;
};

}  // namespace sup::actors
