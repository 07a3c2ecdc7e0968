// The log history: bounds, filtering, and follow without gaps or repeats.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "ipc/log_history.hpp"

using namespace sup::ipc;

namespace {

void append(LogHistory& history, const std::string& message, const std::string& child = {}) {
  if (child.empty()) {
    history.append({sup::LogLevel::Info, message, {}, 1});
  } else {
    sup::LogField fields[] = {{"CHILD_ID", child}, {"STREAM", "stdout"}};
    history.append({sup::LogLevel::Info, message, fields, 1});
  }
}

std::vector<std::string> messages(const LogTail& tail) {
  std::vector<std::string> out;
  for (const auto& entry : tail.records) out.push_back(entry->message);
  return out;
}

}  // namespace

TEST_CASE("records get consecutive sequences and the ring keeps the newest") {
  auto history = std::make_shared<LogHistory>(LogHistory::Limits{3, 1 << 20});
  for (int i = 1; i <= 5; ++i) append(*history, "m" + std::to_string(i));
  LogTail tail = history->tail({});
  CHECK(messages(tail) == std::vector<std::string>{"m3", "m4", "m5"});
  CHECK(tail.records.front()->sequence == 3);
  CHECK(tail.last_sequence == 5);
}

TEST_CASE("the byte limit evicts old records too") {
  auto history = std::make_shared<LogHistory>(LogHistory::Limits{100, 25});
  append(*history, std::string(10, 'a'));
  append(*history, std::string(10, 'b'));
  append(*history, std::string(10, 'c'));
  CHECK(messages(history->tail({})) ==
        std::vector<std::string>{std::string(10, 'b'), std::string(10, 'c')});
}

TEST_CASE("tail filters by child and bounds lines and bytes") {
  auto history = std::make_shared<LogHistory>();
  append(*history, "daemon 1");
  append(*history, "a1", "a");
  append(*history, "b1", "b");
  append(*history, "a2", "a");
  CHECK(messages(history->tail({"a", 100})) == std::vector<std::string>{"a1", "a2"});
  CHECK(messages(history->tail({std::nullopt, 2})) == std::vector<std::string>{"b1", "a2"});
  CHECK(history->tail({"nobody", 100}).records.empty());
  CHECK(history->tail({std::nullopt, 0}).records.empty());

  // "a2" + CHILD_ID=a + STREAM=stdout is 2 + 9 + 12 bytes.
  LogTail bounded = history->tail({std::nullopt, 100, 30});
  CHECK(messages(bounded) == std::vector<std::string>{"a2"});
  CHECK(bounded.truncated);
  CHECK(*bounded.records.front()->child_id() == "a");
  CHECK(history->tail({}).records.front()->child_id() == nullptr);
}

TEST_CASE("follow replays what came after the tail, then streams, with no gap or repeat") {
  auto history = std::make_shared<LogHistory>();
  append(*history, "a1", "a");
  LogTail tail = history->tail({"a", 100});
  append(*history, "a2", "a");  // between the tail and the follow
  append(*history, "b1", "b");

  std::vector<std::string> seen;
  auto subscription = history->follow("a", tail.last_sequence,
                                      [&](const LogEntryPtr& e) { seen.push_back(e->message); });
  append(*history, "a3", "a");
  append(*history, "b2", "b");
  CHECK(seen == std::vector<std::string>{"a2", "a3"});

  subscription.reset();
  append(*history, "a4", "a");
  CHECK(seen.size() == 2);
}

TEST_CASE("attach keeps every sup::log record until detached") {
  auto history = std::make_shared<LogHistory>();
  history->attach();
  history->attach();  // idempotent: one subscription
  sup::log(sup::LogLevel::Warn, "from the daemon", {{"CHILD_ID", "x"}});
  REQUIRE(sup::flush_logs());  // records reach subscribers on the logging thread
  LogTail tail = history->tail({"x", 10});
  REQUIRE(tail.records.size() == 1);
  CHECK(tail.records[0]->message == "from the daemon");
  CHECK(tail.records[0]->level == sup::LogLevel::Warn);
  history->detach();
  sup::log(sup::LogLevel::Warn, "after detach", {{"CHILD_ID", "x"}});
  REQUIRE(sup::flush_logs());
  CHECK(history->tail({"x", 10}).records.size() == 1);
}

// Fails under ASan (use after free) if the subscription held the history raw.
TEST_CASE("a follow subscription outliving its history is harmless") {
  sup::EventSubscription subscription;
  {
    auto history = std::make_shared<LogHistory>();
    subscription = history->follow(std::nullopt, 0, [](const LogEntryPtr&) {});
  }
  subscription.reset();
}
