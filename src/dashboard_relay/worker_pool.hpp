// A few threads that run the relay's requests, so a slow call into the
// runtime (a command's round trip to the control loop, a 10,000-child state
// snapshot) never stalls the I/O thread and the other clients.
//
// Jobs must hold what they use by shared_ptr: at shutdown, a job still
// blocked after the grace period is left running on a detached thread
// rather than holding up the relay's exit (a command can be waiting for the
// very shutdown that is stopping the relay).
//
//   sup::relay::WorkerPool pool(2);
//   pool.post([backend, line] { backend->dispatcher.handle_line(line, peer); });
//   pool.shutdown(std::chrono::seconds(1));
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace sup::relay {

class WorkerPool {
 public:
  explicit WorkerPool(unsigned threads);
  ~WorkerPool();  // shutdown(kDefaultGrace)
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  static constexpr std::chrono::milliseconds kDefaultGrace{1000};

  // Ignored after shutdown().
  void post(std::function<void()> job);

  // Drops queued jobs, waits up to `grace` for running ones, joins the idle
  // threads and detaches the rest. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::vector<std::thread> threads_;
};

}  // namespace sup::relay
