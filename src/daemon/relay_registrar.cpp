#include "daemon/relay_registrar.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string_view>
#include <variant>

#include "common/clock.hpp"
#include "sup/log.hpp"

namespace sup::daemon {
namespace {

using registration::Step;

// Why an exchange did not produce an ack line; the lease's last_error.
struct ExchangeFailure {
  std::string why;
};

std::string errno_text(std::string_view what, int error) {
  return std::string(what) + ": " + std::strerror(error);
}

// Waits for `events` on `fd` or the stop event until `deadline_ms`:
// 1 ready, 0 timed out, -1 stopped.
int wait_for(int fd, short events, int stop_fd, std::int64_t deadline_ms) {
  for (;;) {
    std::int64_t left = deadline_ms - mono_now_ms();
    if (left <= 0) return 0;
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    int ready = ::poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return 0;
    if (fds[1].revents != 0) return -1;
    if (fds[0].revents != 0) return 1;
  }
}

// One registration exchange on a fresh connection: the ack line (without
// its '\n'), or why there was none. nullopt when stopped.
std::optional<std::variant<std::string, ExchangeFailure>> exchange(const std::string& path,
                                                                   const std::string& request,
                                                                   std::uint32_t timeout_ms,
                                                                   int stop_fd) {
  using Result = std::variant<std::string, ExchangeFailure>;
  const std::int64_t deadline = mono_now_ms() + timeout_ms;
  process::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Result{ExchangeFailure{errno_text("socket", errno)}};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return Result{ExchangeFailure{"the registration socket path is too long"}};
  std::memcpy(address.sun_path, path.data(), path.size());

  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN)
      return Result{ExchangeFailure{errno_text("connect", errno)}};
    int ready = wait_for(fd.get(), POLLOUT, stop_fd, deadline);
    if (ready < 0) return std::nullopt;
    if (ready == 0) return Result{ExchangeFailure{"connect: timed out (backlog full)"}};
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return Result{ExchangeFailure{errno_text("connect", error)}};
  }

  std::string_view unsent = request;
  while (!unsent.empty()) {
    ssize_t wrote = ::send(fd.get(), unsent.data(), unsent.size(), MSG_NOSIGNAL);
    if (wrote > 0) {
      unsent.remove_prefix(static_cast<std::size_t>(wrote));
      continue;
    }
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote < 0 && errno != EAGAIN) return Result{ExchangeFailure{errno_text("send", errno)}};
    int ready = wait_for(fd.get(), POLLOUT, stop_fd, deadline);
    if (ready < 0) return std::nullopt;
    if (ready == 0) return Result{ExchangeFailure{"send: timed out"}};
  }

  std::string received;
  char buffer[4096];
  for (;;) {
    if (auto newline = received.find('\n'); newline != std::string::npos) {
      received.resize(newline);
      return Result{std::move(received)};
    }
    if (received.size() > registration::kMaxAckBytes)
      return Result{ExchangeFailure{"the ack is longer than " +
                                    std::to_string(registration::kMaxAckBytes) + " bytes"}};
    ssize_t got = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (got > 0) {
      received.append(buffer, static_cast<std::size_t>(got));
      continue;
    }
    if (got == 0) return Result{ExchangeFailure{"the relay closed the connection without an ack"}};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return Result{ExchangeFailure{errno_text("recv", errno)}};
    int ready = wait_for(fd.get(), POLLIN, stop_fd, deadline);
    if (ready < 0) return std::nullopt;
    if (ready == 0)
      return Result{ExchangeFailure{"no ack within " + std::to_string(timeout_ms) + " ms"}};
  }
}

registration::LeaseSettings lease_settings(const RelayRegistrar::Options& options) {
  return {options.target_id, options.registration.lease_seconds, options.registration.heartbeat_ms,
          options.jitter_seed};
}

}  // namespace

RelayRegistrar::RelayRegistrar(Options options)
    : options_(std::move(options)),
      request_line_(registration::encode_request(
          registration::make_request(options_.target_id, options_.registration.display_name,
                                     options_.ipc_path, options_.registration.lease_seconds))),
      attempt_timeout_ms_(registration::attempt_timeout_ms(lease_settings(options_))),
      stop_event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      lease_(lease_settings(options_), options_.registration.path) {}

RelayRegistrar::~RelayRegistrar() {
  stop();
}

void RelayRegistrar::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (stop_event_) {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = ::write(stop_event_.get(), &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
}

void RelayRegistrar::start() {
  {
    std::lock_guard lock(mutex_);
    lease_.start(mono_now_ms());
  }
  log(LogLevel::Info, "registering with the dashboard relay",
      {{"REGISTRATION_PATH", options_.registration.path},
       {"DASHBOARD_PATH", options_.ipc_path},
       {"LEASE_SECONDS", std::to_string(options_.registration.lease_seconds)},
       {"HEARTBEAT_MS", std::to_string(options_.registration.heartbeat_ms)}});
  thread_ = std::thread([this] { run(); });
}

registration::RegistrationStatus RelayRegistrar::status() const {
  std::lock_guard lock(mutex_);
  return lease_.status();
}

void RelayRegistrar::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    std::int64_t wait_ms = lease_.next_attempt_at_ms() - mono_now_ms();
    if (wait_ms > 0) {
      wake_.wait_for(lock, std::chrono::milliseconds(wait_ms));
      continue;
    }
    lock.unlock();
    auto outcome =
        exchange(options_.registration.path, request_line_, attempt_timeout_ms_, stop_event_.get());
    lock.lock();
    if (!outcome) break;  // stopped
    std::int64_t now_ms = mono_now_ms();
    Step step = [&] {
      if (auto* failure = std::get_if<ExchangeFailure>(&*outcome))
        return lease_.failed(now_ms, failure->why);
      auto ack = registration::decode_ack(std::get<std::string>(*outcome));
      if (!ack) return lease_.failed(now_ms, ack.error().describe());
      return lease_.acknowledged(now_ms, unix_now_ms(), *ack);
    }();
    report(step);
  }
}

// Under the lock: the lease's status is the step's.
void RelayRegistrar::report(const Step& step) {
  const auto& status = lease_.status();
  switch (step.kind) {
    case Step::Registered:
      log(LogLevel::Info, "registered with the dashboard relay",
          {{"REGISTRATION_PATH", status.relay_path},
           {"LEASE_SECONDS", std::to_string(options_.registration.lease_seconds)}});
      return;
    case Step::Recovered:
      log(LogLevel::Info, "registered with the dashboard relay again",
          {{"REGISTRATION_PATH", status.relay_path},
           {"FAILED_ATTEMPTS", std::to_string(step.failures)}});
      return;
    case Step::Renewed:
      log(LogLevel::Debug, "dashboard relay registration renewed",
          {{"REGISTRATION_PATH", status.relay_path}});
      return;
    case Step::Failed:
      if (!step.should_log) return;
      log(LogLevel::Warn, "dashboard relay registration failed; retrying",
          {{"REGISTRATION_PATH", status.relay_path},
           {"ERROR", status.last_error},
           {"FAILED_ATTEMPTS", std::to_string(step.failures)},
           {"RETRY_IN_MS", std::to_string(step.next_in_ms)}});
      return;
  }
}

}  // namespace sup::daemon
