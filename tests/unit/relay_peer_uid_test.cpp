// A peer whose SO_PEERCRED uid is neither root nor the daemon's may query
// but not command. Switching uid needs root: without it the case is skipped
// (doctest::skip), which ctest shows as skipped (tests/doctest_main.cpp; the
// check itself is also covered by ipc_dispatcher_test's peer_may_mutate
// cases, and against the real daemon by it_ipc_access).
#include <doctest/doctest.h>
#include <sys/wait.h>

#include "relay_test_support.hpp"

using namespace relay_test;

TEST_CASE("a peer whose uid is neither root nor the daemon's is refused commands" *
          doctest::skip(::geteuid() != 0)) {
  TempDir dir;
  auto config = test_config(dir);
  config.mode = 0666;  // let uid 65534 connect at all
  RunningServer s(config);
  s.plane->add_child_record("ingest");

  const std::string requests = json{{"request_id", "c"},
                                    {"method", "command.restart_child"},
                                    {"params",
                                     {{"command_id", "c-1"},
                                      {"requested_by", "nobody"},
                                      {"reason", "x"},
                                      {"target", "ingest"}}}}
                                   .dump() +
                               "\n" + json{{"request_id", "s"}, {"method", "state"}}.dump() + "\n";
  const sockaddr_un address = address_of(s.path);

  // The child only makes async-signal-safe calls: the parent has threads.
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0)
      ::_exit(11);
    if (::write(fd, requests.data(), requests.size()) != static_cast<ssize_t>(requests.size()))
      ::_exit(12);
    static char answer[1 << 16];
    std::size_t got = 0;
    int newlines = 0;
    while (newlines < 2 && got < sizeof(answer)) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 10'000) <= 0) ::_exit(13);
      ssize_t n = ::read(fd, answer + got, sizeof(answer) - got);
      if (n <= 0) ::_exit(14);
      for (ssize_t i = 0; i < n; ++i) newlines += answer[got + i] == '\n';
      got += static_cast<std::size_t>(n);
    }
    std::string_view text(answer, got);
    std::string_view first = text.substr(0, text.find('\n'));
    if (first.find("\"permission_denied\"") == std::string_view::npos) ::_exit(15);
    if (first.find("\"authorization\"") == std::string_view::npos) ::_exit(16);
    // Queries stay open to every peer that can connect.
    if (text.substr(first.size()).find("\"ok\":true") == std::string_view::npos) ::_exit(17);
    ::_exit(0);
  }
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (::waitpid(child, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      FAIL("the unprivileged client did not finish");
    }
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(s.plane->commands().empty());
}
