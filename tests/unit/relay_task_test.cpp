// The relay as the supervisor runs it: a blocking task with a TaskContext,
// here a fake one, against the fake control plane. Readiness, heartbeats,
// the link it reports, cancellation, a failed bind, and a restarted relay
// taking over while its killed predecessor still runs.
#include "dashboard_relay/relay_task.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <mutex>

#include "relay_test_support.hpp"

using namespace relay_test;
using sup::EndpointLink;

namespace {

class FakeTaskContext : public sup::TaskContext {
 public:
  std::string_view child_id() const override { return "relay"; }
  std::uint64_t generation() const override { return 1; }
  bool cancel_requested() const override { return cancelled_; }
  bool sleep_for(std::chrono::milliseconds) override { return !cancelled_; }
  void heartbeat() override { ++heartbeats; }
  void set_readiness(sup::Readiness readiness) override { this->readiness = readiness; }
  void after(std::chrono::milliseconds, std::function<void(sup::TaskContext&)>) override {
    FAIL("a blocking task must not arm timers");
  }
  void on_cancel(std::function<void(sup::TaskContext&)> fn) override {
    std::lock_guard lock(mutex_);
    on_cancel_ = std::move(fn);
  }
  void complete() override {}
  void fail(std::string reason) override {
    std::lock_guard lock(mutex_);
    failure = std::move(reason);
  }

  // As the runtime does: the flag, then the callback from its own thread.
  void cancel() {
    cancelled_ = true;
    std::function<void(sup::TaskContext&)> fn;
    {
      std::lock_guard lock(mutex_);
      fn = on_cancel_;
    }
    if (fn) fn(*this);
  }
  std::optional<std::string> failed() {
    std::lock_guard lock(mutex_);
    return failure;
  }

  std::atomic<int> heartbeats{0};
  std::atomic<sup::Readiness> readiness{sup::Readiness::Unknown};

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::function<void(sup::TaskContext&)> on_cancel_;
  std::optional<std::string> failure;
};

struct RunningTask {
  RunningTask(const sup::config::DashboardConfig& config,
              std::shared_ptr<sup::ipc::FakeControlPlane> fake)
      : task(sup::relay::make_relay_task(config, fake)) {
    REQUIRE(task.blocking);
    done = std::async(std::launch::async, [this] { task.start(ctx); });
  }
  ~RunningTask() {
    ctx.cancel();
    done.wait();
  }
  bool finished(std::chrono::milliseconds timeout = kTimeout) {
    return done.wait_for(timeout) == std::future_status::ready;
  }

  sup::TaskDefinition task;
  FakeTaskContext ctx;
  std::future<void> done;
};

bool eventually(const std::function<bool()>& predicate) {
  auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

bool link_is(sup::ipc::FakeControlPlane& plane, EndpointLink link) {
  return plane.wait_for_endpoint_status(
      [&](sup::EndpointStatus status) { return status.link == link; }, kTimeout);
}

}  // namespace

TEST_CASE("the relay task serves until cancelled, reporting readiness and the link") {
  TempDir dir;
  auto config = test_config(dir);
  auto plane = std::make_shared<sup::ipc::FakeControlPlane>();
  RunningTask relay(config, plane);

  REQUIRE(eventually([&] { return relay.ctx.readiness == sup::Readiness::Ready; }));
  CHECK(link_is(*plane, EndpointLink::Listening));
  {
    Client dashboard(config.path);
    dashboard.request({{"request_id", "sub"}, {"method", "events.subscribe"}});
    CHECK(link_is(*plane, EndpointLink::Connected));
    CHECK(eventually([&] { return relay.ctx.heartbeats > 0; }));

    relay.ctx.cancel();
    REQUIRE(relay.finished());
    CHECK(dashboard.wait_closed());
  }
  CHECK(link_is(*plane, EndpointLink::Disconnected));
  CHECK_FALSE(relay.ctx.failed());
  CHECK_FALSE(std::filesystem::exists(config.path));
}

TEST_CASE("a relay cancelled before it starts returns at once") {
  TempDir dir;
  auto plane = std::make_shared<sup::ipc::FakeControlPlane>();
  auto task = sup::relay::make_relay_task(test_config(dir), plane);
  FakeTaskContext ctx;
  ctx.cancel();
  auto done = std::async(std::launch::async, [&] { task.start(ctx); });
  REQUIRE(done.wait_for(kTimeout) == std::future_status::ready);
  CHECK_FALSE(ctx.failed());
}

TEST_CASE("a relay that cannot take its path fails with field_path=\"dashboard.path\"") {
  TempDir dir;
  auto config = test_config(dir);
  int other = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address = address_of(config.path);
  REQUIRE(::bind(other, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(other, 1) == 0);

  auto plane = std::make_shared<sup::ipc::FakeControlPlane>();
  RunningTask relay(config, plane);
  REQUIRE(relay.finished());
  auto failure = relay.ctx.failed();
  REQUIRE(failure);
  CHECK(failure->find("field_path=\"dashboard.path\"") != std::string::npos);
  CHECK(relay.ctx.readiness == sup::Readiness::Unknown);
  ::close(other);
}

TEST_CASE("a restarted relay takes over from a killed one still running; dashboards reconnect") {
  TempDir dir;
  auto config = test_config(dir);
  auto plane = std::make_shared<sup::ipc::FakeControlPlane>();
  // Killed in-process tasks are abandoned, not cancelled: this one is never told.
  auto killed = std::make_unique<RunningTask>(config, plane);
  REQUIRE(eventually([&] { return killed->ctx.readiness == sup::Readiness::Ready; }));
  Client dashboard(config.path);
  dashboard.request({{"request_id", "sub"}, {"method", "events.subscribe"}});

  RunningTask restarted(config, plane);
  REQUIRE(eventually([&] { return restarted.ctx.readiness == sup::Readiness::Ready; }));
  REQUIRE(killed->finished());
  auto failure = killed->ctx.failed();
  REQUIRE(failure);
  CHECK(failure->find("taken over") != std::string::npos);
  CHECK(dashboard.wait_closed());

  Client reconnected(config.path);
  json resumed = reconnected.request({{"request_id", "sub"},
                                      {"method", "events.subscribe"},
                                      {"params", {{"after_sequence", 0u}}}});
  CHECK(resumed["ok"] == true);
  CHECK(link_is(*plane, EndpointLink::Connected));
  // The old incarnation's exit removed neither the new socket nor the link.
  killed.reset();
  CHECK(std::filesystem::exists(config.path));
  CHECK(plane->endpoint_status().link == EndpointLink::Connected);
  CHECK_FALSE(restarted.ctx.failed());
}
