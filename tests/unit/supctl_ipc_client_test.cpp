// The socket client against a fake daemon: calls, pushes interleaved with
// answers, the operator's messages for a daemon that is not there, and
// link failures (timeouts, drops, garbage).
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <fstream>

#include "supctl/ipc_client.hpp"
#include "supctl_fake_daemon.hpp"

using namespace sup::cli;
using namespace sup::cli::testing;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A socket file nobody listens on, as a crashed daemon leaves behind.
void make_stale_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE("lines are classified as responses or pushes, anything else is a bad response") {
  auto response = parse_message(R"({"request_id":"r1","ok":true,"result":{"type":"state"}})");
  REQUIRE(response);
  CHECK(response->kind == Message::Response);
  CHECK(response->request_id == "r1");
  CHECK(response->body["type"] == "state");

  auto refusal = parse_message(R"({"request_id":null,"ok":false,"error":{"code":"invalid_json"}})");
  REQUIRE(refusal);
  CHECK_FALSE(refusal->ok);
  CHECK(refusal->request_id.empty());
  CHECK(refusal->body["code"] == "invalid_json");

  auto push = parse_message(R"({"type":"event","sequence":3})");
  REQUIRE(push);
  CHECK(push->kind == Message::Push);
  CHECK(push->body["sequence"] == 3);

  for (const char* bad : {"not json", "[1,2]", R"({"ok":"yes"})", R"({"sequence":3})"}) {
    auto message = parse_message(bad);
    REQUIRE_FALSE(message);
    CHECK(message.error().code == link_error::kBadResponse);
  }
}

TEST_CASE("connect failures tell the operator what is wrong and what to do") {
  const sup::Error missing = connect_error(ENOENT, "/tmp/supervisor.sock");
  CHECK(missing.code == link_error::kNotRunning);
  CHECK(missing.message ==
        "supervisor is not running (no socket at /tmp/supervisor.sock): start it with "
        "`systemctl start supervisor` or tools/run");

  const sup::Error stale = connect_error(ECONNREFUSED, "/nonexistent/dir/supervisor.sock");
  CHECK(stale.code == link_error::kStaleSocket);
  CHECK(contains(stale.message, "stale socket at /nonexistent/dir/supervisor.sock"));
  CHECK(contains(stale.message, "pgrep -x supervisor"));

  const sup::Error denied = connect_error(EACCES, "/tmp/supervisor.sock");
  CHECK(denied.code == link_error::kPermissionDenied);
  CHECK(contains(denied.message, "permission denied on /tmp/supervisor.sock"));

  CHECK(connect_error(EMFILE, "/x").code == link_error::kConnectFailed);
}

TEST_CASE("connecting to a missing, stale or non-socket path fails with the right code") {
  FakeDaemon daemon([](const json&) { return Lines{}; });
  const std::string dir = daemon.dir();

  auto missing = IpcClient::connect(dir + "/missing.sock", deadline_in(2s));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == link_error::kNotRunning);

  make_stale_socket(dir + "/stale.sock");
  auto stale = IpcClient::connect(dir + "/stale.sock", deadline_in(2s));
  REQUIRE_FALSE(stale);
  CHECK(stale.error().code == link_error::kStaleSocket);

  std::ofstream(dir + "/plain-file") << "x";
  auto plain = IpcClient::connect(dir + "/plain-file", deadline_in(2s));
  REQUIRE_FALSE(plain);
  CHECK(plain.error().code == link_error::kConnectFailed);
  CHECK(contains(plain.error().message, "is not a socket"));

  auto too_long = IpcClient::connect("/tmp/" + std::string(200, 'x'), deadline_in(2s));
  REQUIRE_FALSE(too_long);
  CHECK(contains(too_long.error().message, "longer than 107 bytes"));
}

TEST_CASE("a call gets its own answer; pushes that arrive meanwhile are kept in order") {
  FakeDaemon daemon([](const json& request) {
    if (request["method"] == "state")
      return Lines{demo_event(1),
                   {{"request_id", "someone-else"}, {"ok", true}, {"result", json::object()}},
                   demo_event(2),
                   ok_response(request, {{"type", "state"}, {"state_generation", 9}})};
    return Lines{};
  });
  auto client = IpcClient::connect(daemon.path(), deadline_in(5s));
  REQUIRE(client);
  auto reply = client->call("state", {{"x", 1}}, deadline_in(10s));
  REQUIRE(reply);
  CHECK(reply->ok);
  CHECK(reply->body["state_generation"] == 9);

  auto first = client->receive(deadline_in(10s));
  auto second = client->receive(deadline_in(10s));
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->body["event"]["sequence"] == 1);
  CHECK(second->body["event"]["sequence"] == 2);

  // Nothing more: a deadline in the past takes only what already arrived.
  auto none = client->receive(Deadline{});
  REQUIRE_FALSE(none);
  CHECK(none.error().code == link_error::kTimeout);

  const auto requests = daemon.requests_for("state");
  REQUIRE(requests.size() == 1);
  CHECK(requests[0]["params"]["x"] == 1);
  CHECK(requests[0]["request_id"].get<std::string>().rfind("supctl-", 0) == 0);
}

TEST_CASE("an error the daemon could not attribute is the answer to the call in flight") {
  FakeDaemon daemon([](const json&) {
    return Lines{{{"ok", false}, {"error", {{"code", "invalid_request"}, {"message", "?"}}}}};
  });
  auto client = IpcClient::connect(daemon.path(), deadline_in(5s));
  REQUIRE(client);
  auto reply = client->call("state", json::object(), deadline_in(10s));
  REQUIRE(reply);
  CHECK_FALSE(reply->ok);
  CHECK(reply->body["code"] == "invalid_request");
}

TEST_CASE("silence, a dropped link and garbage are link failures") {
  FakeDaemon daemon([](const json& request) {
    if (request["method"] == "garbage") return Lines{};  // the test pushes raw bytes instead
    return Lines{};
  });
  auto client = IpcClient::connect(daemon.path(), deadline_in(5s));
  REQUIRE(client);

  auto silent = client->call("state", json::object(), deadline_in(200ms));
  REQUIRE_FALSE(silent);
  CHECK(silent.error().code == link_error::kTimeout);
  CHECK(contains(silent.error().message, "`state`"));

  REQUIRE(eventually([&] { return daemon.requests().size() == 1; }));
  daemon.push_raw("this is not json\n");
  auto garbage = client->receive(deadline_in(10s));
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error().code == link_error::kBadResponse);
  CHECK(contains(garbage.error().message, "\"this is not json\""));

  daemon.stop();
  auto dropped = client->receive(deadline_in(10s));
  REQUIRE_FALSE(dropped);
  CHECK(dropped.error().code == link_error::kDisconnected);
}

TEST_CASE("a push split across reads and a CRLF line are put back together") {
  FakeDaemon daemon([](const json&) { return Lines{}; });
  auto client = IpcClient::connect(daemon.path(), deadline_in(5s));
  REQUIRE(client);
  REQUIRE(eventually([&] { return daemon.connections_accepted() == 1; }));
  daemon.push_raw(R"({"type":"event",)");
  auto partial = client->receive(deadline_in(100ms));
  REQUIRE_FALSE(partial);  // half a line is not a message yet
  daemon.push_raw("\"sequence\":5}\r\n\n");
  auto whole = client->receive(deadline_in(10s));
  REQUIRE(whole);
  CHECK(whole->body["sequence"] == 5);
}
