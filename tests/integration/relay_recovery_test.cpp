// Runbook P1-003 end to end: `supctl kill relay` while dashboards are
// attached. The relay restarts, subscribers reconnect with
// events.subscribe{after_sequence} and miss nothing, and
// health.dashboard_link is "connected" again (measured; target 200 ms,
// required well inside 10 s).
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Clock;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr auto kRequiredRecovery = 10s;
constexpr auto kTargetRecovery = 200ms;

Json recovery_config(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["intensity"] = 1000;  // the flaky drill must not fuse the root
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  Json flaky = sup::it::drill_child("flaky", "flaky", 300);  // keeps events flowing
  flaky["budget"] = {{"capacity", 1000}, {"refill_per_sec", 100}};
  flaky["crash_loop"] = {{"max_failures", 0}};
  flaky["backoff"] = {{"initial_ms", 10}, {"max_ms", 50}};
  config["children"].push_back(flaky);
  return config;
}

double ms_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

std::uint64_t relay_generation(const sup::it::Daemon& daemon) {
  auto state = daemon.result_of("state");
  if (!state) return 0;
  auto relay = sup::it::find_child(*state, "relay");
  return relay ? (*relay)["generation"].get<std::uint64_t>() : 0;
}

// Every event of every connection, in arrival order, must continue the
// sequence by exactly one: a reconnection that resumes with after_sequence
// loses nothing and repeats nothing.
void check_no_gaps(const std::vector<Json>& events) {
  REQUIRE_FALSE(events.empty());
  std::uint64_t expected = events.front()["sequence"].get<std::uint64_t>();
  CHECK(expected == 1);  // subscribed with after_sequence 0: everything since start
  for (const Json& event : events) {
    const auto sequence = event["sequence"].get<std::uint64_t>();
    CHECK_MESSAGE(sequence == expected,
                  "event " << event.dump() << " where #" << expected << " was due");
    expected = sequence + 1;
  }
}

}  // namespace

TEST_CASE(
    "kill relay: the subscriber reconnects with after_sequence, misses nothing, and the "
    "link is connected again") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, recovery_config(dir));

  auto opened =
      sup::it::EventStream::open(daemon->socket_path(), 0, sup::it::deadline_in(scaled(5s)));
  REQUIRE_MESSAGE(opened, (opened ? "" : opened.error().describe()));
  std::optional<sup::it::EventStream> stream(std::move(*opened));
  std::vector<Json> all_events;
  auto catch_up = stream->wait_for(
      [&](const Json& e) { return e["sequence"].get<std::uint64_t>() >= stream->subscribed_at(); },
      sup::it::deadline_in(scaled(5s)));
  REQUIRE(catch_up);
  auto linked = sup::it::wait_for_health(
      *daemon, [](const Json& h) { return h["dashboard_link"] == "connected"; }, scaled(5s));
  REQUIRE(linked);
  REQUIRE_MESSAGE((*linked)["dashboard_link"] == "connected", linked->dump());

  std::vector<double> recoveries_ms;
  for (int round = 1; round <= 3; ++round) {
    CAPTURE(round);
    const std::uint64_t generation_before = relay_generation(*daemon);
    REQUIRE(generation_before > 0);

    const auto killed_at = Clock::now();
    sup::it::SpawnOptions kill;
    kill.argv = {sup::it::supctl_binary(),
                 "--socket",
                 daemon->socket_path(),
                 "--json",
                 "kill",
                 "relay",
                 "--yes"};
    auto killer = sup::it::Subprocess::spawn(kill);
    REQUIRE(killer);

    // The relay's death closes the subscriber's connection.
    stream->wait_for([](const Json&) { return false; }, sup::it::deadline_in(scaled(10s)));
    REQUIRE_MESSAGE(stream->closed(), "the subscriber was never disconnected by the relay kill");
    const auto dropped_at = Clock::now();
    all_events.insert(all_events.end(), stream->events().begin(), stream->events().end());
    const std::uint64_t resume_after = all_events.back()["sequence"].get<std::uint64_t>();

    // Our client reconnects by itself, resuming after the last event it saw.
    std::optional<sup::it::EventStream> resumed;
    bool reconnected = sup::it::eventually(
        [&] {
          auto attempt = sup::it::EventStream::open(daemon->socket_path(), resume_after,
                                                    sup::it::deadline_in(scaled(2s)));
          if (attempt) resumed.emplace(std::move(*attempt));
          return resumed.has_value();
        },
        scaled(kRequiredRecovery), 5ms);
    REQUIRE_MESSAGE(reconnected, "could not resubscribe; log:\n" << daemon->log_text());
    const auto resubscribed_at = Clock::now();
    stream.emplace(std::move(*resumed));

    Clock::time_point connected_at{};
    auto health = sup::it::wait_for_health(
        *daemon,
        [&](const Json& h) {
          if (h["dashboard_link"] != "connected") return false;
          connected_at = Clock::now();
          return true;
        },
        scaled(kRequiredRecovery));
    REQUIRE(health);
    INFO("health: " << health->dump());
    REQUIRE((*health)["dashboard_link"] == "connected");
    // From the start of `supctl kill relay` (its own start-up included).
    const double recovery_ms = ms_between(killed_at, connected_at);
    recoveries_ms.push_back(recovery_ms);
    MESSAGE(
        "round " << round << ": `supctl kill relay` started; the subscriber's link dropped after "
                 << ms_between(killed_at, dropped_at) << " ms; resubscribed after "
                 << ms_between(killed_at, resubscribed_at) << " ms; dashboard_link connected after "
                 << recovery_ms << " ms (target " << kTargetRecovery.count() << " ms)");
    CHECK(recovery_ms < std::chrono::duration<double, std::milli>(kRequiredRecovery).count());
    WARN_MESSAGE(recovery_ms <= kTargetRecovery.count(), "recovery slower than the 200 ms target");

    // The supervisor saw the kill and restarted the relay: the events are
    // in what the old connection delivered or in the resumed stream's replay.
    auto seen_or_replayed = [&](const sup::it::EventStream::EventPredicate& predicate) {
      bool seen = std::any_of(all_events.begin(), all_events.end(), predicate);
      return seen || stream->seen(predicate) ||
             stream->wait_for(predicate, sup::it::deadline_in(scaled(5s)));
    };
    CHECK_MESSAGE(
        seen_or_replayed([&](const Json& e) {
          return sup::it::event_is("child_exited", "relay")(e) &&
                 sup::it::payload_of(e, "task_exit") == "TaskExit::Killed" &&
                 sup::it::payload_number(e, "generation") == generation_before;
        }),
        "no child_exited relay (TaskExit::Killed) event for generation " << generation_before);
    CHECK_MESSAGE(seen_or_replayed([&](const Json& e) {
                    return sup::it::event_is("child_started", "relay")(e) &&
                           sup::it::payload_number(e, "generation") > generation_before;
                  }),
                  "no child_started event for the new relay");
    CHECK(relay_generation(*daemon) > generation_before);

    auto status = (*killer)->wait_exit(scaled(20s));
    REQUIRE(status);
    INFO("supctl kill relay: " << (*killer)->text(sup::it::Stream::Out)
                               << (*killer)->text(sup::it::Stream::Err));
    CHECK(status->exited_with(0));
  }
  all_events.insert(all_events.end(), stream->events().begin(), stream->events().end());
  check_no_gaps(all_events);
  const auto [fastest, slowest] = std::minmax_element(recoveries_ms.begin(), recoveries_ms.end());
  MESSAGE("dashboard_link back to connected after a relay kill: fastest "
          << *fastest << " ms, slowest " << *slowest << " ms");
}

TEST_CASE("supctl events --follow reconnects by itself after a relay kill") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, recovery_config(dir));

  sup::it::SpawnOptions follow;
  follow.argv = {
      sup::it::supctl_binary(), "--socket", daemon->socket_path(), "--json", "events", "--follow"};
  auto follower = sup::it::Subprocess::spawn(follow);
  REQUIRE(follower);
  REQUIRE((*follower)->wait_for_line(
      sup::it::Stream::Out,
      [](const std::string& l) { return l.find("\"event_type\"") != std::string::npos; },
      scaled(10s)));

  auto kill = daemon->supctl({"--json", "kill", "relay", "--yes"});
  INFO(kill.describe());
  REQUIRE(kill.code() == 0);
  auto reconnected = (*follower)->wait_for_line(
      sup::it::Stream::Err,
      [](const std::string& l) { return l.find("reconnected") != std::string::npos; }, scaled(10s));
  CHECK_MESSAGE(reconnected, "stderr: " << (*follower)->text(sup::it::Stream::Err));

  const auto seen = (*follower)->line_count(sup::it::Stream::Out);
  auto restart = daemon->command("restart_child", "beat");
  REQUIRE(restart);
  auto after = (*follower)->wait_for_line(
      sup::it::Stream::Out,
      [](const std::string& line) {
        Json event = Json::parse(line, nullptr, false);
        return !event.is_discarded() && event.value("event_type", "") == "child_started" &&
               event.value("child_id", "") == "beat";
      },
      scaled(10s), seen);
  CHECK_MESSAGE(after, "no event after the relay came back:\n"
                           << (*follower)->text(sup::it::Stream::Out));

  std::uint64_t previous = 0;
  for (const auto& line : (*follower)->lines(sup::it::Stream::Out)) {
    Json event = Json::parse(line, nullptr, false);
    if (event.is_discarded()) continue;
    const auto sequence = event["sequence"].get<std::uint64_t>();
    CHECK_MESSAGE((sequence == previous + 1 || previous == 0), "gap or repeat before " << line);
    previous = sequence;
  }
  (*follower)->send_signal(SIGTERM);
  CHECK((*follower)->wait_exit(scaled(10s)));
}
