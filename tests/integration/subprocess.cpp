#include "subprocess.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

extern char** environ;

namespace sup::it {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kReapPoll{5};
// After the process ended, how long its output may take to reach EOF (a
// grandchild could hold the pipe; it is killed with the session anyway).
constexpr milliseconds kOutputDrain{5000};

std::string resolve_in_path(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return program;
}

std::vector<std::string> build_environment(const SpawnOptions& options) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry; ++entry) {
    std::string_view text(*entry);
    auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    merged[std::string(text.substr(0, equals))] = std::string(text.substr(equals + 1));
  }
  for (const auto& name : options.unset_env) merged.erase(name);
  for (const auto& [name, value] : options.env) merged[name] = value;
  std::vector<std::string> entries;
  for (const auto& [name, value] : merged) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

ExitStatus decode_wait_status(int status) {
  ExitStatus decoded;
  if (WIFEXITED(status)) {
    decoded.exited = true;
    decoded.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    decoded.signal = WTERMSIG(status);
  }
  return decoded;
}

// Runs in the forked child of a multi-threaded parent: async-signal-safe
// calls only, everything else was prepared before fork().
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp,
                             const char* cwd, int out_fd, int err_fd, int error_fd, pid_t test_pid,
                             const std::pair<int, int>* pass_fds, std::size_t pass_count) {
  // Dies with the test even if the test crashes before its destructors run.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != test_pid) _exit(127);
  setsid();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  dup2(out_fd, STDOUT_FILENO);
  dup2(err_fd, STDERR_FILENO);
  // Out of the way first (a source may be another's target), then in place;
  // dup2 leaves the target open across exec.
  constexpr int kParkedFds = 200;
  for (std::size_t i = 0; i < pass_count; ++i)
    dup2(pass_fds[i].first, kParkedFds + static_cast<int>(i));
  for (std::size_t i = 0; i < pass_count; ++i)
    dup2(kParkedFds + static_cast<int>(i), pass_fds[i].second);
  // No core files in the test's directories; death by signal is still reported.
  rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  if (cwd && chdir(cwd) != 0) {
    int error = errno;
    (void)!write(error_fd, &error, sizeof error);
    _exit(127);
  }
  execve(program, argv, envp);
  int error = errno;
  (void)!write(error_fd, &error, sizeof error);
  _exit(127);
}

// The contents of a /proc file; "" when it vanished meanwhile (a process
// that exited: reads fail with ESRCH, which iostreams would throw for).
std::string read_small_file(const std::string& path) {
  std::string contents;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return contents;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;)
    contents.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  return contents;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal != 0) return std::string("killed by signal ") + strsignal(signal);
  return "unknown status";
}

Expected<std::unique_ptr<Subprocess>> Subprocess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::InvalidArgument, "empty argv");
  std::string program = resolve_in_path(options.argv.front());
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = build_environment(options);
  std::vector<char*> argv = pointers_to(argv_strings);
  std::vector<char*> envp = pointers_to(env_strings);

  int out_pipe[2];
  int err_pipe[2];
  int error_pipe[2];
  int wake_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(error_pipe, O_CLOEXEC) != 0 || pipe2(wake_pipe, O_CLOEXEC) != 0)
    return make_error(ErrorCode::SpawnFailed, std::string("pipe2: ") + std::strerror(errno));

  const pid_t test_pid = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return make_error(ErrorCode::SpawnFailed, std::string("fork: ") + std::strerror(errno));
  if (pid == 0)
    exec_child(program.c_str(), argv.data(), envp.data(),
               options.cwd.empty() ? nullptr : options.cwd.c_str(), out_pipe[1], err_pipe[1],
               error_pipe[1], test_pid, options.pass_fds.data(), options.pass_fds.size());

  close(out_pipe[1]);
  close(err_pipe[1]);
  close(error_pipe[1]);
  int exec_errno = 0;
  ssize_t got = read(error_pipe[0], &exec_errno, sizeof exec_errno);
  close(error_pipe[0]);
  std::unique_ptr<Subprocess> process(
      new Subprocess(pid, out_pipe[0], err_pipe[0], wake_pipe[0], wake_pipe[1]));
  if (got == static_cast<ssize_t>(sizeof exec_errno)) {
    process->wait_exit(kOutputDrain);
    return make_error(ErrorCode::SpawnFailed,
                      "cannot run " + program + ": " + std::strerror(exec_errno));
  }
  return process;
}

Subprocess::Subprocess(pid_t pid, int out_fd, int err_fd, int wake_fd_read, int wake_fd_write)
    : pid_(pid),
      out_fd_(out_fd),
      err_fd_(err_fd),
      wake_read_(wake_fd_read),
      wake_write_(wake_fd_write),
      reader_([this] { read_output(); }) {}

Subprocess::~Subprocess() {
  kill_session();
  (void)!write(wake_write_, "x", 1);
  reader_.join();
  for (int fd : {out_fd_, err_fd_, wake_read_, wake_write_}) close(fd);
}

void Subprocess::kill_session() {
  if (!status_) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    status_ = decode_wait_status(status);
  }
  // Whatever it spawned: process children sit in groups of their own but
  // stay in the session, even once orphaned.
  for (pid_t member : session_members(pid_)) kill(member, SIGKILL);
}

void Subprocess::send_signal(int signo) const {
  kill(pid_, signo);
}

std::optional<ExitStatus> Subprocess::poll_exit() {
  if (status_) return status_;
  int status = 0;
  pid_t reaped = waitpid(pid_, &status, WNOHANG);
  if (reaped == pid_) status_ = decode_wait_status(status);
  return status_;
}

std::optional<ExitStatus> Subprocess::wait_exit(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!poll_exit()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kReapPoll);
  }
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, kOutputDrain, [this] { return closed_; });
  return status_;
}

void Subprocess::read_output() {
  bool out_open = true;
  bool err_open = true;
  char buffer[64 * 1024];
  while (out_open || err_open) {
    pollfd fds[3] = {{out_open ? out_fd_ : -1, POLLIN, 0},
                     {err_open ? err_fd_ : -1, POLLIN, 0},
                     {wake_read_, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents != 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      take_bytes(i == 0 ? Stream::Out : Stream::Err, buffer, static_cast<std::size_t>(n));
    }
  }
  std::lock_guard lock(mutex_);
  if (!out_partial_.empty()) out_lines_.push_back(std::exchange(out_partial_, {}));
  if (!err_partial_.empty()) err_lines_.push_back(std::exchange(err_partial_, {}));
  closed_ = true;
  changed_.notify_all();
}

void Subprocess::take_bytes(Stream stream, const char* data, std::size_t size) {
  std::lock_guard lock(mutex_);
  std::string& partial = stream == Stream::Out ? out_partial_ : err_partial_;
  std::vector<std::string>& lines = stream == Stream::Out ? out_lines_ : err_lines_;
  std::string_view chunk(data, size);
  for (auto newline = chunk.find('\n'); newline != std::string_view::npos;
       newline = chunk.find('\n')) {
    partial.append(chunk.substr(0, newline));
    lines.push_back(std::exchange(partial, {}));
    chunk.remove_prefix(newline + 1);
  }
  partial.append(chunk);
  changed_.notify_all();
}

std::vector<std::string> Subprocess::lines(Stream stream) const {
  std::lock_guard lock(mutex_);
  return stream == Stream::Out ? out_lines_ : err_lines_;
}

std::size_t Subprocess::line_count(Stream stream) const {
  std::lock_guard lock(mutex_);
  return (stream == Stream::Out ? out_lines_ : err_lines_).size();
}

std::string Subprocess::text(Stream stream) const {
  std::string joined;
  for (const auto& line : lines(stream)) joined += line + "\n";
  return joined;
}

std::optional<std::string> Subprocess::wait_for_line(Stream stream, const LinePredicate& predicate,
                                                     milliseconds timeout, std::size_t from) const {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  const std::vector<std::string>& lines = stream == Stream::Out ? out_lines_ : err_lines_;
  std::size_t next = from;
  for (;;) {
    for (; next < lines.size(); ++next)
      if (predicate(lines[next])) return lines[next];
    if (closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && next == lines.size())
      return std::nullopt;
  }
}

bool Subprocess::output_closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

std::string RunResult::describe() const {
  std::string text = timed_out ? "timed out (killed)" : status.describe();
  text += "\n--- stdout ---\n" + out + "--- stderr ---\n" + err;
  return text;
}

RunResult run_command(const SpawnOptions& options, milliseconds timeout) {
  RunResult result;
  auto process = Subprocess::spawn(options);
  if (!process) {
    result.err = process.error().describe();
    return result;
  }
  auto status = (*process)->wait_exit(timeout);
  if (!status) {
    result.timed_out = true;
    (*process)->send_signal(SIGKILL);
    status = (*process)->wait_exit(kOutputDrain);
  }
  if (status) result.status = *status;
  result.out = (*process)->text(Stream::Out);
  result.err = (*process)->text(Stream::Err);
  return result;
}

std::vector<pid_t> session_members(pid_t session) {
  std::vector<pid_t> members;
  DIR* proc = opendir("/proc");
  if (!proc) return members;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    std::string stat = read_small_file(std::string("/proc/") + entry->d_name + "/stat");
    // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parens.
    auto close_paren = stat.rfind(')');
    if (close_paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(close_paren + 1));
    std::string state;
    long ppid = 0;
    long pgrp = 0;
    long sid = 0;
    if (fields >> state >> ppid >> pgrp >> sid && sid == session)
      members.push_back(static_cast<pid_t>(pid));
  }
  closedir(proc);
  return members;
}

}  // namespace sup::it
