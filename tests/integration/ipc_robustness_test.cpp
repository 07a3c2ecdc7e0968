// Bad input never takes the daemon down nor stalls others: malformed,
// oversized, binary and mistyped requests, a flood of requests, a client
// that never reads while records flow, 200 clients at once. Each gets its
// documented error (docs/ipc.md) or is dropped, and afterwards a fresh
// client still gets a prompt answer.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>

#include "harness.hpp"
#include "serving_daemon.hpp"

using namespace std::chrono_literals;
using sup::it::Clock;
using sup::it::Json;
using sup::it::scaled;

namespace {

constexpr int kMaxLineBytes = 65'536;
constexpr int kQueueBytes = 262'144;
constexpr int kRequestsPerSec = 50;
constexpr int kMaxClients = 64;

std::chrono::milliseconds prompt() {
  return scaled(2s);
}

Json robustness_config(const sup::it::TempDir& dir) {
  Json config = sup::it::base_config(dir);
  config["dashboard"]["max_line_bytes"] = kMaxLineBytes;
  config["dashboard"]["client_queue_bytes"] = kQueueBytes;
  config["dashboard"]["requests_per_sec"] = kRequestsPerSec;
  config["dashboard"]["max_clients"] = kMaxClients;
  config["children"].push_back({{"id", "beat"}, {"kind", "task"}, {"task", "heartbeat"}});
  return config;
}

// The daemon is alive and a brand-new client is answered promptly. Right
// after a crowd left, the relay may not have seen every disconnection yet
// and refuse with too_many_clients, which is retryable: the client retries.
void check_still_serving(sup::it::Daemon& daemon) {
  CHECK_MESSAGE(!daemon.process().poll_exit(), "the daemon died; log:\n" << daemon.log_text());
  const auto asked = Clock::now();
  const auto deadline = sup::it::deadline_in(prompt());
  std::string last_failure = "no attempt";
  int attempts = 0;
  bool answered = sup::it::eventually(
      [&] {
        ++attempts;
        auto client = sup::it::SocketClient::connect(daemon.socket_path(), deadline);
        if (!client) {
          last_failure = client.error().describe();
          return false;
        }
        auto health = client->call("health", Json::object(), deadline);
        if (health && (*health)["ok"] == true) return true;
        auto pushed = client->next_push(Clock::now());
        last_failure = "response " + (health ? health->dump() : std::string("none")) + ", pushed " +
                       (pushed ? pushed->dump() : std::string("nothing"));
        return false;
      },
      prompt());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked);
  REQUIRE_MESSAGE(answered, "a fresh client got no answer within "
                                << prompt().count() << " ms; last: " << last_failure);
  MESSAGE("a fresh client was answered in " << took.count() << " ms (" << attempts
                                            << " attempt(s))");
}

std::string stage_for(const std::string& code) {
  if (code == "invalid_json" || code == "invalid_request" || code == "line_too_long")
    return "protocol_parse";
  if (code == "unsupported_method") return "protocol_parse";
  if (code == "internal") return "dispatch";
  if (code == "invalid_command_params") return "validation";
  if (code == "validation_failed") return "command_validate";
  if (code == "permission_denied") return "authorization";
  if (code == "rate_limited" || code == "too_many_clients" || code == "idle_timeout")
    return "admission";
  return "backpressure";
}

void check_error(const Json& message, const std::string& code, const std::string& field_path = {}) {
  INFO("message: " << message.dump());
  const Json& error = message["error"];
  REQUIRE(error.is_object());
  CHECK(error["code"] == code);
  CHECK(error["stage"] == stage_for(code));
  CHECK(error["message"].is_string());
  CHECK(error["retryable"].is_boolean());
  if (!field_path.empty()) CHECK(error.value("field_path", "") == field_path);
}

Json restart_params(Json extra = Json::object()) {
  Json params = {
      {"command_id", "c-1"}, {"target", "beat"}, {"reason", "test"}, {"requested_by", "it"}};
  for (const auto& [key, value] : extra.items()) params[key] = value;
  return params;
}

std::string request_line(const std::string& id, const std::string& method, const Json& params) {
  return Json{{"request_id", id}, {"method", method}, {"params", params}}.dump();
}

// Bytes that are not JSON and contain no newline.
std::string binary_garbage(std::size_t size) {
  std::mt19937 random(20261123);
  std::string bytes;
  while (bytes.size() < size) {
    char c = static_cast<char>(random() & 0xff);
    if (c != '\n') bytes += c;
  }
  bytes[0] = '\xff';  // never a valid start of JSON
  return bytes;
}

}  // namespace

TEST_CASE(
    "malformed, binary and mistyped requests get their documented error; the connection "
    "survives") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, robustness_config(dir));
  auto client =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(client);

  struct Case {
    const char* what;
    std::string line;
    const char* code;
    const char* field_path;
    const char* echoed_id;  // request_id echoed in the response, or nullptr for null
  };
  const Case cases[] = {
      {"truncated JSON", R"({"request_id": "m1", "method": )", "invalid_json", "", nullptr},
      {"binary garbage", binary_garbage(4096), "invalid_json", "", nullptr},
      {"deep nesting", std::string(5000, '[') + std::string(5000, ']'), "invalid_json", "",
       nullptr},
      {"not an object", "[1, 2, 3]", "invalid_request", "", nullptr},
      {"no request_id", R"({"method": "state"})", "invalid_request", "request_id", nullptr},
      {"numeric request_id", R"({"request_id": 5, "method": "state"})", "invalid_request",
       "request_id", nullptr},
      {"numeric method", R"({"request_id": "t1", "method": 7})", "invalid_request", "method", "t1"},
      {"params not an object", R"({"request_id": "t2", "method": "state", "params": []})",
       "invalid_request", "params", "t2"},
      {"unknown method", R"({"request_id": "u1", "method": "frobnicate"})", "unsupported_method",
       "", "u1"},
      {"lines of the wrong type", request_line("t3", "logs.tail", {{"lines", "many"}}),
       "invalid_request", "params.lines", "t3"},
      {"command_id of the wrong type",
       request_line("t4", "command.restart_child", restart_params({{"command_id", 7}})),
       "invalid_command_params", "params.command_id", "t4"},
      {"blank reason",
       request_line("t5", "command.restart_child", restart_params({{"reason", "  "}})),
       "invalid_command_params", "params.reason", "t5"},
      {"unknown param",
       request_line("t6", "command.restart_child", restart_params({{"surprise", 1}})),
       "invalid_command_params", "params.surprise", "t6"},
      {"dangerous without confirmation",
       request_line("t7", "command.remove_child", restart_params()), "validation_failed",
       "params.confirmed", "t7"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    REQUIRE(client->send_all(c.line + "\n", sup::it::deadline_in(prompt())));
    auto response = client->read_message(sup::it::deadline_in(prompt()));
    REQUIRE_MESSAGE(response, "no answer (closed: " << client->closed() << ")");
    REQUIRE(response->is_object());
    CHECK((*response)["ok"] == false);
    check_error(*response, c.code, c.field_path);
    if (c.echoed_id)
      CHECK((*response)["request_id"] == c.echoed_id);
    else
      CHECK((*response)["request_id"] == "invalid-request");
    auto hello = client->call("hello", Json::object(), sup::it::deadline_in(prompt()));
    REQUIRE_MESSAGE(hello, "the connection did not survive");
    CHECK((*hello)["ok"] == true);
  }
  auto beat = sup::it::find_child(*daemon->result_of("state"), "beat");
  REQUIRE(beat);
  CHECK((*beat)["restart_count"] == 0);  // none of the malformed commands acted
  check_still_serving(*daemon);
}

TEST_CASE("a 10 MiB line gets line_too_long and the connection is closed; others carry on") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, robustness_config(dir));
  auto bystander =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(bystander);
  auto sender =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(sender);

  const std::size_t total = 10u << 20;
  const std::string chunk = R"({"request_id": "big", "method": "state", "params": {"pad": ")" +
                            std::string(64 * 1024, 'a');
  std::size_t sent = 0;
  bool peer_stopped_reading = false;
  std::vector<Json> received;
  const auto deadline = sup::it::deadline_in(scaled(30s));
  while (!sender->closed() && Clock::now() < deadline) {
    pollfd entry{sender->fd(), static_cast<short>(POLLIN | (peer_stopped_reading ? 0 : POLLOUT)),
                 0};
    if (poll(&entry, 1, 100) <= 0) continue;
    if ((entry.revents & POLLOUT) && sent < total) {
      ssize_t n =
          send(sender->fd(), chunk.data(), std::min(chunk.size(), total - sent), MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EINTR) peer_stopped_reading = true;
      if (sent >= total) peer_stopped_reading = true;  // never sends the newline
    }
    if (entry.revents & (POLLIN | POLLHUP | POLLERR)) {
      while (auto message = sender->read_message(Clock::now())) received.push_back(*message);
    }
  }
  MESSAGE("sent " << sent << " bytes of the long line before the daemon cut it off");
  REQUIRE_MESSAGE(sender->closed(), "the daemon never closed the connection of the long line");
  REQUIRE_MESSAGE(received.size() == 1,
                  "expected exactly the line_too_long error: " << Json(received).dump());
  check_error(received.front(), "line_too_long");

  auto answer = bystander->call("health", Json::object(), sup::it::deadline_in(prompt()));
  REQUIRE_MESSAGE(answer, "the other client was stalled");
  CHECK((*answer)["ok"] == true);
  check_still_serving(*daemon);
}

TEST_CASE("a flood of requests is rate limited, each answered; the daemon carries on") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, robustness_config(dir));
  auto client =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(client);
  constexpr int kFlood = 10 * kRequestsPerSec;
  std::string burst;
  for (int i = 0; i < kFlood; ++i)
    burst += Json{{"request_id", "f" + std::to_string(i)}, {"method", "health"}}.dump() + "\n";
  REQUIRE(client->send_all(burst, sup::it::deadline_in(scaled(10s))));

  int answered = 0;
  int limited = 0;
  while (answered < kFlood) {
    auto response = client->read_message(sup::it::deadline_in(scaled(10s)));
    REQUIRE_MESSAGE(response, "only " << answered << " of " << kFlood << " requests were answered");
    ++answered;
    if ((*response)["ok"] == true) continue;
    check_error(*response, "rate_limited");
    CHECK((*response)["error"]["retryable"] == true);
    ++limited;
  }
  MESSAGE(limited << " of " << kFlood << " requests were rate limited");
  CHECK(limited > 0);
  check_still_serving(*daemon);
}

TEST_CASE("a client that never reads while records flow is dropped; the others stay prompt") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, robustness_config(dir));
  auto silent =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(silent);
  REQUIRE(silent->send_request("events.subscribe", Json::object(), sup::it::deadline_in(prompt())));
  REQUIRE(silent->send_request("logs.tail", {{"follow", true}, {"lines", 0}},
                               sup::it::deadline_in(prompt())));

  // Plenty of log records (each a push to the silent client).
  Json chatter = sup::it::process_child(
      "chatter",
      "while :; do seq -f 'chatter line %g ......................................"
      "..........................................................' 1 500; sleep 0.1; done");
  auto added = daemon->command("add_child", "", {{"spec", chatter}});
  REQUIRE(added);
  REQUIRE_MESSAGE((*added)["result"]["result"]["outcome"] == "CommandResult::Accepted",
                  added->dump());

  auto prober =
      sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(prompt()));
  REQUIRE(prober);
  std::chrono::milliseconds slowest{0};
  int probes = 0;
  bool dropped = sup::it::eventually(
      [&] {
        const auto asked = Clock::now();
        auto answer = prober->call("health", Json::object(), sup::it::deadline_in(prompt()));
        REQUIRE_MESSAGE(answer, "a reading client got no answer within "
                                    << prompt().count() << " ms while the flood ran");
        ++probes;
        slowest = std::max(
            slowest, std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - asked));
        pollfd entry{silent->fd(), POLLRDHUP, 0};
        return poll(&entry, 1, 0) > 0 && (entry.revents & (POLLRDHUP | POLLHUP));
      },
      scaled(30s), 50ms);
  MESSAGE(probes << " health probes during the flood; slowest answer " << slowest.count() << " ms");
  auto removed = daemon->command("remove_child", "chatter");
  REQUIRE(removed);
  CHECK((*removed)["result"]["result"]["outcome"] == "CommandResult::Accepted");
  REQUIRE_MESSAGE(dropped, "the silent client was never dropped");

  // What it was sent before the drop ends, at best, with slow_consumer.
  std::optional<Json> last;
  while (auto message = silent->read_message(sup::it::deadline_in(scaled(5s)))) last = message;
  CHECK(silent->closed());
  if (last && last->is_object() && (*last).value("type", "") == "error")
    check_error(*last, "slow_consumer");
  else
    MESSAGE("the silent client was dropped without a slow_consumer notice (best effort)");
  check_still_serving(*daemon);
}

TEST_CASE("200 clients connecting at once are served or refused with too_many_clients") {
  sup::it::TempDir dir;
  auto daemon = sup::it::require_serving_daemon(dir, robustness_config(dir));

  constexpr int kClients = 200;
  std::vector<sup::it::SocketClient> clients;
  int refused_at_connect = 0;
  for (int i = 0; i < kClients; ++i) {
    auto client =
        sup::it::SocketClient::connect(daemon->socket_path(), sup::it::deadline_in(scaled(5s)));
    if (client)
      clients.push_back(std::move(*client));
    else
      ++refused_at_connect;
  }
  for (auto& client : clients)
    client.send_request("health", Json::object(), sup::it::deadline_in(prompt()));

  int served = 0;
  int too_many = 0;
  int dropped = 0;
  const auto deadline = sup::it::deadline_in(scaled(20s));
  for (auto& client : clients) {
    auto message = client.read_message(deadline);
    if (!message) {
      REQUIRE_MESSAGE(client.closed(), "a client was left hanging: neither answered nor dropped");
      ++dropped;
      continue;
    }
    REQUIRE(message->is_object());
    if ((*message)["ok"] == true) {
      ++served;
      continue;
    }
    check_error(*message, "too_many_clients");
    ++too_many;
  }
  MESSAGE(served << " served, " << too_many << " refused with too_many_clients, " << dropped
                 << " dropped silently, " << refused_at_connect << " could not connect");
  CHECK(served >= 1);
  CHECK(served <= kMaxClients);
  CHECK(too_many + dropped + refused_at_connect >= kClients - kMaxClients);
  clients.clear();
  check_still_serving(*daemon);
}

TEST_CASE("500 connections that send half a line lose their slots; a fresh client gets in") {
  sup::it::TempDir dir;
  Json config = robustness_config(dir);
  config["dashboard"]["line_timeout_ms"] = 500;
  auto daemon = sup::it::require_serving_daemon(dir, config);

  constexpr int kHalfLines = 500;
  std::vector<sup::it::SocketClient> crowd;
  for (int i = 0; i < kHalfLines; ++i) {
    int fd = sup::it::SocketClient::connect_once(daemon->socket_path());
    if (fd < 0) continue;  // the listen backlog is full: the crowd is big enough
    crowd.emplace_back(fd);
    crowd.back().send_all(R"({"request_id": "half", "method": "hea)",
                          sup::it::deadline_in(prompt()));
  }
  MESSAGE(crowd.size() << " of " << kHalfLines << " half-line connections were made");
  REQUIRE(crowd.size() > static_cast<std::size_t>(kMaxClients));

  // Those admitted are closed once their line is overdue, with idle_timeout;
  // the others were refused with too_many_clients.
  int timed_out = 0;
  int refused = 0;
  for (auto& client : crowd) {
    auto message = client.read_message(sup::it::deadline_in(scaled(10s)));
    REQUIRE_MESSAGE(message, "a half-line connection was neither refused nor timed out");
    const std::string code = sup::it::error_code(*message);
    if (code == "idle_timeout") {
      check_error(*message, "idle_timeout");
      ++timed_out;
    } else {
      check_error(*message, "too_many_clients");
      ++refused;
    }
    CHECK(client.read_line(sup::it::deadline_in(scaled(5s))) == std::nullopt);
    CHECK(client.closed());
  }
  MESSAGE(timed_out << " timed out, " << refused << " refused");
  CHECK(timed_out >= 1);
  CHECK(timed_out <= kMaxClients);
  check_still_serving(*daemon);
  auto health = daemon->supctl({"--json", "health"});
  CHECK_MESSAGE(health.code() == 0, health.describe());
}

TEST_CASE("events --since 0 with far more history than the client's queue: paced, never dropped") {
  sup::it::TempDir dir;
  Json config = robustness_config(dir);
  config["dashboard"]["client_queue_bytes"] = 65'536;  // the minimum: about 200 events
  config["intensity"] = 1'000'000;
  config["period_ms"] = 1'000;
  // A storm that ends by itself: each drill is quarantined once its budget
  // of restarts is spent, after about 3 events per restart.
  constexpr int kDrills = 10;
  constexpr int kRestartsEach = 400;
  for (int i = 0; i < kDrills; ++i) {
    Json drill = sup::it::drill_child("storm-" + std::to_string(i), "crash_after", 1);
    drill["budget"] = {{"capacity", kRestartsEach}, {"refill_per_sec", 0}};
    drill["backoff"] = {{"initial_ms", 0}, {"max_ms", 0}};
    drill["crash_loop"] = {{"max_failures", 0}};
    config["children"].push_back(drill);
  }
  auto daemon = sup::it::require_serving_daemon(dir, config);
  // Until the storm is over: every drill quarantined, no new event.
  std::uint64_t last = 0;
  std::uint64_t before = 0;
  REQUIRE_MESSAGE(sup::it::eventually(
                      [&] {
                        before = last;
                        auto subscribed = daemon->result_of("events.subscribe");
                        if (subscribed) last = (*subscribed)["last_sequence"].get<std::uint64_t>();
                        return last > 8'000 && last == before;
                      },
                      scaled(120s), 500ms),
                  "the storm did not end; " << last << " events");

  auto run =
      daemon->supctl({"--json", "--timeout", "30000", "events", "--since", "0"}, scaled(120s));
  REQUIRE_MESSAGE(run.code() == 0, run.describe().substr(0, 4000));
  auto events = sup::it::json_lines(run.out);
  REQUIRE(!events.empty());
  std::uint64_t previous = 0;
  for (const auto& event : events) {
    const auto sequence = event["sequence"].get<std::uint64_t>();
    REQUIRE(sequence > previous);
    previous = sequence;
  }
  MESSAGE(events.size() << " events replayed, #" << events.front()["sequence"] << " to #"
                        << previous << "; " << last << " produced before the replay began");
  CHECK(previous >= last);
  // The relay keeps the last 4096: all of them, without a gap after the first.
  CHECK(events.size() >= 4'000);
  CHECK(previous - events.front()["sequence"].get<std::uint64_t>() + 1 == events.size());
  CHECK(daemon->wait_for_log(
            [](const sup::it::LogLine& line) {
              return line.get("msg").find("slow_consumer") != std::string::npos;
            },
            std::chrono::milliseconds(0)) == std::nullopt);
}
