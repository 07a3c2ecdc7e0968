#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "supervisor/backoff.hpp"
#include "supervisor/command_ledger.hpp"
#include "supervisor/event_window.hpp"
#include "supervisor/token_bucket.hpp"

using namespace sup;
using namespace sup::core;

TEST_CASE("token bucket spends whole tokens and refills over time") {
  TokenBucket bucket({.capacity = 3, .refill_per_sec = 0.5}, 0);
  CHECK(bucket.try_take(0));
  CHECK(bucket.try_take(0));
  CHECK(bucket.try_take(0));
  CHECK_FALSE(bucket.try_take(0));
  CHECK(bucket.available(0) == 0);
  CHECK(bucket.available(1'999) == 0);  // 0.9995 tokens: not a whole one yet
  CHECK(bucket.available(2'000) == 1);
  CHECK(bucket.try_take(2'000));
  CHECK(bucket.available(60'000) == 3);  // never above capacity
  bucket.refill_fully(60'000);
  CHECK(bucket.available(60'000) == 3);
}

TEST_CASE("token bucket with no refill stays empty") {
  TokenBucket bucket({.capacity = 1, .refill_per_sec = 0}, 0);
  CHECK(bucket.try_take(0));
  CHECK_FALSE(bucket.try_take(1'000'000));
}

TEST_CASE("event window reports when the limit falls inside the window") {
  EventWindow window(3, 1'000);
  CHECK_FALSE(window.record(0));
  CHECK_FALSE(window.record(100));
  CHECK(window.record(200));
  CHECK(window.count(200) == 3);
  CHECK(window.count(1'050) == 2);  // the event at 0 left the window
  CHECK_FALSE(window.record(2'500));
  window.clear();
  CHECK(window.count(2'500) == 0);
}

TEST_CASE("event window keeps the last `limit` events, and only those inside the window") {
  EventWindow last_three(3, 1'000);
  for (int at = 0; at < 10; ++at) last_three.record(at);
  CHECK(last_three.count(9) == 3);
  CHECK(last_three.record(10));

  // A root that must never fuse: the limit is never reached, and what the
  // window holds is what happened inside it, whatever came before.
  EventWindow huge(1'000'000'000, 1'000);
  for (int at = 0; at < 5'000; ++at) CHECK_FALSE(huge.record(at));
  CHECK(huge.count(4'999) == 1'000);
  CHECK(huge.count(5'500) == 499);  // those at 4'501 .. 4'999
  CHECK_FALSE(huge.record(10'000));
  CHECK(huge.count(10'000) == 1);
}

TEST_CASE("event window with limit 0 is disabled") {
  EventWindow window(0, 1'000);
  for (int i = 0; i < 100; ++i) CHECK_FALSE(window.record(i));
}

TEST_CASE("backoff ceiling grows exponentially and is capped") {
  BackoffSpec spec{.initial_ms = 100, .max_ms = 1'000, .multiplier = 2.0};
  CHECK(backoff_ceiling_ms(spec, 1) == 100);
  CHECK(backoff_ceiling_ms(spec, 2) == 200);
  CHECK(backoff_ceiling_ms(spec, 4) == 800);
  CHECK(backoff_ceiling_ms(spec, 5) == 1'000);
  CHECK(backoff_ceiling_ms(spec, 60) == 1'000);
}

TEST_CASE("backoff saturates: no NaN or overflow at attempt 10^6") {
  // initial_ms 0 (valid: restart at once) with the default multiplier: the
  // power overflows near attempt 1,025, and 0 * inf is NaN.
  BackoffSpec zero{.initial_ms = 0, .max_ms = 30'000, .multiplier = 2.0};
  std::mt19937_64 rng(1);
  for (std::uint32_t attempt : {1u, 1'024u, 1'025u, 1'026u, 100'000u, 1'000'000u, UINT32_MAX}) {
    CAPTURE(attempt);
    CHECK(backoff_ceiling_ms(zero, attempt) == 0);
    CHECK(backoff_delay_ms(zero, attempt, rng) == 0);
  }
  BackoffSpec steep{.initial_ms = 3'600'000, .max_ms = 86'400'000, .multiplier = 1000.0};
  BackoffSpec flat{.initial_ms = 100, .max_ms = 30'000, .multiplier = 1.0};
  for (std::uint32_t attempt : {2u, 1'025u, 1'000'000u, UINT32_MAX}) {
    CAPTURE(attempt);
    CHECK(backoff_ceiling_ms(steep, attempt) == 86'400'000);
    CHECK(backoff_delay_ms(steep, attempt, rng) <= 86'400'000);
    CHECK(backoff_ceiling_ms(flat, attempt) == 100);
  }
}

TEST_CASE("full jitter stays within [0, ceiling] and spreads across the range") {
  BackoffSpec spec{.initial_ms = 100, .max_ms = 10'000, .multiplier = 2.0};
  std::mt19937_64 rng(7);
  std::set<std::uint64_t> distinct;
  std::uint64_t low = UINT64_MAX, high = 0;
  for (int i = 0; i < 2'000; ++i) {
    auto delay = backoff_delay_ms(spec, 4, rng);  // ceiling 800
    CHECK(delay <= 800);
    low = std::min(low, delay);
    high = std::max(high, delay);
    distinct.insert(delay);
  }
  CHECK(low < 80);    // reaches the bottom decile
  CHECK(high > 720);  // and the top decile
  CHECK(distinct.size() > 400);
  BackoffSpec zero{.initial_ms = 0, .max_ms = 0, .multiplier = 2.0};
  CHECK(backoff_delay_ms(zero, 3, rng) == 0);
}

TEST_CASE("command ledger: blank fields refused, repeats replayed, audit line is JSON") {
  CommandLedger ledger(2);
  CHECK(ledger.admit({"", "alice", "why"})->kind == CommandResult::Rejected);
  CHECK(ledger.admit({"c1", "  ", "why"})->reason ==
        "field_path=\"requested_by\": must not be blank");
  CHECK(ledger.admit({"c1", "alice", "\t"})->reason == "field_path=\"reason\": must not be blank");
  CHECK(ledger.admit({"c1", "alice", std::string(2'000, 'r')})->kind == CommandResult::Rejected);
  CommandMeta meta{"c1", "alice", "say \"hi\"\n"};
  CHECK_FALSE(ledger.admit(meta).has_value());
  auto line = ledger.record(meta, "remove_child", "w1", CommandResult::accepted(), 5);
  CHECK(line ==
        R"({"at_unix_ms":5,"command":"remove_child","target":"w1","command_id":"c1",)"
        R"("requested_by":"alice","reason":"say \"hi\"\n","result":"CommandResult::Accepted"})");
  auto replay = ledger.admit(meta);
  REQUIRE(replay.has_value());
  CHECK(replay->kind == CommandResult::Accepted);
  CHECK(replay->idempotent);
  ledger.record({"c2", "a", "r"}, "x", "y", CommandResult::not_found("no"), 6);
  ledger.record({"c3", "a", "r"}, "x", "y", CommandResult::accepted(), 7);
  CHECK_FALSE(ledger.admit(meta).has_value());  // evicted: capacity 2
  // Outside text with invalid UTF-8 still gives an audit line that parses.
  auto hostile = ledger.record({"c4", "a", std::string("bad \xff\xc3 byte")}, "x", "y",
                               CommandResult::accepted(), 8);
  CHECK(nlohmann::json::parse(hostile)["reason"] == "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
}
