// sup::log on spdlog: the payload that carries the fields, the stderr
// formats, the bounded queue's drop counting and the blocking flush.
#include "sup/log.hpp"

#include <doctest/doctest.h>
#include <spdlog/details/log_msg.h>

#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/log_backend.hpp"

namespace {

using sup::LogField;
using sup::logging::LogFormat;

// 2026-11-23T10:00:00.123Z
constexpr std::int64_t kSampleNanos = 1'795'428'000'123'456'789;

std::string formatted(LogFormat format, sup::LogLevel level, std::string_view message,
                      const std::vector<LogField>& fields, std::int64_t nanos = kSampleNanos) {
  std::string payload = sup::logging::encode_log_payload(message, fields);
  spdlog::details::log_msg msg(
      spdlog::log_clock::time_point(
          std::chrono::duration_cast<spdlog::log_clock::duration>(std::chrono::nanoseconds(nanos))),
      spdlog::source_loc{}, "sup", sup::logging::to_spdlog(level), payload);
  spdlog::memory_buf_t out;
  sup::logging::make_formatter(format)->format(msg, out);
  return {out.data(), out.size()};
}

}  // namespace

TEST_CASE("the payload carries the message and the fields through the queue") {
  std::vector<LogField> fields{{"CHILD_ID", "ingest"}, {"EMPTY", ""}, {"BINARY", {"a\0\x1f", 3}}};
  std::string payload = sup::logging::encode_log_payload("child exited", fields);
  auto decoded = sup::logging::decode_log_payload(payload);
  CHECK(decoded.message == "child exited");
  REQUIRE(decoded.fields.size() == 3);
  CHECK(decoded.fields[0].key == "CHILD_ID");
  CHECK(decoded.fields[0].value == "ingest");
  CHECK(decoded.fields[1].value.empty());
  CHECK(decoded.fields[2].value == std::string("a\0\x1f", 3));

  // Not ours, or damaged: the whole payload is the message, no fields.
  CHECK(sup::logging::decode_log_payload("plain text").message == "plain text");
  std::string cut = payload.substr(3);
  auto damaged = sup::logging::decode_log_payload(cut);
  CHECK(damaged.message == cut);
  CHECK(damaged.fields.empty());
}

TEST_CASE("text lines: timestamp, upper-case level, message, key=value fields") {
  CHECK(formatted(
            LogFormat::Text, sup::LogLevel::Warn, "child exited",
            {{"CHILD_ID", "ingest"}, {"TASK_EXIT", "TaskExit::Failed"}, {"RESTART_COUNT", "3"}}) ==
        "2026-11-23T10:00:00.123Z WARN child exited CHILD_ID=ingest TASK_EXIT=TaskExit::Failed "
        "RESTART_COUNT=3\n");
  CHECK(formatted(LogFormat::Text, sup::LogLevel::Info, "leap day", {}, 951'782'400'000'000'000) ==
        "2000-02-29T00:00:00.000Z INFO leap day\n");
}

TEST_CASE("text lines quote awkward values and keep one record per line") {
  std::string line = formatted(LogFormat::Text, sup::LogLevel::Error, "two\nlines",
                               {{"EXIT_REASON", "exit status 3"},
                                {"QUOTE", "say \"hi\"\\"},
                                {"EMPTY", ""},
                                {"CTRL", std::string("a\x01z")}});
  CHECK(line ==
        "2026-11-23T10:00:00.123Z ERROR two\\nlines EXIT_REASON=\"exit status 3\" "
        "QUOTE=\"say \\\"hi\\\"\\\\\" EMPTY=\"\" CTRL=\"a\\x01z\"\n");
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
}

TEST_CASE("json lines: one object with ts, level, msg and the fields") {
  std::string line = formatted(LogFormat::Json, sup::LogLevel::Info, "ShutdownPhase::Completed",
                               {{"SHUTDOWN_PHASE", "ShutdownPhase::Completed"}});
  CHECK(line ==
        R"({"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"ShutdownPhase::Completed",)"
        R"("SHUTDOWN_PHASE":"ShutdownPhase::Completed"})"
        "\n");
  CHECK(formatted(LogFormat::Json, sup::LogLevel::Warn, "w", {}).find(R"("level":"warn")") !=
        std::string::npos);
}

TEST_CASE("json lines survive invalid UTF-8 and newlines") {
  std::string line = formatted(LogFormat::Json, sup::LogLevel::Debug, "output\nline",
                               {{"LINE", std::string("bad \xff byte")}});
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["msg"] == "output\nline");
  CHECK(parsed["level"] == "debug");
  CHECK(parsed["LINE"] == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("a full queue drops the oldest records without blocking, counts and reports them") {
  std::promise<void> holding;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::mutex mutex;
  std::vector<std::string> messages;
  std::vector<std::string> dropped_fields;
  sup::set_log_level(sup::LogLevel::Info);
  sup::set_log_sink([&](const sup::LogRecord& record) {
    if (record.message == "hold") {
      holding.set_value();
      released.wait();  // the backend thread is stuck: the queue fills up
    }
    std::lock_guard lock(mutex);
    messages.emplace_back(record.message);
    for (const auto& field : record.fields)
      if (field.key == "DROPPED_LOG_MESSAGES") dropped_fields.push_back(field.value);
  });
  const std::uint64_t dropped_before = sup::dropped_log_records();
  sup::log(sup::LogLevel::Info, "hold");
  holding.get_future().wait();
  const std::size_t extra = 500;
  for (std::size_t i = 0; i < sup::logging::kQueueRecords + extra; ++i)
    sup::log(sup::LogLevel::Info, "filler");  // returns at once even though nothing drains
  const std::uint64_t dropped = sup::dropped_log_records() - dropped_before;
  CHECK(dropped == extra);
  release.set_value();
  REQUIRE(sup::flush_logs(10'000));
  sup::set_log_sink(nullptr);

  std::lock_guard lock(mutex);
  CHECK(std::count(messages.begin(), messages.end(), "filler") ==
        static_cast<std::ptrdiff_t>(sup::logging::kQueueRecords));
  // Reported once (or, on a machine so slow that logging took over a
  // second, in parts), and counted exactly.
  REQUIRE_FALSE(dropped_fields.empty());
  std::uint64_t reported = 0;
  for (const auto& count : dropped_fields) reported += std::stoull(count);
  CHECK(reported == extra);
  CHECK(messages.back().starts_with("dropped "));
  CHECK(messages.back().ends_with(" log messages"));
}
