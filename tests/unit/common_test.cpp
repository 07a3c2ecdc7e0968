#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/log.hpp"
#include "sup/state.hpp"
#include "sup/task_exit.hpp"

TEST_CASE("public names round-trip") {
  for (auto kind : {sup::TaskExit::Completed, sup::TaskExit::Failed, sup::TaskExit::Panicked,
                    sup::TaskExit::Cancelled, sup::TaskExit::TimedOut, sup::TaskExit::Killed}) {
    CHECK(sup::task_exit_kind_from_string(sup::to_string(kind)) == kind);
  }
  CHECK(sup::to_string(sup::TaskExit::Panicked) == "TaskExit::Panicked");
  CHECK(sup::to_string(sup::ShutdownPhase::Completed) == "ShutdownPhase::Completed");
  CHECK(sup::to_string(sup::CommandResult::NotFound) == "CommandResult::NotFound");
  CHECK(sup::strategy_from_string("rest_for_one") == sup::Strategy::RestForOne);
  CHECK_FALSE(sup::strategy_from_string("one-for-one").has_value());
  CHECK(sup::drill_kind_from_string("block_forever") == sup::DrillKind::BlockForever);
  CHECK(sup::log_level_from_string("warning") == sup::LogLevel::Warn);
}

TEST_CASE("log records reach the sink and subscribers, filtered by level") {
  std::vector<std::string> sunk;
  std::vector<std::string> seen;
  sup::set_log_sink([&](const sup::LogRecord& r) {
    std::string line(r.message);
    for (const auto& f : r.fields) line += " " + std::string(f.key) + "=" + f.value;
    sunk.push_back(line);
  });
  auto id = sup::subscribe_logs([&](const sup::LogRecord& r) { seen.emplace_back(r.message); });
  sup::set_log_level(sup::LogLevel::Info);
  sup::log(sup::LogLevel::Debug, "hidden");
  sup::log(sup::LogLevel::Warn, "child exited", {{"CHILD_ID", "a"}});
  REQUIRE(sup::flush_logs());  // records are delivered on the backend thread
  sup::unsubscribe_logs(id);
  sup::log(sup::LogLevel::Error, "after unsubscribe");
  REQUIRE(sup::flush_logs());
  sup::set_log_sink(nullptr);
  REQUIRE(sunk.size() == 2);
  CHECK(sunk[0] == "child exited CHILD_ID=a");
  CHECK(seen == std::vector<std::string>{"child exited"});
}

TEST_CASE("the command vocabulary: one entry per command, found by its bare name") {
  std::size_t seed_commands = 0;
  for (const sup::CommandInfo& info : sup::commands()) {
    CAPTURE(info.name);
    CHECK(&sup::command_info(info.kind) == &info);
    CHECK(sup::find_command(info.name) == &info);
    CHECK(sup::to_string(info.kind) == info.name);
    CHECK(info.timeout_seconds > 0);
    CHECK_FALSE(info.summary.empty());
    // A command that asks for confirmation has its question, and only then.
    CHECK(info.needs_confirmation == !info.confirmation_question.empty());
    if (info.seed) ++seed_commands;
  }
  CHECK(seed_commands == 7);
  CHECK(sup::find_command("command.restart_child") == nullptr);  // bare names only
  // The seed's confirmation set, plus our dangerous extension kill_child.
  for (auto kind : {sup::CommandKind::AddChild, sup::CommandKind::RemoveChild,
                    sup::CommandKind::ShutdownTree, sup::CommandKind::KillChild})
    CHECK(sup::command_info(kind).needs_confirmation);
  CHECK_FALSE(sup::command_info(sup::CommandKind::QuarantineChild).needs_confirmation);
  CHECK(sup::command_info(sup::CommandKind::ShutdownTree).subject == sup::CommandSubject::Tree);
  CHECK(sup::command_info(sup::CommandKind::AddChild).subject == sup::CommandSubject::NewChild);
}
