#include "actors/event_journal.hpp"

#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <vector>

using sup::Event;
using sup::LogLevel;
using sup::actors::EventJournal;
using sup::actors::journal_line;

namespace {

std::map<std::string, std::string> as_map(const std::vector<sup::LogField>& fields) {
  std::map<std::string, std::string> out;
  for (const auto& field : fields) out.emplace(std::string(field.key), field.value);
  return out;
}

Event exited() {
  Event e;
  e.sequence = 42;
  e.event_type = "child_exited";
  e.severity = "warning";
  e.child_id = "worker";
  e.payload = {{"task_exit", "TaskExit::Failed"},
               {"exit_reason", "boom"},
               {"restart_count", "3"},
               {"custom_key", "x"}};
  return e;
}

}  // namespace

TEST_CASE("an event's journal line: readable message, journald fields, severity as level") {
  auto line = journal_line(exited());
  CHECK(line.level == LogLevel::Warn);
  CHECK(line.message == "child_exited worker: TaskExit::Failed (boom)");
  auto fields = as_map(line.fields);
  CHECK(fields["EVENT_TYPE"] == "child_exited");
  CHECK(fields["EVENT_SEQUENCE"] == "42");
  CHECK(fields["CHILD_ID"] == "worker");
  CHECK(fields["TASK_EXIT"] == "TaskExit::Failed");
  CHECK(fields["EXIT_REASON"] == "boom");
  CHECK(fields["RESTART_COUNT"] == "3");
  CHECK(fields["CUSTOM_KEY"] == "x");  // keys outside the known set, upper-cased

  Event restarting;
  restarting.event_type = "child_restarting";
  restarting.severity = "info";
  restarting.child_id = "worker";
  restarting.payload = {{"backoff_ms", "250"}};
  CHECK(journal_line(restarting).message == "child_restarting worker in 250 ms");
  Event fused;
  fused.event_type = "tree_fused";
  fused.severity = "error";
  fused.payload = {{"reason", "intensity exceeded"}};
  auto fused_line = journal_line(fused);
  CHECK(fused_line.message == "tree_fused: intensity exceeded");
  CHECK(fused_line.level == LogLevel::Error);
  CHECK(as_map(fused_line.fields).count("CHILD_ID") == 0);
}

TEST_CASE("the journal numbers, stamps, delivers and logs every event") {
  std::mutex mutex;  // subscribers run on the logging thread
  std::vector<std::string> logged;
  auto subscription = sup::subscribe_logs([&](const sup::LogRecord& record) {
    std::lock_guard lock(mutex);
    for (const auto& field : record.fields)
      if (field.key == "EVENT_SEQUENCE") logged.push_back(field.value);
  });
  EventJournal journal(16);
  std::vector<std::uint64_t> delivered;
  journal.subscribe(
      [&](const Event& e) {
        CHECK(e.occurred_at_unix_nanos > 0);
        delivered.push_back(e.sequence);
      },
      UINT64_MAX);
  journal.publish(exited());
  journal.publish(exited());
  REQUIRE(sup::flush_logs());  // logging is asynchronous
  sup::unsubscribe_logs(subscription);
  std::lock_guard lock(mutex);
  CHECK(delivered == std::vector<std::uint64_t>{1, 2});
  CHECK(logged == std::vector<std::string>{"1", "2"});
  CHECK(journal.last_sequence() == 2);
}
