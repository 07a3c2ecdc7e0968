// A child process for integration tests: started in a session of its own
// with stdin from /dev/null and stdout/stderr captured line by line, so a
// test can wait for a line, signal the process, and read how it ended.
// Destroying it kills the whole session (the process and everything it
// spawned), and the process gets SIGKILL if the test process dies first, so
// a failing or crashing test never leaves a daemon behind.
//
//   auto proc = sup::it::Subprocess::spawn({.argv = {"/bin/sh", "-c", "echo hi; sleep 5"}});
//   REQUIRE(proc);
//   auto line = (*proc)->wait_for_line(sup::it::Stream::Out,
//                                      [](const std::string& l) { return l == "hi"; }, 5s);
//   (*proc)->send_signal(SIGTERM);
//   auto status = (*proc)->wait_exit(5s);  // status->signal == SIGTERM
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sup/error.hpp"

namespace sup::it {

enum class Stream { Out, Err };

// How a process ended: an exit code, or the signal that killed it.
struct ExitStatus {
  bool exited = false;
  int code = -1;
  int signal = 0;

  bool exited_with(int expected) const { return exited && code == expected; }
  bool killed_by(int expected) const { return !exited && signal == expected; }
  std::string describe() const;
};

struct SpawnOptions {
  std::vector<std::string> argv = {};           // argv[0] without a '/' is looked up in PATH
  std::map<std::string, std::string> env = {};  // set (or replaced) in the inherited environment
  std::vector<std::string> unset_env = {};
  std::string cwd = {};  // empty: the test's working directory
  // Descriptors of the test handed to the child: {the test's fd, its number
  // in the child} (Chromium's --remote-debugging-pipe reads 3, writes 4).
  std::vector<std::pair<int, int>> pass_fds = {};
};

class Subprocess {
 public:
  using LinePredicate = std::function<bool(const std::string&)>;

  static Expected<std::unique_ptr<Subprocess>> spawn(const SpawnOptions& options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void send_signal(int signo) const;

  // Waits for the process to end and then for its output to reach EOF
  // (bounded), so every line it wrote is in lines(). nullopt: still running.
  std::optional<ExitStatus> wait_exit(std::chrono::milliseconds timeout);
  // The exit status if the process has ended, without waiting.
  std::optional<ExitStatus> poll_exit();

  std::vector<std::string> lines(Stream stream) const;
  std::size_t line_count(Stream stream) const;
  std::string text(Stream stream) const;  // the lines joined with '\n'
  // The first line at index >= `from` that satisfies `predicate`.
  std::optional<std::string> wait_for_line(Stream stream, const LinePredicate& predicate,
                                           std::chrono::milliseconds timeout,
                                           std::size_t from = 0) const;
  // True once both streams reached EOF.
  bool output_closed() const;

 private:
  Subprocess(pid_t pid, int out_fd, int err_fd, int wake_fd_read, int wake_fd_write);
  void read_output();
  void take_bytes(Stream stream, const char* data, std::size_t size);
  void kill_session();

  pid_t pid_;
  int out_fd_;
  int err_fd_;
  int wake_read_;
  int wake_write_;
  std::optional<ExitStatus> status_;

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<std::string> out_lines_;
  std::vector<std::string> err_lines_;
  std::string out_partial_;
  std::string err_partial_;
  bool closed_ = false;
  std::thread reader_;
};

// A finished run of a short-lived command.
struct RunResult {
  ExitStatus status;
  bool timed_out = false;
  std::string out;
  std::string err;

  int code() const { return status.exited ? status.code : -1; }
  // argv-free summary for failure messages: status, stdout and stderr.
  std::string describe() const;
};

// Runs `options` to completion; past `timeout` the process is killed and
// the result says timed_out.
RunResult run_command(const SpawnOptions& options, std::chrono::milliseconds timeout);

// Processes (by pid) whose session id is `session`: what a session leader
// left behind, even after it died.
std::vector<pid_t> session_members(pid_t session);

}  // namespace sup::it
