#include "process/process_reactor.hpp"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "process/line_splitter.hpp"
#include "process/output_limiter.hpp"
#include "process/process_records.hpp"
#include "process/process_spawner.hpp"
#include "process/unique_fd.hpp"
#include "sup/log.hpp"

namespace sup::process {
namespace {

// How long output of an exited child is still awaited when something
// outside its group keeps a pipe open.
constexpr std::int64_t kDrainAfterExitMs = 100;
// How long start() waits for the leftovers of a crashed predecessor to die.
constexpr std::chrono::milliseconds kLeftoverKillWait{5000};
constexpr std::size_t kReadChunkBytes = 64 * 1024;
// Per readiness event and pipe, so one chatty child cannot starve the rest
// (epoll is level-triggered: what is left is reported again).
constexpr int kReadsPerEvent = 4;
constexpr int kMaxEventsPerWait = 64;

// epoll_data: (serial << 2) | source. Serials start at 1 and are never
// reused, so an event for a child finished earlier in the same batch is
// recognisably stale. Tag 0 is the wake-up eventfd.
enum class Source : std::uint64_t { Exit = 0, Stdout = 1, Stderr = 2 };
constexpr std::uint64_t kWakeTag = 0;
std::uint64_t event_tag(std::uint64_t serial, Source source) {
  return (serial << 2) | static_cast<std::uint64_t>(source);
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

sup::Error reactor_error(const char* what, int error) {
  return sup::make_error(sup::ErrorCode::IoError, std::string(what) + ": " + errno_text(error));
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : std::to_string(sig);
}

struct ChildOutput {
  OutputStream stream;
  UniqueFd fd;  // reset at EOF
  LineSplitter lines;
};

struct ReactorChild {
  std::uint64_t serial = 0;  // set by the reactor thread on adoption
  std::string child_id;
  pid_t pid = -1;
  UniqueFd pidfd;  // reset once reaped
  ChildOutput out{OutputStream::Stdout, {}, {}};
  ChildOutput err{OutputStream::Stderr, {}, {}};
  std::optional<ProcessExit> exit;
  std::string record_token;  // empty: not recorded
  OutputLimiter limiter{{}, 0};
  bool drop_report_queued = false;

  bool output_open() const { return static_cast<bool>(out.fd) || static_cast<bool>(err.fd); }
};

template <class Callback, class... Args>
void invoke_callback(std::string_view name, const Callback& callback, const Args&... args) {
  if (!callback) return;
  // The reactor thread must survive a misbehaving callback: every other
  // child depends on it.
  try {
    callback(args...);
  } catch (const std::exception& e) {
    sup::log(sup::LogLevel::Error, "process reactor callback threw",
             {{"CALLBACK", std::string(name)}, {"ERROR", e.what()}});
  } catch (...) {
    sup::log(sup::LogLevel::Error, "process reactor callback threw",
             {{"CALLBACK", std::string(name)}, {"ERROR", "unknown exception"}});
  }
}

enum class WaitMode { NoHang, Block };

}  // namespace

struct ProcessReactor::Impl {
  ReactorCallbacks callbacks;
  ReactorOptions options;
  std::optional<ProcessRecords> records;  // thread-safe itself
  UniqueFd epoll;
  UniqueFd wake;
  std::thread thread;

  // Shared between the reactor thread and the callers of the public API.
  mutable std::mutex mutex;
  // Spawned and not yet reaped: the only pids signal_group() may touch.
  std::unordered_set<pid_t> unreaped_pids;
  std::size_t exits_due = 0;
  std::vector<ReactorChild> adoptions;  // spawned, not yet picked up by the reactor thread
  bool stopping = false;

  // Reactor thread only.
  std::unordered_map<std::uint64_t, ReactorChild> children;  // by serial
  std::uint64_t next_serial = 1;
  std::deque<std::pair<std::int64_t, std::uint64_t>> drain_deadlines;  // (mono ms, serial)
  // Pushed at now + a constant interval, so in order like drain_deadlines.
  std::deque<std::pair<std::int64_t, std::uint64_t>> drop_reports;  // (mono ms, serial)
  std::array<char, kReadChunkBytes> read_buffer{};

  void notify() {
    const std::uint64_t one = 1;
    // EAGAIN means the counter is saturated: a wake-up is pending anyway.
    while (::write(wake.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
  }

  void run() {
    std::array<epoll_event, kMaxEventsPerWait> events{};
    for (;;) {
      const int count =
          ::epoll_wait(epoll.get(), events.data(), kMaxEventsPerWait, wait_timeout_ms());
      if (count < 0 && errno != EINTR) {
        sup::log(sup::LogLevel::Critical, "process reactor: epoll_wait failed",
                 {{"ERROR", errno_text(errno)}});
      }
      for (int i = 0; i < count; ++i) {
        if (events[i].data.u64 != kWakeTag) {
          dispatch(events[i].data.u64);
        } else if (take_requests()) {
          // The owner is going away: the rest of this batch is not reported.
          kill_and_reap_survivors();
          return;
        }
      }
      expire_drains();
      expire_drop_reports();
    }
  }

  // Returns true when the reactor is asked to stop.
  bool take_requests() {
    std::uint64_t ignored = 0;
    while (::read(wake.get(), &ignored, sizeof ignored) < 0 && errno == EINTR) {
    }
    std::vector<ReactorChild> adopted;
    bool stop = false;
    {
      std::lock_guard lock(mutex);
      adopted.swap(adoptions);
      stop = stopping;
    }
    for (ReactorChild& child : adopted) adopt(std::move(child));
    return stop;
  }

  void adopt(ReactorChild&& incoming) {
    const std::uint64_t serial = next_serial++;
    const auto it = children.emplace(serial, std::move(incoming)).first;
    ReactorChild& child = it->second;
    child.serial = serial;
    if (watch(child.pidfd.get(), event_tag(serial, Source::Exit)) &&
        watch(child.out.fd.get(), event_tag(serial, Source::Stdout)) &&
        watch(child.err.fd.get(), event_tag(serial, Source::Stderr))) {
      return;
    }
    const int error = errno;
    // Unwatchable (out of memory or epoll watches): end it now rather than
    // lose track of it.
    sup::log(sup::LogLevel::Error, "process reactor cannot watch a child; killing it",
             {{"CHILD_ID", child.child_id},
              {"PID", std::to_string(child.pid)},
              {"ERROR", errno_text(error)}});
    reap(child, WaitMode::Block);
    close_output(child, child.out);
    close_output(child, child.err);
    finish(it);
  }

  bool watch(int fd, std::uint64_t tag) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = tag;
    return ::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event) == 0;
  }

  void unwatch(int fd) { ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, fd, nullptr); }

  void dispatch(std::uint64_t tag) {
    auto it = children.find(tag >> 2);
    if (it == children.end()) return;  // finished earlier in this batch
    ReactorChild& child = it->second;
    switch (static_cast<Source>(tag & 3)) {
      case Source::Exit:
        if (!reap(child, WaitMode::NoHang)) return;
        if (child.output_open()) {
          drain_deadlines.emplace_back(sup::mono_now_ms() + kDrainAfterExitMs, it->first);
        }
        break;
      case Source::Stdout:
        read_output(child, child.out);
        break;
      case Source::Stderr:
        read_output(child, child.err);
        break;
    }
    if (child.exit && !child.output_open()) finish(it);
  }

  // Returns false if the process has not exited after all.
  bool reap(ReactorChild& child, WaitMode mode) {
    // The group's stragglers go with the leader. The leader is not reaped
    // yet, so its group id cannot belong to anyone else.
    ::kill(-child.pid, SIGKILL);
    siginfo_t info{};
    int rc = 0;
    {
      // signal_group() checks unreaped_pids and signals under this lock, so
      // it can never hit the pid after waitid has released it.
      std::lock_guard lock(mutex);
      const int options = WEXITED | (mode == WaitMode::NoHang ? WNOHANG : 0);
      do {
        rc = ::waitid(P_PID, static_cast<id_t>(child.pid), &info, options);
      } while (rc < 0 && errno == EINTR);
      if (rc == 0 && info.si_pid == 0) return false;
      unreaped_pids.erase(child.pid);
    }
    if (rc == 0) {
      const bool signaled = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
      child.exit = ProcessExit{child.pid, signaled, info.si_status};
    } else {
      sup::log(sup::LogLevel::Error, "process reactor: child was reaped by someone else",
               {{"CHILD_ID", child.child_id},
                {"PID", std::to_string(child.pid)},
                {"ERROR", errno_text(errno)}});
      child.exit = ProcessExit{child.pid, false, -1};
    }
    unwatch(child.pidfd.get());
    child.pidfd.reset();
    // The group is dead: nothing of it is left for a successor to find.
    if (records && !child.record_token.empty()) records->forget(child.record_token);
    return true;
  }

  void read_output(ReactorChild& child, ChildOutput& output) {
    for (int i = 0; i < kReadsPerEvent && output.fd; ++i) {
      const ssize_t got = ::read(output.fd.get(), read_buffer.data(), read_buffer.size());
      if (got > 0) {
        output.lines.append(std::string_view(read_buffer.data(), static_cast<std::size_t>(got)));
        while (auto line = output.lines.next_line()) deliver_line(child, output, *line);
      } else if (got < 0 && errno == EINTR) {
        continue;
      } else if (got < 0 && errno == EAGAIN) {
        return;
      } else {
        close_output(child, output);  // EOF, or an error that ends the stream just the same
      }
    }
  }

  void close_output(ReactorChild& child, ChildOutput& output) {
    if (!output.fd) return;
    if (auto rest = output.lines.take_rest()) deliver_line(child, output, *rest);
    unwatch(output.fd.get());
    output.fd.reset();
  }

  void deliver_line(ReactorChild& child, const ChildOutput& output, std::string_view line) {
    const std::int64_t now = sup::mono_now_ms();
    if (child.limiter.admit(now)) {
      invoke_callback("on_line", callbacks.on_line, child.child_id, child.pid, output.stream, line);
    } else if (!child.drop_report_queued) {
      child.drop_report_queued = true;
      drop_reports.emplace_back(*child.limiter.report_due_at(), child.serial);
    }
  }

  void report_drops(const ReactorChild& child, std::uint64_t lines) {
    invoke_callback("on_dropped", callbacks.on_dropped, child.child_id, child.pid, lines);
  }

  void expire_drop_reports() {
    const std::int64_t now = sup::mono_now_ms();
    while (!drop_reports.empty() && drop_reports.front().first <= now) {
      const std::uint64_t serial = drop_reports.front().second;
      drop_reports.pop_front();
      auto it = children.find(serial);
      if (it == children.end()) continue;  // finished: reported then
      ReactorChild& child = it->second;
      child.drop_report_queued = false;
      if (auto lines = child.limiter.take_due_report(now)) report_drops(child, *lines);
    }
  }

  void finish(std::unordered_map<std::uint64_t, ReactorChild>::iterator it) {
    ReactorChild child = std::move(it->second);
    children.erase(it);
    if (const std::uint64_t lines = child.limiter.take_final_report(); lines > 0) {
      report_drops(child, lines);
    }
    {
      std::lock_guard lock(mutex);
      --exits_due;  // before on_exit, so the callback already sees the new count
    }
    invoke_callback("on_exit", callbacks.on_exit, child.child_id, *child.exit);
  }

  int wait_timeout_ms() const {
    std::optional<std::int64_t> next;
    for (const auto* deadlines : {&drain_deadlines, &drop_reports}) {
      if (!deadlines->empty()) next = std::min(next.value_or(INT64_MAX), deadlines->front().first);
    }
    if (!next) return -1;
    const std::int64_t remaining = *next - sup::mono_now_ms();
    return static_cast<int>(
        std::clamp<std::int64_t>(remaining, 0, OutputLimiter::kReportIntervalMs));
  }

  void expire_drains() {
    const std::int64_t now = sup::mono_now_ms();
    while (!drain_deadlines.empty() && drain_deadlines.front().first <= now) {
      const std::uint64_t serial = drain_deadlines.front().second;
      drain_deadlines.pop_front();
      auto it = children.find(serial);
      if (it == children.end()) continue;  // its pipes closed in time
      ReactorChild& child = it->second;
      for (ChildOutput* output : {&child.out, &child.err}) {
        read_output(child, *output);
        close_output(child, *output);
      }
      finish(it);
    }
  }

  void kill_and_reap_survivors() {
    {
      // All groups first, so they die in parallel while we reap one by one.
      std::lock_guard lock(mutex);
      for (pid_t pid : unreaped_pids) ::kill(-pid, SIGKILL);
    }
    for (auto& [serial, child] : children) {
      if (!child.exit) reap(child, WaitMode::Block);
    }
    children.clear();
  }
};

ProcessReactor::ProcessReactor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

namespace {

void log_sweep(const SweepResult& swept, const std::string& directory) {
  for (const LeftoverProcess& process : swept.killed) {
    sup::log(sup::LogLevel::Warn, "killed a process left running by a previous run of the daemon",
             {{"CHILD_ID", process.child_id}, {"PID", std::to_string(process.pid)}});
  }
  for (const LeftoverProcess& process : swept.still_alive) {
    sup::log(sup::LogLevel::Error,
             "a process left running by a previous run of the daemon did not die on SIGKILL",
             {{"CHILD_ID", process.child_id}, {"PID", std::to_string(process.pid)}});
  }
  if (swept.stale_records > 0) {
    sup::log(sup::LogLevel::Info, "discarded process records of an earlier boot or unreadable",
             {{"RECORDS", std::to_string(swept.stale_records)}, {"DIRECTORY", directory}});
  }
}

}  // namespace

sup::Expected<std::unique_ptr<ProcessReactor>> ProcessReactor::start(ReactorCallbacks callbacks,
                                                                     ReactorOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->callbacks = std::move(callbacks);
  impl->options = std::move(options);
  if (!impl->options.record_dir.empty()) {
    auto records = ProcessRecords::open(impl->options.record_dir);
    if (!records) return records.error();
    log_sweep(records->sweep_leftovers(kLeftoverKillWait), records->directory());
    impl->records.emplace(std::move(*records));
  }
  impl->epoll.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!impl->epoll) return reactor_error("epoll_create1", errno);
  impl->wake.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!impl->wake) return reactor_error("eventfd", errno);
  if (!impl->watch(impl->wake.get(), kWakeTag)) return reactor_error("epoll_ctl", errno);

  // Process-directed signals belong to the daemon's signal handling, never
  // to this thread. Faults stay deliverable: blocking them is undefined.
  sigset_t blocked;
  sigset_t previous;
  ::sigfillset(&blocked);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT}) {
    ::sigdelset(&blocked, fault);
  }
  ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  try {
    impl->thread = std::thread([reactor = impl.get()] { reactor->run(); });
  } catch (const std::system_error& e) {
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return sup::make_error(sup::ErrorCode::IoError, std::string("thread: ") + e.what());
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return std::unique_ptr<ProcessReactor>(new ProcessReactor(std::move(impl)));
}

ProcessReactor::~ProcessReactor() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->notify();
  impl_->thread.join();
}

sup::Expected<pid_t> ProcessReactor::spawn(const std::string& child_id,
                                           const sup::ProcessSpec& spec) {
  std::string token;
  sup::ProcessSpec marked;
  if (impl_->records) {
    if (auto begun = impl_->records->begin(child_id)) {
      token = std::move(*begun);
      marked = spec;
      marked.env[std::string(kTokenVariable)] = token;
    } else {
      sup::log(sup::LogLevel::Error,
               "cannot record a process child; if the daemon crashes it will be left running",
               {{"CHILD_ID", child_id}, {"ERROR", begun.error().message}});
    }
  }
  auto spawned = spawn_process(token.empty() ? spec : marked);
  if (!spawned) {
    if (!token.empty()) impl_->records->forget(token);
    return spawned.error();
  }
  const pid_t pid = spawned->pid;
  if (!token.empty()) impl_->records->complete(token, pid);
  ReactorChild child;
  child.child_id = child_id;
  child.pid = pid;
  child.record_token = std::move(token);
  child.limiter = OutputLimiter(impl_->options.output_limit, sup::mono_now_ms());
  child.pidfd = std::move(spawned->pidfd);
  child.out.fd = std::move(spawned->stdout_fd);
  child.err.fd = std::move(spawned->stderr_fd);
  {
    std::lock_guard lock(impl_->mutex);
    impl_->unreaped_pids.insert(pid);
    ++impl_->exits_due;
    impl_->adoptions.push_back(std::move(child));
  }
  impl_->notify();
  return pid;
}

sup::Status ProcessReactor::signal_group(pid_t pid, int sig) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->unreaped_pids.contains(pid)) {
    return sup::make_error(sup::ErrorCode::NotFound,
                           "no running child with pid " + std::to_string(pid) +
                               " (never spawned here, or already exited)");
  }
  if (::kill(-pid, sig) != 0) {
    return sup::make_error(
        sup::ErrorCode::IoError,
        "kill(-" + std::to_string(pid) + ", " + signal_name(sig) + "): " + errno_text(errno));
  }
  return {};
}

std::size_t ProcessReactor::live_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->exits_due;
}

}  // namespace sup::process
