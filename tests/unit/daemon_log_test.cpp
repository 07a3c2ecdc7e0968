#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "daemon/log_format.hpp"
#include "daemon/log_output.hpp"

namespace {

// 2026-11-23T10:00:00.123Z
constexpr std::int64_t kSampleNanos = 1'795'428'000'123'456'789;

sup::LogRecord record(sup::LogLevel level, std::string_view message,
                      const std::vector<sup::LogField>& fields) {
  return sup::LogRecord{level, message, fields, kSampleNanos};
}

std::string timestamp(std::int64_t nanos) {
  char out[sup::daemon::kTimestampLength];
  sup::daemon::format_utc_timestamp(nanos, out);
  return std::string(out, sizeof out);
}

// Runs `body` with fd 2 redirected to a temporary file; returns what it wrote.
template <class Body>
std::string capture_stderr(Body body) {
  char path[] = "/tmp/daemon_log_test.XXXXXX";
  int file = mkstemp(path);
  REQUIRE(file >= 0);
  unlink(path);
  int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  body();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string text;
  char buffer[4096];
  lseek(file, 0, SEEK_SET);
  for (ssize_t n; (n = read(file, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  close(file);
  return text;
}

}  // namespace

TEST_CASE("UTC timestamps: calendar arithmetic without gmtime") {
  CHECK(timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(timestamp(kSampleNanos) == "2026-11-23T10:00:00.123Z");
  CHECK(timestamp(951'782'400'000'000'000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(timestamp(4'107'542'399'999'000'000) == "2100-02-28T23:59:59.999Z");
  CHECK(timestamp(-1'000'000) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("text lines: timestamp, upper-case level, message, key=value fields") {
  std::string line = sup::daemon::format_text_line(
      record(sup::LogLevel::Warn, "child exited",
             {{"CHILD_ID", "ingest"}, {"TASK_EXIT", "TaskExit::Failed"}, {"RESTART_COUNT", "3"}}));
  CHECK(line ==
        "2026-11-23T10:00:00.123Z WARN child exited CHILD_ID=ingest TASK_EXIT=TaskExit::Failed "
        "RESTART_COUNT=3\n");
}

TEST_CASE("text lines quote awkward values and keep one record per line") {
  std::string line = sup::daemon::format_text_line(record(sup::LogLevel::Error, "two\nlines",
                                                          {{"EXIT_REASON", "exit status 3"},
                                                           {"QUOTE", "say \"hi\"\\"},
                                                           {"EMPTY", ""},
                                                           {"CTRL", std::string("a\x01z")}}));
  CHECK(line ==
        "2026-11-23T10:00:00.123Z ERROR two\\nlines EXIT_REASON=\"exit status 3\" "
        "QUOTE=\"say \\\"hi\\\"\\\\\" EMPTY=\"\" CTRL=\"a\\x01z\"\n");
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
}

TEST_CASE("json lines: one object with ts, level, msg and the fields") {
  std::string line =
      sup::daemon::format_json_line(record(sup::LogLevel::Info, "ShutdownPhase::Completed",
                                           {{"SHUTDOWN_PHASE", "ShutdownPhase::Completed"}}));
  REQUIRE(line.back() == '\n');
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  CHECK(line ==
        R"({"ts":"2026-11-23T10:00:00.123Z","level":"info","msg":"ShutdownPhase::Completed",)"
        R"("SHUTDOWN_PHASE":"ShutdownPhase::Completed"})"
        "\n");
}

TEST_CASE("json lines survive invalid UTF-8 and newlines") {
  std::string line = sup::daemon::format_json_line(
      record(sup::LogLevel::Debug, "output\nline", {{"LINE", std::string("bad \xff byte")}}));
  CHECK(std::count(line.begin(), line.end(), '\n') == 1);
  auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["msg"] == "output\nline");
  CHECK(parsed["level"] == "debug");
  CHECK(parsed["LINE"].get<std::string>().find("byte") != std::string::npos);
}

TEST_CASE("journal field names are valid for journald") {
  CHECK(sup::daemon::journal_field_name("CHILD_ID") == "CHILD_ID");
  CHECK(sup::daemon::journal_field_name("child-id") == "CHILD_ID");
  CHECK(sup::daemon::journal_field_name("_PID") == "PID");
  CHECK(sup::daemon::journal_field_name("9LIVES") == "LIVES");
  CHECK(sup::daemon::journal_field_name("__") == "FIELD");
  CHECK(sup::daemon::journal_field_name(std::string(100, 'A')).size() == 64);
  CHECK(sup::daemon::journal_priority(sup::LogLevel::Critical) == 2);
  CHECK(sup::daemon::journal_priority(sup::LogLevel::Error) == 3);
  CHECK(sup::daemon::journal_priority(sup::LogLevel::Warn) == 4);
  CHECK(sup::daemon::journal_priority(sup::LogLevel::Info) == 6);
  CHECK(sup::daemon::journal_priority(sup::LogLevel::Debug) == 7);
}

TEST_CASE("JOURNAL_STREAM counts only when it names the file stderr is") {
  char path[] = "/tmp/daemon_journal_stream.XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unlink(path);
  struct stat info {};
  REQUIRE(fstat(fd, &info) == 0);
  std::string matching = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  std::string other = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino + 1);
  CHECK(sup::daemon::is_journal_stream(matching.c_str(), fd));
  CHECK_FALSE(sup::daemon::is_journal_stream(other.c_str(), fd));
  CHECK_FALSE(sup::daemon::is_journal_stream((matching + "x").c_str(), fd));
  CHECK_FALSE(sup::daemon::is_journal_stream("garbage", fd));
  CHECK_FALSE(sup::daemon::is_journal_stream("", fd));
  CHECK_FALSE(sup::daemon::is_journal_stream(nullptr, fd));
  close(fd);
}

TEST_CASE("the journal is used only when JOURNAL_STREAM is our stderr and journald listens") {
  struct stat info {};
  REQUIRE(fstat(STDERR_FILENO, &info) == 0);
  std::string stream = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
  sup::config::LogConfig config;
  bool journald = access("/run/systemd/journal/socket", W_OK) == 0;
  CHECK(
      sup::daemon::install_log_output(config, stream.c_str()) ==
      (journald ? sup::daemon::LogDestination::Journal : sup::daemon::LogDestination::StderrText));
  CHECK(sup::daemon::install_log_output(config, "1:1") == sup::daemon::LogDestination::StderrText);
  sup::set_log_sink(nullptr);
}

// Last: sealing is irreversible for the process.
TEST_CASE("the installed output writes lines to stderr, filtered by level, until sealed") {
  sup::config::LogConfig config;
  config.level = sup::LogLevel::Info;
  config.format = "json";
  std::string written = capture_stderr([&] {
    CHECK(sup::daemon::install_log_output(config, nullptr) ==
          sup::daemon::LogDestination::StderrJson);
    sup::log(sup::LogLevel::Debug, "hidden");
    sup::log(sup::LogLevel::Info, "ShutdownPhase::Completed", {{"SHUTDOWN_PHASE", "x"}});
    sup::daemon::seal_log_output();
    sup::log(sup::LogLevel::Critical, "after the seal");
  });
  sup::set_log_sink(nullptr);
  CHECK(written.find("hidden") == std::string::npos);
  CHECK(written.find("after the seal") == std::string::npos);
  REQUIRE(std::count(written.begin(), written.end(), '\n') == 1);
  CHECK(nlohmann::json::parse(written)["msg"] == "ShutdownPhase::Completed");
}
