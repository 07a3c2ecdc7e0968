// The daemon as a process (runbooks P1-001, P1-003): process name, planned
// shutdown phases, crash reports, sd_notify, config errors and the socket
// path checks at startup.
#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

Json tree_with_children(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  config["children"].push_back(sup::it::process_child("sleeper", "while :; do sleep 1; done"));
  config["children"].push_back(sup::it::drill_child("flaky", "flaky", 200));
  return config;
}

// A Unix socket bound at `path` (listening or not); the fd, or -1.
int bind_unix_socket(const std::string& path, int type) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Non-empty lines of a text.
std::vector<std::string> non_empty_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

TEST_CASE("the daemon's process name is exactly `supervisor`") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));
  std::ifstream comm("/proc/" + std::to_string(daemon->pid()) + "/comm");
  std::string name;
  std::getline(comm, name);
  CHECK(name == "supervisor");
}

TEST_CASE("SIGTERM walks the shutdown phases in order, Completed last, and exits 0 in time") {
  sup::it::TempDir dir;
  Json config = tree_with_children(dir);
  config["shutdown_timeout_ms"] = 10'000;
  auto daemon = sup::it::require_serving_daemon(dir, config);

  const auto signalled = sup::it::Clock::now();
  daemon->process().send_signal(SIGTERM);
  auto status = daemon->process().wait_exit(scaled(30s));
  REQUIRE_MESSAGE(status, "still running 30 s after SIGTERM; log:\n" << daemon->log_text());
  const auto took_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(sup::it::Clock::now() - signalled)
          .count();
  MESSAGE("planned shutdown took " << took_ms << " ms");
  INFO("log:\n" << daemon->log_text());
  CHECK_MESSAGE(status->exited_with(0), status->describe());
  CHECK(took_ms < config["shutdown_timeout_ms"].get<int>());

  const char* expected[] = {"ShutdownPhase::Draining", "ShutdownPhase::StoppingChildren",
                            "ShutdownPhase::FlushingState", "ShutdownPhase::Completed"};
  std::vector<std::string> phases;
  auto lines = daemon->log_lines();
  for (const auto& line : lines)
    if (!line.get("SHUTDOWN_PHASE").empty()) phases.push_back(line.get("SHUTDOWN_PHASE"));
  CHECK(phases == std::vector<std::string>(std::begin(expected), std::end(expected)));

  std::string last;
  for (const auto& line : lines)
    if (!line.raw.empty()) last = line.raw;
  auto last_line = sup::it::parse_log_line(last);
  CHECK_MESSAGE(last_line.get("SHUTDOWN_PHASE") == "ShutdownPhase::Completed",
                "last line: " << last);
  CHECK(last_line.get("msg").find("ShutdownPhase::Completed") != std::string::npos);
}

TEST_CASE("a fatal signal leaves a Panic line with a backtrace and the daemon dies by it") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, tree_with_children(dir));

  daemon->process().send_signal(SIGSEGV);
  auto status = daemon->process().wait_exit(scaled(20s));
  REQUIRE_MESSAGE(status, "still running after SIGSEGV; log:\n" << daemon->log_text());
  INFO("log:\n" << daemon->log_text());
  CHECK_MESSAGE(status->killed_by(SIGSEGV), status->describe());

  auto lines = daemon->process().lines(sup::it::Stream::Err);
  auto panic = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
    return line.find("Panic") != std::string::npos && line.find("SIGSEGV") != std::string::npos;
  });
  REQUIRE_MESSAGE(panic != lines.end(), "no Panic line naming SIGSEGV");
  auto record = sup::it::parse_log_line(*panic);
  CHECK_MESSAGE(record.is_record(), "the Panic line is not a JSON record: " << *panic);
  CHECK(record.get("level") == "critical");
  auto backtrace = std::find_if(panic, lines.end(), [](const std::string& line) {
    return line.find("backtrace") != std::string::npos;
  });
  REQUIRE_MESSAGE(backtrace != lines.end(), "no backtrace after the Panic line");
  CHECK(std::distance(backtrace, lines.end()) > 1);  // at least one frame
}

TEST_CASE("with NOTIFY_SOCKET the daemon sends READY=1, and STOPPING=1 on SIGTERM") {
  sup::it::TempDir dir;
  const std::string notify_path = dir.file("notify");
  int notify_fd = bind_unix_socket(notify_path, SOCK_DGRAM);
  REQUIRE(notify_fd >= 0);
  std::vector<std::string> messages;
  auto wait_for_message = [&](const std::string& wanted, std::chrono::milliseconds timeout) {
    const auto deadline = sup::it::deadline_in(timeout);
    for (;;) {
      for (const auto& message : messages)
        for (const auto& line : non_empty_lines(message))
          if (line == wanted) return true;
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - sup::it::Clock::now());
      if (left.count() <= 0) return false;
      pollfd entry{notify_fd, POLLIN, 0};
      if (poll(&entry, 1, static_cast<int>(left.count())) <= 0) continue;
      char buffer[4096];
      ssize_t n = recv(notify_fd, buffer, sizeof buffer, 0);
      if (n > 0) messages.emplace_back(buffer, static_cast<std::size_t>(n));
    }
  };

  auto daemon = sup::it::require_serving_daemon(dir, tree_with_children(dir),
                                                {.env = {{"NOTIFY_SOCKET", notify_path}}});
  CHECK_MESSAGE(wait_for_message("READY=1", scaled(10s)), "datagrams: " << Json(messages).dump());
  daemon->process().send_signal(SIGTERM);
  CHECK_MESSAGE(wait_for_message("STOPPING=1", scaled(20s)),
                "datagrams: " << Json(messages).dump());
  auto status = daemon->process().wait_exit(scaled(30s));
  REQUIRE(status);
  CHECK(status->exited_with(0));
  close(notify_fd);
}

TEST_CASE("an invalid config prints one error naming the field path and exits 78") {
  struct Case {
    const char* what;
    std::function<void(Json&)> spoil;
    const char* field_path;
  };
  const Case cases[] = {
      {"wrong type",
       [](Json& c) {
         c["children"].push_back({{"id", "x"},
                                  {"kind", "drill"},
                                  {"drill", {{"kind", "crash_after"}, {"ms", "soon"}}}});
       },
       "children[0].drill.ms"},
      {"unknown key",
       [](Json& c) {
         c["children"].push_back({{"id", "x"},
                                  {"kind", "task"},
                                  {"task", "heartbeat"},
                                  {"backof", {{"initial_ms", 5}}}});
       },
       "children[0].backof"},
      {"out of range",
       [](Json& c) {
         Json child = sup::it::drill_child("x", "crash_after", 10);
         child["backoff"] = {{"initial_ms", 500}, {"max_ms", 100}};
         c["children"].push_back(child);
       },
       "children[0].backoff.max_ms"},
      {"bad dashboard mode", [](Json& c) { c["dashboard"]["mode"] = 660; }, "dashboard.mode"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    sup::it::TempDir dir;
    Json config = sup::it::base_config(dir);
    c.spoil(config);
    auto run = sup::it::run_daemon_to_exit(dir, config);
    INFO(run.describe());
    CHECK(run.code() == 78);
    auto lines = non_empty_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(std::string("field_path=\"") + c.field_path + "\"") != std::string::npos);
    CHECK(access(sup::it::socket_path_in(dir).c_str(), F_OK) != 0);  // nothing was started
  }
}

TEST_CASE("bad input the review found: the daemon exits 78 at start, naming the field") {
  struct Case {
    const char* what;
    void (*spoil)(Json&, const sup::it::TempDir&);
    std::string field_path;
  };
  // A supervisor chain `depth` deep under the root.
  auto nested = [](int depth) {
    Json chain = {{"id", "s1"}, {"kind", "supervisor"}};
    Json* innermost = &chain;
    for (int i = 2; i <= depth; ++i) {
      (*innermost)["children"] =
          Json::array({{{"id", "s" + std::to_string(i)}, {"kind", "supervisor"}}});
      innermost = &(*innermost)["children"][0];
    }
    return chain;
  };
  // 1,000 levels: far past the limit of 64, yet shallow enough that copying the
  // value (nlohmann copies recursively) fits the test's stack under ASan. The
  // 5,000- and 20,000-deep documents of the review are config_test's, as text.
  static Json deep_chain = nested(1'000);
  std::string deep_path = "children[0]";
  for (int i = 2; i <= 68; ++i) deep_path += ".children[0]";
  const Case cases[] = {
      {"NUL in an exec argument",
       [](Json& c, const sup::it::TempDir&) {
         c["children"].push_back(
             {{"id", "p"}, {"kind", "process"}, {"exec", {"/bin/sh", std::string("-c\0true", 8)}}});
       },
       "children[0].exec[1]"},
      {"NUL in an env name",
       [](Json& c, const sup::it::TempDir&) {
         c["children"].push_back({{"id", "p"},
                                  {"kind", "process"},
                                  {"exec", {"/bin/true"}},
                                  {"env", {{std::string("A\0B", 3), "1"}}}});
       },
       "children[0].env.A"},
      {"missing binary",
       [](Json& c, const sup::it::TempDir&) {
         c["children"].push_back(
             {{"id", "p"}, {"kind", "process"}, {"exec", {"/nonexistent/sup-binary"}}});
       },
       "children[0].exec[0]"},
      {"dashboard.path in a missing directory",
       [](Json& c, const sup::it::TempDir& dir) {
         c["dashboard"]["path"] = dir.file("no-such-dir") + "/s.sock";
       },
       "dashboard.path"},
      {"supervisors 1,000 deep",
       [](Json& c, const sup::it::TempDir&) { c["children"].push_back(deep_chain); }, deep_path},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    sup::it::TempDir dir;
    Json config = sup::it::base_config(dir);
    c.spoil(config, dir);
    auto run = sup::it::run_daemon_to_exit(dir, config);
    INFO(run.describe());
    CHECK(run.code() == 78);
    auto lines = non_empty_lines(run.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find(std::string("field_path=\"") + c.field_path) != std::string::npos);
  }

  // A number beyond a double cannot be written through nlohmann: raw text.
  sup::it::TempDir dir;
  std::string path = dir.file("huge.json");
  std::ofstream(path) << R"({"intensity": 1e999})";
  auto check = sup::it::Subprocess::spawn(
      {.argv = {sup::it::supervisor_binary(), "--check-config", "--config", path}});
  REQUIRE(check);
  auto status = (*check)->wait_exit(sup::it::scaled(std::chrono::milliseconds(20'000)));
  REQUIRE(status);
  CHECK(status->exited);
  CHECK(status->code == 78);
  CHECK((*check)->text(sup::it::Stream::Err).find("field_path=\"intensity\"") != std::string::npos);
}

TEST_CASE(
    "a socket path served by another live daemon is a config error (78); that daemon "
    "keeps serving") {
  sup::it::TempDir dir;
  auto first = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));

  sup::it::TempDir other;
  Json config = sup::it::base_config(other);
  config["dashboard"]["path"] = first->socket_path();
  auto run = sup::it::run_daemon_to_exit(other, config);
  INFO(run.describe());
  CHECK(run.code() == 78);
  CHECK(run.err.find("field_path=\"dashboard.path\"") != std::string::npos);
  CHECK(non_empty_lines(run.err).size() == 1);

  auto health = first->result_of("health");
  REQUIRE_MESSAGE(health, "the first daemon stopped answering");
  CHECK((*health)["status"] == "ready");
}

TEST_CASE("a stale socket file (nothing listening) is replaced at startup") {
  sup::it::TempDir dir;
  const std::string path = sup::it::socket_path_in(dir);
  int stale = bind_unix_socket(path, SOCK_STREAM);
  REQUIRE(stale >= 0);
  close(stale);  // the file stays; nobody listens
  struct stat info {};
  REQUIRE(stat(path.c_str(), &info) == 0);
  REQUIRE(S_ISSOCK(info.st_mode));

  auto daemon = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));
  auto state = daemon->result_of("state");
  REQUIRE(state);
  CHECK(sup::it::find_child(*state, "relay"));
}
