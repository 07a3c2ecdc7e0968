// Who may use the socket (runbook P1-003): the file is mode 0660, and a
// peer whose SO_PEERCRED uid is neither root nor the daemon's may read but
// not mutate. The tests really switch to uid 65534, which needs root: run
// as another user, those cases are skipped (doctest::skip) and ctest reports
// the executable skipped (tests/doctest_main.cpp).
#include <doctest/doctest.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr gid_t kRootGroup = 0;

// Switching uid needs root: the cases that do it are skipped without it.
bool cannot_switch_uid() {
  return geteuid() != 0;
}

Json config_reachable_by_others(const sup::it::TempDir& dir) {
  // The socket's directory must be reachable by the other user.
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
  Json config = sup::it::base_config(dir);
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  return config;
}

struct PeerOutcome {
  int connect_errno = 0;  // 0: connected
  std::string replies;    // what the daemon answered, newline-separated
};

// Forks a process that drops to `uid`/`gid` (no supplementary groups),
// connects to `socket`, sends `requests` (one line each) and reads as many
// reply lines. Only async-signal-safe calls after fork(): everything is
// prepared here.
PeerOutcome as_other_user(const std::string& socket, uid_t uid, gid_t gid,
                          const std::vector<std::string>& requests) {
  std::string payload;
  for (const auto& request : requests) payload += request + "\n";
  const std::size_t wanted_lines = requests.size();
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket.c_str(), sizeof address.sun_path - 1);
  const int timeout_ms = static_cast<int>(scaled(10s).count());

  int report[2];
  REQUIRE(pipe(report) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(report[0]);
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(2);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    int connected =
        fd >= 0 ? connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) : -1;
    int error = connected == 0 ? 0 : errno;
    (void)!write(report[1], &error, sizeof error);
    if (connected != 0) _exit(0);
    (void)!write(fd, payload.data(), payload.size());
    static char replies[1 << 20];
    std::size_t size = 0;
    std::size_t lines = 0;
    while (lines < wanted_lines && size < sizeof replies) {
      pollfd entry{fd, POLLIN, 0};
      if (poll(&entry, 1, timeout_ms) <= 0) break;
      ssize_t n = read(fd, replies + size, sizeof replies - size);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) lines += replies[size + i] == '\n';
      size += static_cast<std::size_t>(n);
    }
    (void)!write(report[1], replies, size);
    _exit(0);
  }
  close(report[1]);
  PeerOutcome outcome;
  std::string received;
  char buffer[64 * 1024];
  for (ssize_t n; (n = read(report[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  close(report[0]);
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "the peer process failed");
  REQUIRE(received.size() >= sizeof outcome.connect_errno);
  std::memcpy(&outcome.connect_errno, received.data(), sizeof outcome.connect_errno);
  outcome.replies = received.substr(sizeof outcome.connect_errno);
  return outcome;
}

std::string request(const std::string& id, const std::string& method, const Json& params) {
  return Json{{"request_id", id}, {"method", method}, {"params", params}}.dump();
}

sup::it::RunResult supctl_as(const sup::it::Daemon& daemon, const std::string& group,
                             std::vector<std::string> args) {
  sup::it::SpawnOptions options;
  options.argv = {"setpriv",           "--reuid=65534",          "--regid=" + group,
                  "--clear-groups",    sup::it::supctl_binary(), "--socket",
                  daemon.socket_path()};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return sup::it::run_command(options, scaled(20s));
}

}  // namespace

TEST_CASE("the socket file is mode 0660, also after the relay restarted") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, config_reachable_by_others(dir));
  struct stat info {};
  REQUIRE(stat(daemon->socket_path().c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 07777) == 0660);

  auto kill = daemon->supctl({"--json", "kill", "relay", "--yes"});
  REQUIRE_MESSAGE(kill.code() == 0, kill.describe());
  REQUIRE(daemon->wait_until_serving());
  REQUIRE(stat(daemon->socket_path().c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0660);
}

TEST_CASE("a peer that is neither root nor the daemon's uid may read but is refused commands" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, config_reachable_by_others(dir));
  Json restart = sup::it::command_params("beat");
  Json quarantine = sup::it::command_params("beat");

  // uid nobody in the socket's group: may connect (0660), not mutate.
  auto outcome =
      as_other_user(daemon->socket_path(), kNobody, kRootGroup,
                    {request("h", "hello", Json::object()), request("s", "state", Json::object()),
                     request("r", "command.restart_child", restart),
                     request("q", "command.quarantine_child", quarantine)});
  REQUIRE_MESSAGE(outcome.connect_errno == 0,
                  "connect as uid 65534 failed: " << std::strerror(outcome.connect_errno));
  auto replies = sup::it::json_lines(outcome.replies);
  INFO("replies: " << outcome.replies);
  REQUIRE(replies.size() == 4);
  CHECK(replies[0]["ok"] == true);
  CHECK(replies[0]["result"]["read_only"] == true);
  CHECK(replies[1]["ok"] == true);
  CHECK(replies[1]["result"]["type"] == "state");
  for (std::size_t i : {2u, 3u}) {
    CHECK(replies[i]["ok"] == false);
    CHECK(replies[i]["error"]["code"] == "permission_denied");
    CHECK(replies[i]["error"]["stage"] == "authorization");
  }
  auto beat = sup::it::find_child(*daemon->result_of("state"), "beat");
  REQUIRE(beat);
  CHECK((*beat)["state"] == "Running");
  CHECK((*beat)["restart_count"] == 0);

  // The same through supctl: refused by the daemon is exit code 4.
  auto refused = supctl_as(*daemon, "0", {"restart", "beat"});
  INFO(refused.describe());
  CHECK(refused.code() == 4);
  CHECK(refused.err.find("permission") != std::string::npos);
  auto read = supctl_as(*daemon, "0", {"--json", "health"});
  CHECK_MESSAGE(read.code() == 0, read.describe());

  // Root may.
  auto as_root = daemon->command("restart_child", "beat");
  REQUIRE(as_root);
  CHECK((*as_root)["result"]["result"]["outcome"] == "CommandResult::Accepted");
}

TEST_CASE("a user outside the socket's owner and group cannot even connect" *
          doctest::skip(cannot_switch_uid())) {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, config_reachable_by_others(dir));
  auto outcome = as_other_user(daemon->socket_path(), kNobody, kNogroup,
                               {request("s", "state", Json::object())});
  CHECK(outcome.connect_errno == EACCES);

  auto run = supctl_as(*daemon, std::to_string(kNogroup), {"state"});
  INFO(run.describe());
  CHECK(run.code() == 3);
  CHECK(run.err.find("permission denied") != std::string::npos);
}
