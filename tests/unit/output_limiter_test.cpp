#include "process/output_limiter.hpp"

#include <doctest/doctest.h>

using sup::process::OutputLimiter;

TEST_CASE("lines within the burst pass; the rest are counted and reported once due") {
  OutputLimiter limiter({.lines_per_sec = 10, .burst_lines = 3}, 0);
  for (int i = 0; i < 3; ++i) CHECK(limiter.admit(0));
  CHECK_FALSE(limiter.admit(0));
  CHECK_FALSE(limiter.admit(50));
  CHECK(limiter.report_due_at() == OutputLimiter::kReportIntervalMs);
  CHECK_FALSE(limiter.take_due_report(OutputLimiter::kReportIntervalMs - 1).has_value());
  // 100 ms refill one line at 10 lines/s.
  CHECK(limiter.admit(100));
  CHECK_FALSE(limiter.admit(100));
  CHECK(limiter.take_due_report(OutputLimiter::kReportIntervalMs) == 3u);
  CHECK_FALSE(limiter.report_due_at().has_value());
  CHECK(limiter.take_final_report() == 0u);
}

TEST_CASE("a flood gets at most one report per interval, and the rest at the end") {
  OutputLimiter limiter({.lines_per_sec = 1000, .burst_lines = 10}, 0);
  std::uint64_t admitted = 0;
  std::uint64_t reported = 0;
  std::uint64_t reports = 0;
  // 100,000 lines per second for 3.5 s, one per 10 us.
  for (std::int64_t tick = 0; tick < 350'000; ++tick) {
    const std::int64_t now_ms = tick / 100;
    if (limiter.admit(now_ms)) ++admitted;
    if (auto lines = limiter.take_due_report(now_ms)) {
      reported += *lines;
      ++reports;
    }
  }
  reported += limiter.take_final_report();
  CHECK(admitted + reported == 350'000u);
  CHECK(admitted <= 10u + 3'500u);
  CHECK(admitted >= 3'500u);
  CHECK(reports == 3u);  // at 1 s, 2 s and 3 s; the last half second at the end
}

TEST_CASE("lines_per_sec 0 means unlimited") {
  OutputLimiter limiter({.lines_per_sec = 0, .burst_lines = 1}, 0);
  for (int i = 0; i < 100'000; ++i) REQUIRE(limiter.admit(0));
  CHECK(limiter.take_final_report() == 0u);
}
