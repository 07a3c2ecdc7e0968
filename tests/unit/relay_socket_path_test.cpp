// Taking the socket path: stale files replaced, live listeners and other
// files refused with field_path "dashboard.path", the configured mode, and
// removal of only our own socket file.
#include <doctest/doctest.h>

#include <fstream>

#include "dashboard_relay/socket_path.hpp"
#include "relay_test_support.hpp"

using namespace relay_test;
using namespace sup::relay;

namespace {

// A socket file at `path`, listening when `listen` is set; closing the
// descriptor leaves a stale file behind.
int bind_raw_socket(const std::string& path, bool listen) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address = address_of(path);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  if (listen) REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

void make_stale_socket(const std::string& path) {
  ::close(bind_raw_socket(path, true));
}

sup::Status bind_server(const sup::config::DashboardConfig& config) {
  ServerOptions options;
  options.dashboard = config;
  SocketServer server(std::move(options), std::make_shared<sup::ipc::FakeControlPlane>());
  return server.bind();
}

}  // namespace

TEST_CASE("probe_socket_path tells absent, stale, live and foreign files apart") {
  TempDir dir;
  std::string path = dir.file("probe.sock");
  CHECK(probe_socket_path(path).state == PathState::Absent);

  make_stale_socket(path);
  CHECK(probe_socket_path(path).state == PathState::Stale);
  CHECK(check_socket_path(path).has_value());
  ::unlink(path.c_str());

  int listener = bind_raw_socket(path, true);
  CHECK(probe_socket_path(path).state == PathState::Live);
  auto live = check_socket_path(path);
  REQUIRE_FALSE(live.has_value());
  CHECK(live.error().code == sup::ErrorCode::InvalidConfig);
  CHECK(live.error().field_path == "dashboard.path");
  CHECK(live.error().describe().find("field_path=\"dashboard.path\"") == 0);
  ::close(listener);
  ::unlink(path.c_str());

  std::ofstream(path) << "not a socket";
  CHECK(probe_socket_path(path).state == PathState::NotSocket);
  CHECK(check_socket_path(path).error().field_path == "dashboard.path");
  CHECK(probe_socket_path(path).state == PathState::NotSocket);  // never removed
}

TEST_CASE("a socket path whose directory is missing or not a directory is a config error") {
  TempDir dir;
  std::string in_missing = dir.file("no-such-dir") + "/supervisor.sock";
  auto missing = check_socket_path(in_missing);
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == sup::ErrorCode::InvalidConfig);
  CHECK(missing.error().field_path == "dashboard.path");
  CHECK(missing.error().message.find("no-such-dir") != std::string::npos);

  std::string file = dir.file("plain-file");
  std::ofstream(file) << "x";
  auto under_file = check_socket_path(file + "/supervisor.sock");
  REQUIRE_FALSE(under_file.has_value());
  CHECK(under_file.error().field_path == "dashboard.path");

  CHECK(check_socket_path(dir.file("fine.sock")).has_value());
}

TEST_CASE("a stale socket file is replaced and the configured mode applied") {
  TempDir dir;
  auto config = test_config(dir);
  make_stale_socket(config.path);
  RunningServer s(config);
  Client client(s.path);
  CHECK(client.request(hello_request())["ok"] == true);
  struct stat info {};
  REQUIRE(::stat(s.path.c_str(), &info) == 0);
  CHECK(S_ISSOCK(info.st_mode));
  CHECK((info.st_mode & 07777) == 0660);
}

TEST_CASE("another mode can be configured") {
  TempDir dir;
  auto config = test_config(dir);
  config.mode = 0600;
  RunningServer s(config);
  struct stat info {};
  REQUIRE(::stat(s.path.c_str(), &info) == 0);
  CHECK((info.st_mode & 07777) == 0600);
}

TEST_CASE("a path someone else listens on, or that is not a socket, is refused") {
  TempDir dir;
  auto config = test_config(dir);

  SUBCASE("live listener of another process") {
    int listener = bind_raw_socket(config.path, true);
    auto bound = bind_server(config);
    REQUIRE_FALSE(bound.has_value());
    CHECK(bound.error().field_path == "dashboard.path");
    CHECK(bound.error().message.find("already listening") != std::string::npos);
    // Not touched: the other listener still owns it.
    CHECK(probe_socket_path(config.path).state == PathState::Live);
    ::close(listener);
  }
  SUBCASE("a regular file is never removed") {
    std::ofstream(config.path) << "precious";
    auto bound = bind_server(config);
    REQUIRE_FALSE(bound.has_value());
    CHECK(bound.error().field_path == "dashboard.path");
    CHECK(std::filesystem::is_regular_file(config.path));
  }
  SUBCASE("a path too long for a Unix socket") {
    config.path = dir.file(std::string(120, 'x'));
    auto bound = bind_server(config);
    REQUIRE_FALSE(bound.has_value());
    CHECK(bound.error().field_path == "dashboard.path");
  }
  SUBCASE("a directory that does not exist") {
    config.path = dir.file("missing/sup.sock");
    CHECK(bind_server(config).error().field_path == "dashboard.path");
  }
}

TEST_CASE("on exit the socket file is removed only if it is still ours") {
  TempDir dir;
  auto config = test_config(dir);

  SUBCASE("ours: removed") {
    RunningServer s(config);
    s.stop();
    CHECK_FALSE(std::filesystem::exists(config.path));
  }
  SUBCASE("replaced by someone else's socket: kept, and the server notices") {
    RunningServer s(config);
    ::unlink(config.path.c_str());
    int other = bind_raw_socket(config.path, true);
    auto other_identity = socket_identity(config.path);
    REQUIRE(s.eventually([&] { return s.end == RunEnd::PathLost; }));
    s.stop();
    CHECK(s.end == RunEnd::PathLost);
    CHECK(socket_identity(config.path) == other_identity);
    ::close(other);
  }
  SUBCASE("remove_if_same compares the inode") {
    // Each bound socket pins its inode, so the two cannot share a number.
    int first_socket = bind_raw_socket(config.path, false);
    auto first = socket_identity(config.path);
    REQUIRE(first);
    ::unlink(config.path.c_str());
    int second_socket = bind_raw_socket(config.path, false);
    CHECK_FALSE(remove_if_same(config.path, *first));
    CHECK(std::filesystem::exists(config.path));
    CHECK(remove_if_same(config.path, *socket_identity(config.path)));
    CHECK_FALSE(std::filesystem::exists(config.path));
    ::close(first_socket);
    ::close(second_socket);
  }
}

TEST_CASE("a new relay in the same process takes the path over from a lingering one") {
  TempDir dir;
  auto config = test_config(dir);
  RunningServer old_relay(config);
  Client old_client(config.path);
  CHECK(old_client.request(hello_request())["ok"] == true);

  RunningServer new_relay(config);  // binds while the old one still listens
  REQUIRE(old_relay.eventually([&] { return old_relay.end == RunEnd::PathLost; }));
  CHECK(old_client.wait_closed());
  old_relay.stop();
  // The old relay's exit left the new socket file alone.
  Client fresh(config.path);
  CHECK(fresh.request(hello_request())["ok"] == true);
  CHECK(new_relay.end == RunEnd::Stopped);
}
