#include "metrics/sampler.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "common/clock.hpp"
#include "executions/execution_service.hpp"
#include "sup/log.hpp"

namespace sup::metrics {

struct Sampler::Impl {
  Impl(std::shared_ptr<DaemonMetrics> m, SamplerOptions o)
      : metrics(std::move(m)), options(o), latest(std::make_shared<DaemonSample>()) {
    auto first = std::make_shared<DaemonSample>();
    first->dashboard_enabled = options.dashboard_enabled;
    latest = first;
    thread = std::thread([this] { run(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    thread.join();
  }

  void run() {
    std::unique_lock lock(mutex);
    std::int64_t next_state_ms = 0;
    while (!stopping) {
      // The parts are used outside the lock; detach() waits for `busy`.
      // Copied by emplace: GCC 12 at -O3 reports the optional's copy
      // constructor as reading an uninitialized shared_ptr (a false positive).
      std::optional<Handle> runtime;
      if (handle) runtime.emplace(*handle);
      executions::ExecutionService* service = executions;
      busy = true;
      lock.unlock();
      std::int64_t now = mono_now_ms();
      bool full = now >= next_state_ms;
      if (full) next_state_ms = now + options.state_interval.count();
      DaemonSample sample = take(runtime, service, full);
      lock.lock();
      busy = false;
      idle.notify_all();
      if (!stopping) publish(std::move(sample));
      wake.wait_for(lock, options.health_interval, [this] { return stopping || poked; });
      poked = false;
    }
  }

  // Outside the lock.
  DaemonSample take(std::optional<Handle> runtime, executions::ExecutionService* service,
                    bool full) {
    DaemonSample sample;
    {
      std::lock_guard lock(mutex);
      sample = *latest;  // what a partial sample does not refresh
    }
    sample.taken_at_ms = mono_now_ms();
    sample.dashboard_enabled = options.dashboard_enabled;
    if (runtime) {
      auto health = runtime->health();
      if (health) {
        sample.health = std::move(*health);
        sample.health_at_ms = mono_now_ms();
        sample.health_error.clear();
      } else {
        sample.health_error = health.error().describe();
      }
      subscribe(*runtime);
      if (full) {
        if (auto state = runtime->current_state())
          metrics->on_state(std::make_shared<const SupervisorState>(std::move(*state)));
      }
    }
    if (service) {
      sample.store.open = true;
      sample.startup_finished = true;
      sample.executions_resumed = service->resume_report().resumed;
      sample.executions_not_resumed = service->resume_report().failed;
      executions::MaintenanceMode mode = service->maintenance();
      sample.maintenance = {mode.enabled, std::move(mode.reason), std::move(mode.requested_by),
                            mode.changed_at_ns};
      if (full) sample_store(*service, sample.store);
    }
    metrics->on_sample(sample);
    return sample;
  }

  void sample_store(executions::ExecutionService& service, StoreSample& out) {
    auto usage = service.store_usage();
    if (!usage) {
      out.answering = false;
      out.error = usage.error().describe();
      return;
    }
    out.answering = true;
    out.error.clear();
    out.map_bytes = usage->map_bytes;
    out.used_bytes = usage->used_bytes;
    out.free_pages = usage->free_pages;
    out.appends_failed = usage->appends_failed;
    out.corrupt_records = usage->bad_summaries;
    out.executions_by_state = std::move(usage->executions_by_state);
    // Reads the history of each unfinished execution: full samples only.
    if (auto stuck = service.list({.state = std::string(executions::kStuckListing)})) {
      out.stuck = stuck->size();
      out.stuck_by_reason.clear();
      for (const executions::ExecutionInfo& info : *stuck)
        ++out.stuck_by_reason[std::string(executions::to_string(info.stuck->reason))];
    }
    // Counted on the service thread; lands in the next sample.
    service.count_nodes([counts = node_counts](std::map<std::string, std::uint64_t> fresh) {
      std::lock_guard lock(counts->mutex);
      counts->by_state = std::move(fresh);
    });
    std::lock_guard lock(node_counts->mutex);
    out.nodes_by_state = node_counts->by_state;
  }

  // Once per runtime: events counted as they come (never blocking the
  // runtime's thread: counters only), from the first one the replay ring
  // still holds, so what happened before the subscription counts too.
  void subscribe(Handle& runtime) {
    if (subscription_made) return;
    auto subscription =
        runtime.subscribe_events([m = metrics](const Event& event) { m->on_event(event); }, 0);
    if (!subscription) return;  // the loop did not answer: next time
    std::lock_guard lock(mutex);
    events = std::move(*subscription);
    subscription_made = true;
  }

  void publish(DaemonSample sample) {
    latest = std::make_shared<const DaemonSample>(std::move(sample));
  }

  std::shared_ptr<DaemonMetrics> metrics;
  SamplerOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::condition_variable idle;
  bool stopping = false;
  bool poked = false;
  bool busy = false;
  std::shared_ptr<const DaemonSample> latest;
  std::optional<Handle> handle;
  executions::ExecutionService* executions = nullptr;
  // Filled on the service thread, which may answer after we are gone.
  struct NodeCounts {
    std::mutex mutex;
    std::map<std::string, std::uint64_t> by_state;
  };
  std::shared_ptr<NodeCounts> node_counts = std::make_shared<NodeCounts>();
  EventSubscription events;
  bool subscription_made = false;
  std::thread thread;
};

Sampler::Sampler(std::shared_ptr<DaemonMetrics> metrics, SamplerOptions options)
    : metrics_(metrics), impl_(std::make_unique<Impl>(std::move(metrics), options)) {}

Sampler::~Sampler() {
  detach();
}

void Sampler::attach_executions(executions::ExecutionService* service) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->executions = service;
    impl_->poked = true;
  }
  impl_->wake.notify_all();
}

void Sampler::attach_runtime(Handle handle) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->handle = std::move(handle);
    impl_->poked = true;
  }
  impl_->wake.notify_all();
}

void Sampler::detach() {
  EventSubscription events;
  {
    std::unique_lock lock(impl_->mutex);
    impl_->handle.reset();
    impl_->executions = nullptr;
    impl_->idle.wait(lock, [this] { return !impl_->busy; });
    events = std::move(impl_->events);
  }
  events.reset();  // outside the lock: it calls into the runtime
}

std::shared_ptr<const DaemonSample> Sampler::latest() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->latest;
}

}  // namespace sup::metrics
