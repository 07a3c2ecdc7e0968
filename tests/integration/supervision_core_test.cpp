// Issue "supervision core" against the real daemon: restart backoff and
// budgets, quarantine, remove_child, blocking children, process output.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "common/clock.hpp"
#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {}  // namespace

TEST_CASE("a crashing child restarts with growing backoff, spends its tokens, and is quarantined") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  Json crasher = sup::it::drill_child("crasher", "crash_after", 100);
  crasher["budget"] = {{"capacity", 4}, {"refill_per_sec", 0}};
  crasher["backoff"] = {{"initial_ms", 100}, {"max_ms", 10'000}, {"multiplier", 2.0}};
  crasher["crash_loop"] = {{"max_failures", 0}};  // only the budget quarantines here
  config["children"].push_back(crasher);
  config["children"].push_back({{"id", "steady"}, {"kind", "task"}, {"task", "heartbeat"}});
  auto daemon = sup::it::require_serving_daemon(dir, config);

  auto stream =
      sup::it::EventStream::open(daemon->socket_path(), 0, sup::it::deadline_in(scaled(5s)));
  REQUIRE_MESSAGE(stream, (stream ? "" : stream.error().describe()));
  auto quarantined = stream->wait_for(sup::it::event_is("child_quarantined", "crasher"),
                                      sup::it::deadline_in(scaled(30s)));
  REQUIRE_MESSAGE(quarantined, "crasher was never quarantined; log:\n" << daemon->log_text());
  CHECK(sup::it::payload_of(*quarantined, "reason").find("budget") != std::string::npos);

  std::vector<Json> restarts;
  for (const Json& event : stream->events())
    if (sup::it::event_is("child_restarting", "crasher")(event)) restarts.push_back(event);
  INFO("child_restarting events: " << Json(restarts).dump());
  CHECK(restarts.size() == 4);  // one per token of the budget
  for (std::size_t i = 0; i < restarts.size(); ++i) {
    auto ceiling = sup::it::payload_number(restarts[i], "backoff_ceiling_ms");
    auto delay = sup::it::payload_number(restarts[i], "backoff_ms");
    CHECK(sup::it::payload_number(restarts[i], "attempt") == i + 1);
    CHECK(ceiling == 100u << i);  // initial_ms * multiplier^(attempt-1)
    CHECK(delay <= ceiling);
    if (i > 0) CHECK(ceiling > sup::it::payload_number(restarts[i - 1], "backoff_ceiling_ms"));
  }

  auto record = sup::it::wait_for_child(
      *daemon, "crasher", [](const Json& r) { return r["state"] == "Quarantined"; }, scaled(5s));
  REQUIRE(record);
  INFO("crasher record: " << record->dump());
  CHECK((*record)["state"] == "Quarantined");
  CHECK((*record)["restart_budget"]["tokens"].get<double>() == doctest::Approx(0.0));
  CHECK((*record)["restart_count"] == 4);
  CHECK((*record)["last_exit"]["kind"] == "TaskExit::Failed");
  CHECK_FALSE((*record)["quarantine_reason"].get<std::string>().empty());

  // Not restarted again: the next backoff would have been at most 1.6 s.
  const auto quarantined_count = (*record)["restart_count"];
  const std::uint64_t last_sequence_seen = stream->events().back()["sequence"];
  bool stayed_put = sup::it::eventually(
      [&] {
        auto now = sup::it::wait_for_child(
            *daemon, "crasher", [](const Json&) { return true; }, 1s);
        return !now || (*now)["state"] != "Quarantined" ||
               (*now)["restart_count"] != quarantined_count;
      },
      3s, 100ms);
  CHECK_FALSE_MESSAGE(stayed_put, "the quarantined child changed state or restarted");
  auto restarted = stream->wait_for(
      [&](const Json& e) {
        return e["sequence"].get<std::uint64_t>() > last_sequence_seen &&
               e.value("child_id", "") == "crasher" && e.value("event_type", "") == "child_started";
      },
      sup::it::deadline_in(200ms));
  CHECK_FALSE(restarted);

  auto health = daemon->result_of("health");
  REQUIRE(health);
  CHECK((*health)["status"] == "degraded");
  CHECK(Json((*health)["reasons"]).dump().find("crasher") != std::string::npos);
  auto steady = sup::it::find_child(*daemon->result_of("state"), "steady");
  REQUIRE(steady);
  CHECK((*steady)["state"] == "Running");

  // Every exit is journaled with the structured fields operators filter on.
  auto exit_line = daemon->wait_for_log(
      [](const sup::it::LogLine& line) {
        return line.get("CHILD_ID") == "crasher" && line.get("TASK_EXIT") == "TaskExit::Failed";
      },
      scaled(2s));
  REQUIRE_MESSAGE(exit_line, "no child exit record for crasher in the log");
  CHECK_FALSE(exit_line->get("EXIT_REASON").empty());
  CHECK_FALSE(exit_line->get("RESTART_COUNT").empty());
}

TEST_CASE("a crash loop (N failures inside the window) quarantines a child with tokens left") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  Json looper = sup::it::drill_child("looper", "crash_after", 50);
  looper["budget"] = {{"capacity", 100}, {"refill_per_sec", 0}};
  looper["backoff"] = {{"initial_ms", 10}, {"max_ms", 50}};
  looper["crash_loop"] = {{"max_failures", 3}, {"window_ms", 60'000}};
  config["children"].push_back(looper);
  auto daemon = sup::it::require_serving_daemon(dir, config);

  auto record = sup::it::wait_for_child(
      *daemon, "looper", [](const Json& r) { return r["state"] == "Quarantined"; }, scaled(20s));
  REQUIRE(record);
  INFO("looper record: " << record->dump());
  CHECK((*record)["state"] == "Quarantined");
  CHECK((*record)["quarantine_reason"].get<std::string>().find("crash loop") != std::string::npos);
  CHECK((*record)["restart_budget"]["tokens"].get<double>() > 90.0);
}

TEST_CASE("remove_child answers Accepted, then running == target_count; unknown ids are NotFound") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  config["children"].push_back(sup::it::process_child("alpha", "while :; do sleep 1; done"));
  config["children"].push_back(sup::it::process_child("beta", "while :; do sleep 1; done"));
  config["children"].push_back({{"id", "gamma"}, {"kind", "task"}, {"task", "heartbeat"}});
  auto daemon = sup::it::require_serving_daemon(dir, config);

  REQUIRE(sup::it::wait_for_child(
      *daemon, "beta", [](const Json& r) { return r["state"] == "Running" && r.contains("pid"); },
      scaled(10s)));
  auto before = daemon->result_of("state");
  REQUIRE(before);
  const auto target_before = (*before)["state"]["children"]["target_count"].get<int>();

  Json params = sup::it::command_params("beta");
  auto removed = daemon->call("command.remove_child", params);
  REQUIRE(removed);
  INFO("remove_child response: " << removed->dump());
  CHECK((*removed)["ok"] == true);
  CHECK((*removed)["result"]["type"] == "command_result");
  CHECK((*removed)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  CHECK((*removed)["result"]["result"]["accepted"] == true);

  Json state;
  bool settled = sup::it::eventually(
      [&] {
        auto now = daemon->result_of("state");
        if (!now) return false;
        state = *now;
        const Json& c = state["state"]["children"];
        return !sup::it::find_child(state, "beta") && c["running"] == c["target_count"];
      },
      scaled(10s));
  INFO("state after remove: " << state.dump());
  CHECK(settled);
  CHECK(state["state"]["children"]["target_count"] == target_before - 1);

  // A repeated command_id returns the first result without acting again.
  auto repeated = daemon->call("command.remove_child", params);
  REQUIRE(repeated);
  CHECK((*repeated)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  CHECK((*repeated)["result"]["result"]["idempotent"] == true);

  auto unknown = daemon->command("remove_child", "no-such-child");
  REQUIRE(unknown);
  INFO("unknown remove: " << unknown->dump());
  CHECK((*unknown)["ok"] == true);
  CHECK((*unknown)["result"]["result"]["outcome"] == "CommandResult::NotFound");
  CHECK((*unknown)["result"]["result"]["accepted"] == false);
}

TEST_CASE(
    "blocking children are reported within 1 s while the loop keeps turning; quarantine "
    "isolates them") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  config["runtime"]["blocking_threshold_ms"] = 500;
  config["children"].push_back({{"id", "steady"}, {"kind", "task"}, {"task", "heartbeat"}});
  config["children"].push_back(sup::it::drill_child("blocker", "block_forever"));
  Json stubborn = sup::it::drill_child("stubborn", "ignore_cancel");
  stubborn["shutdown_timeout_ms"] = 300;
  config["children"].push_back(stubborn);
  auto daemon = sup::it::require_serving_daemon(dir, config);

  auto stream =
      sup::it::EventStream::open(daemon->socket_path(), 0, sup::it::deadline_in(scaled(5s)));
  REQUIRE(stream);
  auto started = stream->wait_for(sup::it::event_is("child_started", "blocker"),
                                  sup::it::deadline_in(scaled(5s)));
  REQUIRE(started);
  const std::int64_t started_at = (*started)["occurred_at_unix_nanos"];

  // The loop's rate is measured over windows of >= 200 ms; wait for a first one.
  REQUIRE(sup::it::wait_for_health(
      *daemon, [](const Json& h) { return h["iterations_per_sec"].get<double>() > 0; },
      scaled(5s)));

  std::vector<double> rates;
  std::int64_t detected_at = 0;
  Json health;
  bool named = sup::it::eventually(
      [&] {
        auto now = daemon->result_of("health");
        if (!now) return false;
        health = *now;
        rates.push_back(health["iterations_per_sec"].get<double>());
        const std::string suspects = health["suspects"].dump();
        if (health["status"] != "degraded" || suspects.find("\"blocker\"") == std::string::npos ||
            suspects.find("\"stubborn\"") == std::string::npos)
          return false;
        detected_at = sup::unix_now_nanos();
        return true;
      },
      scaled(10s), 10ms);
  INFO("health: " << health.dump());
  REQUIRE(named);
  const double detect_ms = static_cast<double>(detected_at - started_at) / 1e6;
  MESSAGE("blocking children named in health " << detect_ms << " ms after blocker started");
  CHECK(detect_ms <= 1000.0 * sup::it::time_scale());
  for (double rate : rates) CHECK(rate > 0);
  CHECK(Json(health["reasons"]).dump().find("blocker") != std::string::npos);

  for (const char* id : {"blocker", "stubborn"}) {
    auto result = daemon->command("quarantine_child", id);
    REQUIRE(result);
    INFO("quarantine " << id << ": " << result->dump());
    CHECK((*result)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  }
  auto blocker = sup::it::wait_for_child(
      *daemon, "blocker",
      [](const Json& r) { return r["state"] == "Quarantined" && !r["last_exit"].is_null(); },
      scaled(10s));
  REQUIRE(blocker);
  CHECK((*blocker)["state"] == "Quarantined");
  auto abandoned = sup::it::wait_for_child(
      *daemon, "stubborn",
      [](const Json& r) { return r["state"] == "Quarantined" && !r["last_exit"].is_null(); },
      scaled(10s));
  REQUIRE(abandoned);
  INFO("stubborn: " << abandoned->dump());
  CHECK((*abandoned)["state"] == "Quarantined");
  CHECK((*abandoned)["last_exit"]["kind"] == "TaskExit::Killed");

  // Isolated: blocker let go of its thread, the loop turns, the rest runs.
  auto after = sup::it::wait_for_health(
      *daemon,
      [](const Json& h) { return h["suspects"].dump().find("\"blocker\"") == std::string::npos; },
      scaled(5s));
  REQUIRE(after);
  INFO("health after quarantine: " << after->dump());
  CHECK((*after)["suspects"].dump().find("\"blocker\"") == std::string::npos);
  CHECK((*after)["iterations_per_sec"].get<double>() > 0);
  CHECK((*after)["status"] == "degraded");  // two children are quarantined
  auto steady = sup::it::wait_for_child(
      *daemon, "steady", [](const Json& r) { return r["state"] == "Running"; }, scaled(2s));
  REQUIRE(steady);
  CHECK((*steady)["state"] == "Running");
  CHECK((*steady)["restart_count"] == 0);
}

TEST_CASE("an external process child's output lines are logged with its CHILD_ID and stream") {
  sup::it::TempDir dir;
  Json config = sup::it::base_config(dir);
  config["children"].push_back(sup::it::process_child(
      "talker",
      "while :; do echo \"talker says hello\"; echo \"talker complains\" >&2; sleep 0.2; done"));
  auto daemon = sup::it::require_serving_daemon(dir, config);

  auto out = daemon->wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "talker says hello"; },
      scaled(10s));
  REQUIRE_MESSAGE(out, "talker's stdout never reached the log:\n" << daemon->log_text());
  CHECK(out->get("CHILD_ID") == "talker");
  CHECK(out->get("STREAM") == "stdout");
  auto err = daemon->wait_for_log(
      [](const sup::it::LogLine& line) { return line.get("msg") == "talker complains"; },
      scaled(10s));
  REQUIRE(err);
  CHECK(err->get("CHILD_ID") == "talker");
  CHECK(err->get("STREAM") == "stderr");
}
