#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/log_backend.hpp"
#include "daemon/journald_sink.hpp"
#include "daemon/log_setup.hpp"

namespace {

// What the journald sink sent, entry by entry, per record.
struct JournalRecorder {
  std::vector<std::vector<std::string>> sent;
  int answer = 0;  // what sd_journal_sendv returns: < 0 refuses
  sup::daemon::JournaldSink::Send send() {
    return [this](const iovec* entries, int count) {
      auto& record = sent.emplace_back();
      for (int i = 0; i < count; ++i)
        record.emplace_back(static_cast<const char*>(entries[i].iov_base), entries[i].iov_len);
      return answer;
    };
  }
};

// Counts what reaches the fallback.
class CountingSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  int records = 0;

 protected:
  void sink_it_(const spdlog::details::log_msg&) override { ++records; }
  void flush_() override {}
};

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

TEST_CASE("journald sink: the structured fields, unchanged, through sup::log") {
  JournalRecorder journal;
  auto fallback = std::make_shared<CountingSink>();
  sup::logging::set_outputs(
      {std::make_shared<sup::daemon::JournaldSink>(fallback, journal.send())});
  sup::set_log_level(sup::LogLevel::Info);
  sup::log(sup::LogLevel::Warn, "child exited",
           {{"CHILD_ID", "ingest"},
            {"TASK_EXIT", "TaskExit::Failed"},
            {"EXIT_REASON", "exit status 3"},
            {"RESTART_COUNT", "3"},
            {"EVENT_TYPE", "child_exited"},
            {"EXECUTION_ID", "ex-1"},
            {"NODE_ID", "fetch"},
            {"child-note", "multi\nline"}});
  sup::log(sup::LogLevel::Info, "ShutdownPhase::Completed",
           {{"SHUTDOWN_PHASE", "ShutdownPhase::Completed"}});
  REQUIRE(sup::flush_logs());
  sup::set_log_sink(nullptr);
  REQUIRE(journal.sent.size() == 2);
  CHECK(journal.sent[0] == std::vector<std::string>{"MESSAGE=child exited", "PRIORITY=4",
                                                    "SYSLOG_IDENTIFIER=supervisor",
                                                    "CHILD_ID=ingest", "TASK_EXIT=TaskExit::Failed",
                                                    "EXIT_REASON=exit status 3", "RESTART_COUNT=3",
                                                    "EVENT_TYPE=child_exited", "EXECUTION_ID=ex-1",
                                                    "NODE_ID=fetch", "CHILD_NOTE=multi\nline"});
  CHECK(journal.sent[1] == std::vector<std::string>{"MESSAGE=ShutdownPhase::Completed",
                                                    "PRIORITY=6", "SYSLOG_IDENTIFIER=supervisor",
                                                    "SHUTDOWN_PHASE=ShutdownPhase::Completed"});
  CHECK(fallback->records == 0);
}

TEST_CASE("journald sink: a record journald refuses goes to the fallback") {
  JournalRecorder journal;
  journal.answer = -1;
  auto fallback = std::make_shared<CountingSink>();
  sup::logging::set_outputs(
      {std::make_shared<sup::daemon::JournaldSink>(fallback, journal.send())});
  sup::log(sup::LogLevel::Error, "refused");
  REQUIRE(sup::flush_logs());
  sup::set_log_sink(nullptr);
  CHECK(journal.sent.size() == 1);
  CHECK(fallback->records == 1);
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
  config.format = "json";
  CHECK(sup::daemon::install_log_output(config, "1:1") == sup::daemon::LogDestination::StderrJson);
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
    sup::daemon::seal_log_output();  // writes out what is queued
    sup::log(sup::LogLevel::Critical, "after the seal");
    sup::flush_logs();
  });
  sup::set_log_sink(nullptr);
  CHECK(written.find("hidden") == std::string::npos);
  CHECK(written.find("after the seal") == std::string::npos);
  REQUIRE(std::count(written.begin(), written.end(), '\n') == 1);
  CHECK(nlohmann::json::parse(written)["msg"] == "ShutdownPhase::Completed");
}
