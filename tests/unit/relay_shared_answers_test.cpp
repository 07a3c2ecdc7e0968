// SharedAnswers: `state` requests waiting at the same moment share one
// snapshot and one encoding; none is answered with a snapshot older than
// its request. ReaddressableLine: one encoded reply, any request id.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "dashboard_relay/shared_answers.hpp"
#include "ipc/fake_control_plane.hpp"

using nlohmann::json;
using sup::relay::ReaddressableLine;
using sup::relay::SharedAnswers;
using sup::relay::WorkerPool;
using namespace std::chrono_literals;

namespace {

constexpr auto kTimeout = 10s;

sup::ipc::Request state_request(std::string id, json params = json::object()) {
  return {std::move(id), sup::ipc::find_method("state"), std::move(params)};
}

// Snapshots that block until released, counting how many were taken.
class CountedSnapshots : public sup::ipc::FakeControlPlane {
 public:
  sup::Expected<sup::SupervisorState> current_state() override {
    std::unique_lock lock(mutex_);
    ++taken_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return FakeControlPlane::current_state();
  }
  bool wait_for_taken(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kTimeout, [&] { return taken_ >= count; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  int taken() {
    std::lock_guard lock(mutex_);
    return taken_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int taken_ = 0;
  bool open_ = false;
};

// The answers, collected on the lane's thread, checked on the test's.
class Answers {
 public:
  SharedAnswers::Answer collector() {
    return [this](sup::ipc::Reply reply) {
      std::lock_guard lock(mutex_);
      lines_.push_back(std::move(reply.line));
      changed_.notify_all();
    };
  }
  std::vector<json> wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kTimeout, [&] { return lines_.size() >= count; });
    std::vector<json> parsed;
    for (const auto& line : lines_) parsed.push_back(json::parse(line));
    return parsed;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

sup::ipc::ServerInfo server_info() {
  sup::ipc::ServerInfo info;
  info.target_id = info.display_name = "t";
  return info;
}

struct Fixture {
  std::shared_ptr<CountedSnapshots> plane = std::make_shared<CountedSnapshots>();
  sup::ipc::Dispatcher dispatcher{*plane, server_info()};
  WorkerPool lane{2};
  SharedAnswers answers{[this](const sup::ipc::Request& request, const sup::ipc::Peer& peer) {
                          return dispatcher.dispatch(request, peer);
                        },
                        lane.poster()};
  ~Fixture() { lane.shutdown(kTimeout); }
};

}  // namespace

TEST_CASE("a reply is re-addressed to any request id, escaped as JSON") {
  auto cut = ReaddressableLine::cut(R"({"request_id":"STAND","ok":true,"result":{"id":"x"}})"
                                    "\n",
                                    "STAND");
  REQUIRE(cut);
  CHECK(cut->for_request("r7") == R"({"request_id":"r7","ok":true,"result":{"id":"x"}})"
                                  "\n");
  CHECK(json::parse(cut->for_request("a\"b\\c\n"))["request_id"] == "a\"b\\c\n");
  // Absent, twice, or only part of a string: not re-addressable.
  CHECK_FALSE(ReaddressableLine::cut(R"({"request_id":"r1"})", "STAND"));
  CHECK_FALSE(ReaddressableLine::cut(R"({"request_id":"STAND","echo":"STAND"})", "STAND"));
  CHECK_FALSE(ReaddressableLine::cut(R"({"request_id":"STANDS"})", "STAND"));
}

TEST_CASE("requests waiting at the same moment share one snapshot, each gets its own id") {
  Fixture f;
  f.plane->add_child_record("ingest");
  Answers answers;
  f.answers.ask(state_request("first"), {}, answers.collector());
  REQUIRE(f.plane->wait_for_taken(1));  // the first round is in the control loop
  constexpr int kLater = 20;
  for (int i = 0; i < kLater; ++i)
    f.answers.ask(state_request("later-" + std::to_string(i)), {}, answers.collector());
  f.plane->open();

  auto replies = answers.wait_for(1 + kLater);
  REQUIRE(replies.size() == 1 + kLater);
  std::set<std::string> ids;
  for (const auto& reply : replies) {
    CHECK(reply["ok"] == true);
    CHECK(reply["result"]["type"] == "state");
    CHECK(reply["result"]["state"]["child_runtime_records"][0]["id"] == "ingest");
    ids.insert(reply["request_id"].get<std::string>());
  }
  CHECK(ids.size() == 1 + kLater);
  CHECK(ids.contains("first"));
  // The later ones did not take the first round's snapshot (taken before
  // they asked): they shared the next one.
  CHECK(f.plane->taken() == 2);
  CHECK(f.answers.counts().answered == 1 + kLater);
  CHECK(f.answers.counts().dispatched == 2);
}

TEST_CASE("requests with other params are answered on their own") {
  Fixture f;
  f.plane->open();
  Answers answers;
  f.answers.ask(state_request("blocker"), {}, answers.collector());
  REQUIRE(answers.wait_for(1).size() == 1);
  // Refused per request: a wrong target_id is that request's error only.
  f.answers.ask(state_request("wrong", {{"target_id", "elsewhere"}}), {}, answers.collector());
  f.answers.ask(state_request("right"), {}, answers.collector());
  auto replies = answers.wait_for(3);
  REQUIRE(replies.size() == 3);
  for (const auto& reply : replies) {
    if (reply["request_id"] == "wrong")
      CHECK(reply["ok"] == false);
    else
      CHECK(reply["ok"] == true);
  }
}

TEST_CASE("a reply that does not echo the request id is not shared") {
  WorkerPool lane(1);
  int dispatched = 0;  // on the lane's one thread
  SharedAnswers shared(
      [&](const sup::ipc::Request& request, const sup::ipc::Peer&) {
        ++dispatched;
        bool echoes = request.request_id.starts_with("r");
        return sup::ipc::Reply(echoes ? R"({"request_id":")" + request.request_id + "\"}\n"
                                      : std::string("{\"anonymous\":true}\n"));
      },
      lane.poster());
  Answers answers;
  shared.ask(state_request("r1"), {}, answers.collector());
  auto replies = answers.wait_for(1);
  lane.shutdown(kTimeout);
  REQUIRE(replies.size() == 1);
  CHECK(replies[0]["request_id"] == "r1");
  // The stand-in's reply did not name it: the request was dispatched itself.
  CHECK(dispatched == 2);
}
