// A few threads that run the relay's requests, so a slow call into the
// runtime (a command's round trip to the control loop, a 10,000-child state
// snapshot) never stalls the I/O thread and the other clients. The relay
// keeps two: one for cheap requests and one for snapshots, so a health
// check or a command never queues behind fifty state snapshots.
//
// Jobs must hold what they use by shared_ptr: at shutdown, a job still
// blocked after the grace period is left running on a detached thread
// rather than holding up the relay's exit (a command can be waiting for the
// very shutdown that is stopping the relay).
//
//   sup::relay::WorkerPool pool(2);
//   pool.post([backend, line] { backend->dispatcher.handle_line(line, peer); });
//   auto lane = pool.poster();  // for jobs that hand work on to this pool
//   pool.shutdown(std::chrono::seconds(1));
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace sup::relay {

class WorkerPool {
  struct State;

 public:
  // `niceness` (0 to 19) is added to the threads' nice value: a pool of
  // background work yields the CPU to the rest of the process under load.
  explicit WorkerPool(unsigned threads, int niceness = 0);
  ~WorkerPool();  // shutdown(kDefaultGrace)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  static constexpr std::chrono::milliseconds kDefaultGrace{1000};

  // Posts to a pool; copyable, and safe to use after the pool is gone
  // (the job is then dropped, as after shutdown()).
  class Poster {
   public:
    void post(std::function<void()> job) const;

   private:
    friend class WorkerPool;
    explicit Poster(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };

  // Ignored after shutdown().
  void post(std::function<void()> job) { poster().post(std::move(job)); }
  Poster poster() const { return Poster(state_); }

  // Drops queued jobs, waits up to `grace` for running ones, joins the idle
  // threads and detaches the rest. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace sup::relay
