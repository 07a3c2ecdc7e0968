// The daemon's registration with a seed relay (dashboard.registration):
// a thread of its own that does the socket I/O the pure
// registration::RegistrationLease asks for, never on the control loop.
//
// Each attempt is one exchange on a fresh connection to the relay's
// registration socket: connect, write the RegistrationRequest line, read
// the ack line, all within registration::attempt_timeout_ms. The first
// attempt goes out on start(), renewals every heartbeat, retries after a
// failure with backoff. Failures are logged (the first of a streak, then
// with backoff) and never end the daemon. health and state read status().
//
//   RelayRegistrar registrar({config.dashboard.registration, config.dashboard.target_id,
//                             config.dashboard.path, config.runtime.jitter_seed});
//   registrar.start();              // once the dashboard socket is up
//   auto status = registrar.status();  // from any thread
//   // the destructor stops the thread, abandoning an exchange under way
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "config/daemon_config.hpp"
#include "process/unique_fd.hpp"
#include "registration/registration_lease.hpp"

namespace sup::daemon {

class RelayRegistrar {
 public:
  struct Options {
    config::RegistrationConfig registration;
    std::string target_id;
    std::string ipc_path;  // the daemon's dashboard socket, where the relay connects
    std::uint64_t jitter_seed = 0;
  };

  explicit RelayRegistrar(Options options);
  ~RelayRegistrar();
  RelayRegistrar(const RelayRegistrar&) = delete;
  RelayRegistrar& operator=(const RelayRegistrar&) = delete;

  // Starts the thread; the first attempt goes out at once. Once only.
  void start();
  // Ends the thread (abandoning an exchange under way); status() stays
  // readable. The destructor does it too.
  void stop();
  registration::RegistrationStatus status() const;

 private:
  void run();
  void report(const registration::Step& step);

  const Options options_;
  const std::string request_line_;
  const std::uint32_t attempt_timeout_ms_;
  process::UniqueFd stop_event_;  // eventfd: wakes an exchange in poll()

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  registration::RegistrationLease lease_;
  std::thread thread_;
};

}  // namespace sup::daemon
