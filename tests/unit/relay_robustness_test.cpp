// Bad input never takes the relay down nor stalls other clients: malformed
// JSON, binary garbage, a 10 MiB line, unknown methods, wrong types, request
// floods, too many clients, 200 clients at once, a subscriber that never
// reads while events flow, a replay larger than a client's queue, snapshots
// holding their lane, half-sent lines. (A peer of another uid:
// relay_peer_uid_test.)
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <random>

#include "relay_test_support.hpp"

using namespace relay_test;

namespace {

json error_of(const json& response) {
  INFO(response.dump());
  REQUIRE(response["ok"] == false);
  return response["error"];
}

// Another client is answered while `s` deals with a misbehaving one.
void check_still_serving(RunningServer& s) {
  Client other(s.path);
  json hello = other.request(hello_request("alive"));
  CHECK(hello["ok"] == true);
}

}  // namespace

TEST_CASE("malformed input gets its documented error and the connection survives") {
  TempDir dir;
  RunningServer s(test_config(dir));
  Client client(s.path);

  struct Case {
    std::string line;
    std::string code;
    std::string field_path;
  };
  std::string garbage;
  std::mt19937 random(7);
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>(random() % 256);
  std::erase(garbage, '\n');
  const Case cases[] = {
      // Syntax errors name the field where parsing stopped (bounded_json).
      {"{\"request_id\": \"r1\", \"method\": ", "invalid_json", "method"},
      {garbage, "invalid_json", ""},
      {std::string("\0\0\0{}", 5), "invalid_json", ""},
      {"[1,2,3]", "invalid_request", ""},
      {R"({"request_id": 17, "method": "state"})", "invalid_request", "request_id"},
      {R"({"request_id": "r2", "method": 5})", "invalid_request", "method"},
      {R"({"request_id": "r3", "method": "command.format_disk"})", "unsupported_method", "method"},
      {R"({"request_id": "r4", "method": "state", "params": "all"})", "invalid_request", "params"},
      {R"({"request_id": "r5", "method": "logs.tail", "params": {"lines": "many"}})",
       "invalid_request", "params.lines"},
      {R"({"request_id": "r6", "method": "command.restart_child", "params": {"command_id": "c", "requested_by": "me", "reason": "x", "target": ["a"]}})",
       "invalid_command_params", "params.target"},
      {R"({"request_id": "r7", "method": "command.add_child", "params": {"command_id": "c", "requested_by": "me", "reason": "x", "spec": {"id": "n", "kind": "warp"}}})",
       "invalid_command_params", "params.spec.kind"},
      {R"({"request_id": "r8", "method": "command.shutdown_tree", "params": {"command_id": "c", "requested_by": "me", "reason": "x"}})",
       "validation_failed", "params.confirmed"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.code);
    CAPTURE(c.field_path);
    REQUIRE(client.send(c.line + "\n"));
    auto response = client.read_json();
    REQUIRE(response);
    json error = error_of(*response);
    CHECK(error["code"] == c.code);
    CHECK(error["target_id"] == "sup@test");
    CHECK(error["retryable"] == false);
    CHECK(error.value("field_path", "") == c.field_path);
  }
  CHECK(s.plane->commands().empty());
  CHECK(client.request(hello_request())["ok"] == true);
}

TEST_CASE("a 10 MiB line gets line_too_long, is closed, and stalls nobody") {
  TempDir dir;
  RunningServer s(test_config(dir));
  Client bystander(s.path);
  bystander.request({{"request_id", "sub"}, {"method", "events.subscribe"}});
  Client flooder(s.path);

  // Sent from another thread: the server closes mid-line, failing the send.
  auto sending = std::async(std::launch::async, [&] {
    std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 10; ++i)
      if (!flooder.send(chunk)) return false;
    return flooder.send("\n");
  });
  auto response = flooder.read_json();
  REQUIRE(response);
  json error = error_of(*response);
  CHECK(error["code"] == "line_too_long");
  CHECK(error["stage"] == "protocol_parse");
  CHECK(flooder.wait_closed());
  CHECK_FALSE(sending.get());
  CHECK(s.server->counters().closed_line_too_long == 1);

  s.plane->emit_event("child_started", "a");
  auto event = bystander.read_json();
  REQUIRE(event);
  CHECK((*event)["type"] == "event");
  CHECK(bystander.request(hello_request())["ok"] == true);
}

TEST_CASE("a line at the limit is accepted, one byte more is not") {
  TempDir dir;
  auto config = test_config(dir);
  config.max_line_bytes = 256;
  RunningServer s(config);
  std::string padded = R"({"request_id":"r","method":"hello","params":{"pad":")";
  std::string tail = "\"}}";
  padded += std::string(config.max_line_bytes - padded.size() - tail.size(), 'p') + tail;
  REQUIRE(padded.size() == config.max_line_bytes);
  Client client(s.path);
  CHECK(client.request(json::parse(padded))["ok"] == true);
  REQUIRE(client.send(padded.substr(0, 10) + " " + padded.substr(10) + "\n"));
  auto response = client.read_json();
  REQUIRE(response);
  CHECK(error_of(*response)["code"] == "line_too_long");
  CHECK(client.wait_closed());
}

TEST_CASE("a request flood is rate limited with a retryable error") {
  TempDir dir;
  auto config = test_config(dir);
  config.requests_per_sec = 10;
  RunningServer s(config);
  Client client(s.path);
  std::string flood;
  for (int i = 0; i < 100; ++i)
    flood += json{{"request_id", std::to_string(i)}, {"method", "health"}}.dump() + "\n";
  REQUIRE(client.send(flood));
  int answered = 0, limited = 0;
  for (int i = 0; i < 100; ++i) {
    auto response = client.read_json();
    REQUIRE(response);
    if ((*response)["ok"] == true) {
      ++answered;
    } else {
      json error = (*response)["error"];
      CHECK(error["code"] == "rate_limited");
      CHECK(error["stage"] == "admission");
      CHECK(error["retryable"] == true);
      ++limited;
    }
  }
  CHECK(answered >= 10);  // the burst
  CHECK(limited >= 50);
  CHECK(s.server->counters().rate_limited == static_cast<std::uint64_t>(limited));
  // Tokens refill: retrying succeeds.
  CHECK(s.eventually([&] { return client.request(hello_request())["ok"] == true; }));
}

TEST_CASE("clients beyond max_clients get too_many_clients and are closed") {
  TempDir dir;
  auto config = test_config(dir);
  config.max_clients = 3;
  RunningServer s(config);
  std::vector<Client> admitted;
  for (int i = 0; i < 3; ++i) {
    admitted.emplace_back(s.path);
    CHECK(admitted.back().request(hello_request())["ok"] == true);
  }
  Client refused(s.path);
  auto push = refused.read_json();
  REQUIRE(push);
  CHECK((*push)["type"] == "error");
  CHECK((*push)["error"]["code"] == "too_many_clients");
  CHECK((*push)["error"]["stage"] == "admission");
  CHECK(refused.wait_closed());
  CHECK(s.server->counters().rejected_too_many_clients == 1);

  admitted.pop_back();
  CHECK(s.eventually([&] { return s.server->clients() == 2; }));
  Client later(s.path);
  CHECK(later.request(hello_request())["ok"] == true);
}

TEST_CASE("200 clients connecting at once are all served") {
  TempDir dir;
  auto config = test_config(dir);
  config.max_clients = 256;
  RunningServer s(config);
  constexpr int kClients = 200;
  std::vector<std::future<std::vector<Client>>> connecting;
  for (int t = 0; t < 8; ++t)
    connecting.push_back(std::async(std::launch::async, [&] {
      std::vector<Client> batch;
      for (int i = 0; i < kClients / 8; ++i) batch.emplace_back(s.path);
      return batch;
    }));
  std::vector<Client> clients;
  for (auto& batch : connecting)
    for (auto& client : batch.get()) clients.push_back(std::move(client));
  REQUIRE(clients.size() == kClients);
  for (std::size_t i = 0; i < clients.size(); ++i) {
    CHECK(clients[i].connected());
    CHECK(clients[i].send_json(hello_request(std::to_string(i))));
  }
  int served = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto response = clients[i].read_json();
    if (response && (*response)["ok"] == true && (*response)["request_id"] == std::to_string(i))
      ++served;
  }
  CHECK(served == kClients);
  CHECK(s.server->counters().accepted == kClients);
  CHECK(s.server->counters().rejected_too_many_clients == 0);
  CHECK(s.plane->wait_for_endpoint_status(
      [](sup::EndpointStatus status) { return status.clients == kClients; }, kTimeout));
}

sup::Event filler_event() {
  sup::Event event;
  event.event_type = "child_exited";
  event.child_id = "busy";
  event.payload["filler"] = std::string(2048, 'f');
  return event;
}

// Sequences of the next `count` pushes (or fewer, at the deadline).
std::vector<std::uint64_t> read_sequences(Client& client, std::uint64_t until_sequence) {
  std::vector<std::uint64_t> sequences;
  while (sequences.empty() || sequences.back() < until_sequence) {
    auto event = client.read_json();
    if (!event) break;
    sequences.push_back((*event)["event"]["sequence"].get<std::uint64_t>());
  }
  return sequences;
}

TEST_CASE("a subscriber that never reads holds only its own queue and later resumes after a gap") {
  TempDir dir;
  auto config = test_config(dir);
  config.client_queue_bytes = 256 << 10;
  constexpr std::size_t kKept = 256;
  RunningServer s(config, std::make_shared<sup::ipc::FakeControlPlane>(), {.events = kKept});

  Client stalled(s.path);
  stalled.request({{"request_id", "sub"}, {"method", "events.subscribe"}});
  Client reader(s.path);
  reader.request({{"request_id", "sub"}, {"method", "events.subscribe"}});

  // ~2 KiB per event, 4 MB in all: far past the stalled client's queue plus
  // its socket buffers, and 8 times what the relay keeps. Emitted in
  // batches the reader keeps up with.
  constexpr std::uint64_t kEvents = 2000;
  constexpr std::uint64_t kBatch = 50;
  std::atomic<std::uint64_t> read_up_to{0};
  auto reading = std::async(std::launch::async, [&] {
    for (std::uint64_t next = 1; next <= kEvents; ++next) {
      auto event = reader.read_json();
      if (!event || (*event)["event"]["sequence"] != next) break;
      read_up_to = next;
    }
    return read_up_to.load();
  });
  for (std::uint64_t i = 0; i < kEvents; ++i) {
    s.plane->emit(filler_event());  // never blocks, whoever is stalled
    if ((i + 1) % kBatch == 0 && !s.eventually([&] { return read_up_to >= i + 1; })) break;
  }
  CHECK(reading.get() == kEvents);  // every event, in order, no gap
  CHECK(s.server->counters().dropped_slow_consumers == 0);
  check_still_serving(s);

  // The stalled client reads at last: what its queue held, then a jump to
  // the oldest event the relay still keeps, then everything up to the last.
  auto sequences = read_sequences(stalled, kEvents);
  REQUIRE(!sequences.empty());
  CHECK(sequences.front() == 1);
  CHECK(sequences.back() == kEvents);
  std::size_t jumps = 0;
  for (std::size_t i = 1; i < sequences.size(); ++i) {
    CHECK(sequences[i] > sequences[i - 1]);
    if (sequences[i] != sequences[i - 1] + 1) {
      ++jumps;
      CHECK(sequences[i] > kEvents - kKept);  // resumed within what is kept
    }
  }
  CHECK(jumps == 1);
  CHECK(s.server->counters().event_gaps == 1);
  // Its queue held at most half of client_queue_bytes before the jump.
  CHECK(sequences.size() < kKept + (config.client_queue_bytes / 2048) + 64);
}

TEST_CASE("a replay far larger than the client's queue is paced by its reading, not dropped") {
  TempDir dir;
  auto config = test_config(dir);
  config.client_queue_bytes = 64 << 10;  // about 30 events
  RunningServer s(config);
  constexpr std::uint64_t kEvents = 3000;  // 6 MB of history
  for (std::uint64_t i = 0; i < kEvents; ++i) s.plane->emit(filler_event());

  Client client(s.path);
  json subscribed = client.request({{"request_id", "since0"},
                                    {"method", "events.subscribe"},
                                    {"params", {{"after_sequence", 0}}}});
  CHECK(subscribed["result"]["last_sequence"] == kEvents);
  auto sequences = read_sequences(client, kEvents);
  REQUIRE(sequences.size() == kEvents);
  for (std::uint64_t i = 0; i < kEvents; ++i) CHECK(sequences[i] == i + 1);
  CHECK(s.server->counters().dropped_slow_consumers == 0);
  CHECK(s.server->counters().event_gaps == 0);
  // And it follows on live.
  s.plane->emit_event("child_started", "late");
  auto live = client.read_json();
  REQUIRE(live);
  CHECK((*live)["event"]["sequence"] == kEvents + 1);
}

// A fake whose snapshots block until released, as a 10,000-child state
// taken fifty times over would keep the snapshot lane busy.
class BlockedSnapshots : public sup::ipc::FakeControlPlane {
 public:
  sup::Expected<sup::SupervisorState> current_state() override {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return released_; });
    --waiting_;
    return FakeControlPlane::current_state();
  }
  bool wait_for_waiting(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTimeout, [&] { return waiting_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool released_ = false;
};

TEST_CASE("health and commands are answered while every snapshot worker is busy") {
  TempDir dir;
  auto plane = std::make_shared<BlockedSnapshots>();
  plane->add_child_record("ingest");
  RunningServer s(test_config(dir), plane);
  constexpr int kSnapshotters = 6;  // more than the snapshot lane's threads
  std::vector<Client> snapshotters;
  for (int i = 0; i < kSnapshotters; ++i) {
    snapshotters.emplace_back(s.path);
    REQUIRE(snapshotters.back().send_json({{"request_id", "s"}, {"method", "state"}}));
  }
  // One snapshot at a time for all of them (SharedAnswers), held up here.
  REQUIRE(plane->wait_for_waiting(1));

  Client operator_client(s.path);
  json health = operator_client.request({{"request_id", "h"}, {"method", "health"}});
  CHECK(health["ok"] == true);
  json restart = operator_client.request(
      {{"request_id", "r"},
       {"method", "command.restart_child"},
       {"params",
        {{"command_id", "c-1"}, {"requested_by", "t"}, {"reason", "t"}, {"target", "ingest"}}}});
  CHECK(restart["result"]["result"]["outcome"] == "CommandResult::Accepted");

  plane->release();
  for (auto& client : snapshotters) {
    auto answer = client.read_response();
    REQUIRE(answer);
    CHECK((*answer)["result"]["type"] == "state");
  }
}

TEST_CASE("a half-sent line and an idle connection are closed with idle_timeout; others stay") {
  TempDir dir;
  auto config = test_config(dir);
  config.line_timeout_ms = 300;
  config.idle_timeout_ms = 600;
  RunningServer s(config);

  Client half(s.path);
  REQUIRE(half.send(R"({"request_id": "h", "method": "hea)"));
  Client silent(s.path);
  Client subscriber(s.path);
  subscriber.request({{"request_id", "sub"}, {"method", "events.subscribe"}});

  for (Client* closed : {&half, &silent}) {
    auto pushed = closed->read_json();
    REQUIRE(pushed);
    CHECK((*pushed)["type"] == "error");
    CHECK((*pushed)["error"]["code"] == "idle_timeout");
    CHECK((*pushed)["error"]["retryable"] == true);
    CHECK(closed->wait_closed());
  }
  CHECK(s.server->counters().closed_idle == 2);
  // A subscriber waits for events, however long: it stays.
  s.plane->emit_event("child_started", "x");
  auto event = subscriber.read_json();
  REQUIRE(event);
  CHECK((*event)["type"] == "event");
  CHECK(subscriber.request(hello_request())["ok"] == true);
}

TEST_CASE("a client that sends requests but never reads answers is slowed, not dropped") {
  TempDir dir;
  auto config = test_config(dir);
  config.client_queue_bytes = 64 << 10;
  config.requests_per_sec = 100000;
  RunningServer s(config);
  for (int i = 0; i < 2000; ++i) s.plane->add_child_record("child-" + std::to_string(i));
  Client greedy(s.path);
  constexpr int kRequests = 60;
  // Each state answer is ~600 KiB; the client writes requests and reads nothing.
  auto writing = std::async(std::launch::async, [&] {
    std::string request = json{{"request_id", "s"}, {"method", "state"}}.dump() + "\n";
    for (int i = 0; i < kRequests; ++i)
      if (!greedy.send(request)) return false;
    return true;
  });
  check_still_serving(s);
  CHECK(s.server->counters().dropped_slow_consumers == 0);
  // Reading now drains its answers, so its writer can finish.
  int answers = 0;
  while (answers < kRequests && greedy.read_json()) ++answers;
  CHECK(answers == kRequests);
  CHECK(writing.get());
}
