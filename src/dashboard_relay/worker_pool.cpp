#include "dashboard_relay/worker_pool.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>

namespace sup::relay {

struct WorkerPool::State {
  std::mutex mutex;
  std::condition_variable wake;      // jobs or stop, for workers
  std::condition_variable finished;  // a worker exited, for shutdown()
  std::deque<std::function<void()>> jobs;
  std::vector<bool> exited;
  bool stopping = false;
};

WorkerPool::WorkerPool(unsigned threads, int niceness) : state_(std::make_shared<State>()) {
  state_->exited.assign(threads, false);
  for (unsigned i = 0; i < threads; ++i) {
    threads_.emplace_back([state = state_, i, niceness] {
      // Linux: a thread's nice value is its own (setpriority on its tid).
      // Best effort: a refusal leaves the pool at normal priority.
      if (niceness > 0) (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), niceness);
      std::unique_lock lock(state->mutex);
      while (true) {
        state->wake.wait(lock, [&] { return state->stopping || !state->jobs.empty(); });
        if (state->stopping) break;
        auto job = std::move(state->jobs.front());
        state->jobs.pop_front();
        lock.unlock();
        job();
        job = nullptr;  // release what it holds before sleeping
        lock.lock();
      }
      state->exited[i] = true;
      state->finished.notify_all();
    });
  }
}

WorkerPool::~WorkerPool() {
  shutdown(kDefaultGrace);
}

void WorkerPool::Poster::post(std::function<void()> job) const {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->jobs.push_back(std::move(job));
  }
  state_->wake.notify_one();
}

void WorkerPool::shutdown(std::chrono::milliseconds grace) {
  if (threads_.empty()) return;
  std::deque<std::function<void()>> dropped;
  std::vector<bool> exited;
  {
    std::unique_lock lock(state_->mutex);
    state_->stopping = true;
    dropped.swap(state_->jobs);
    state_->wake.notify_all();
    state_->finished.wait_for(lock, grace, [&] {
      return std::find(state_->exited.begin(), state_->exited.end(), false) == state_->exited.end();
    });
    exited = state_->exited;
  }
  for (std::size_t i = 0; i < threads_.size(); ++i) {
    if (exited[i])
      threads_[i].join();
    else
      threads_[i].detach();
  }
  threads_.clear();
}

}  // namespace sup::relay
