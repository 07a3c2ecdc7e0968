#include "process/process_reactor.hpp"

#include <dirent.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sup/log.hpp"

using sup::process::OutputStream;
using sup::process::ProcessExit;
using sup::process::ProcessReactor;

namespace {

// Generous: the CI machine has 2 loaded cores and runs this under ASan.
constexpr auto kDeadline = std::chrono::seconds(30);

struct Line {
  std::string child_id;
  pid_t pid;
  OutputStream stream;
  std::string text;
};

// Records every callback; tests wait on it with deadlines.
class Recorder {
 public:
  sup::process::ReactorCallbacks callbacks(
      std::function<void(const std::string&)> line_hook = nullptr) {
    return {
        .on_line =
            [this, line_hook](const std::string& id, pid_t pid, OutputStream stream,
                              std::string_view text) {
              if (line_hook) line_hook(id);
              std::lock_guard lock(mutex_);
              lines_.push_back({id, pid, stream, std::string(text)});
              changed_.notify_all();
            },
        .on_dropped =
            [this](const std::string& id, pid_t, std::uint64_t lines) {
              std::lock_guard lock(mutex_);
              dropped_[id] += lines;
              ++drop_reports_[id];
            },
        .on_exit =
            [this](const std::string& id, const ProcessExit& exit) {
              std::lock_guard lock(mutex_);
              exits_.emplace_back(id, exit);
              lines_at_exit_[id] = lines_of_locked(id).size();
              changed_.notify_all();
            },
    };
  }

  bool wait_for_exits(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return exits_.size() >= count; });
  }

  bool wait_for_lines(const std::string& id, std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [&] { return lines_of_locked(id).size() >= count; });
  }

  ProcessExit wait_for_exit(const std::string& id) {
    std::unique_lock lock(mutex_);
    const bool arrived =
        changed_.wait_for(lock, kDeadline, [&] { return find_exit(id) != nullptr; });
    REQUIRE_MESSAGE(arrived, "no exit reported for " << id);
    return *find_exit(id);
  }

  std::vector<std::string> texts(const std::string& id, OutputStream stream) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const Line& line : lines_) {
      if (line.child_id == id && line.stream == stream) out.push_back(line.text);
    }
    return out;
  }

  std::vector<Line> lines_of(const std::string& id) const {
    std::lock_guard lock(mutex_);
    return lines_of_locked(id);
  }

  // Lines reported dropped, and in how many reports.
  std::pair<std::uint64_t, std::uint64_t> drops_of(const std::string& id) const {
    std::lock_guard lock(mutex_);
    const auto lines = dropped_.find(id);
    const auto reports = drop_reports_.find(id);
    return {lines == dropped_.end() ? 0 : lines->second,
            reports == drop_reports_.end() ? 0 : reports->second};
  }

  std::size_t lines_seen_at_exit(const std::string& id) const {
    std::lock_guard lock(mutex_);
    return lines_at_exit_.at(id);
  }

  std::map<std::string, int> exit_counts() const {
    std::lock_guard lock(mutex_);
    std::map<std::string, int> counts;
    for (const auto& [id, exit] : exits_) ++counts[id];
    return counts;
  }

 private:
  std::vector<Line> lines_of_locked(const std::string& id) const {
    std::vector<Line> out;
    for (const Line& line : lines_) {
      if (line.child_id == id) out.push_back(line);
    }
    return out;
  }

  const ProcessExit* find_exit(const std::string& id) const {
    for (const auto& [exit_id, exit] : exits_) {
      if (exit_id == id) return &exit;
    }
    return nullptr;
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Line> lines_;
  std::vector<std::pair<std::string, ProcessExit>> exits_;
  std::map<std::string, std::size_t> lines_at_exit_;
  std::map<std::string, std::uint64_t> dropped_;
  std::map<std::string, std::uint64_t> drop_reports_;
};

sup::ProcessSpec command(std::vector<std::string> argv) {
  sup::ProcessSpec spec;
  spec.argv = std::move(argv);
  return spec;
}

sup::ProcessSpec shell(const std::string& script) {
  return command({"/bin/sh", "-c", script});
}

std::unique_ptr<ProcessReactor> start_reactor(Recorder& recorder,
                                              sup::process::ReactorOptions options = {}) {
  auto reactor = ProcessReactor::start(recorder.callbacks(), std::move(options));
  REQUIRE_MESSAGE(reactor.has_value(), (reactor ? "" : reactor.error().describe()));
  return std::move(reactor).value();
}

pid_t spawn_ok(ProcessReactor& reactor, const std::string& id, const sup::ProcessSpec& spec) {
  auto pid = reactor.spawn(id, spec);
  REQUIRE_MESSAGE(pid.has_value(), (pid ? "" : pid.error().describe()));
  return *pid;
}

struct ProcStat {
  char state;
  pid_t ppid;
};

std::optional<ProcStat> proc_stat(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(file, text)) return std::nullopt;
  // "pid (comm) state ppid ...": comm may hold spaces, so parse after the last ')'.
  std::istringstream rest(text.substr(text.rfind(')') + 1));
  ProcStat stat{};
  rest >> stat.state >> stat.ppid;
  return stat;
}

// Gone, or a zombie waiting for whoever inherited it: either way not running.
bool process_dead(pid_t pid) {
  auto stat = proc_stat(pid);
  return !stat || stat->state == 'Z' || stat->state == 'X';
}

bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::vector<pid_t> own_children() {
  std::vector<pid_t> children;
  DIR* proc = ::opendir("/proc");
  REQUIRE(proc != nullptr);
  while (dirent* entry = ::readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    auto stat = proc_stat(pid);
    if (stat && stat->ppid == ::getpid()) children.push_back(pid);
  }
  ::closedir(proc);
  return children;
}

std::size_t open_fd_count() {
  std::size_t count = 0;
  DIR* fds = ::opendir("/proc/self/fd");
  REQUIRE(fds != nullptr);
  while (::readdir(fds) != nullptr) ++count;
  ::closedir(fds);
  return count;
}

std::string proc_status_field(pid_t pid, const std::string& field) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string value = line.substr(field.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return {};
}

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/sup-process-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("exit codes are reported once, with the spawned pid, after which nothing is live") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  const pid_t ok = spawn_ok(*reactor, "ok", command({"true"}));
  const pid_t three = spawn_ok(*reactor, "three", shell("exit 3"));
  CHECK(ok != three);

  const ProcessExit ok_exit = recorder.wait_for_exit("ok");
  CHECK(ok_exit.pid == ok);
  CHECK_FALSE(ok_exit.signaled);
  CHECK(ok_exit.status == 0);
  const ProcessExit three_exit = recorder.wait_for_exit("three");
  CHECK(three_exit.pid == three);
  CHECK_FALSE(three_exit.signaled);
  CHECK(three_exit.status == 3);
  CHECK(reactor->live_count() == 0);
}

TEST_CASE("a child killed by a signal is reported as signaled") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  // No core file in the working directory.
  spawn_ok(*reactor, "segv", shell("ulimit -c 0; kill -SEGV $$"));
  const ProcessExit exit = recorder.wait_for_exit("segv");
  CHECK(exit.signaled);
  CHECK(exit.status == SIGSEGV);
}

TEST_CASE("stdout and stderr lines arrive in order per stream, all before on_exit") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  constexpr int kLines = 500;
  const pid_t pid = spawn_ok(*reactor, "chatty",
                             shell("i=0; while [ $i -lt " + std::to_string(kLines) +
                                   " ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"));
  recorder.wait_for_exit("chatty");

  std::vector<std::string> expected_out;
  std::vector<std::string> expected_err;
  for (int i = 0; i < kLines; ++i) {
    expected_out.push_back("out" + std::to_string(i));
    expected_err.push_back("err" + std::to_string(i));
  }
  CHECK(recorder.texts("chatty", OutputStream::Stdout) == expected_out);
  CHECK(recorder.texts("chatty", OutputStream::Stderr) == expected_err);
  CHECK(recorder.lines_seen_at_exit("chatty") == 2 * kLines);
  for (const Line& line : recorder.lines_of("chatty")) CHECK(line.pid == pid);
}

TEST_CASE("an unterminated last line is delivered and a trailing CR is stripped") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  spawn_ok(*reactor, "partial", command({"printf", "dos\\r\\nunix\\n\\nlast words"}));
  recorder.wait_for_exit("partial");
  CHECK(recorder.texts("partial", OutputStream::Stdout) ==
        std::vector<std::string>{"dos", "unix", "", "last words"});
  CHECK(recorder.lines_seen_at_exit("partial") == 4);
}

TEST_CASE("a line longer than 64 KiB is delivered in 64 KiB pieces") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  spawn_ok(*reactor, "long", shell("head -c 150000 /dev/zero | tr '\\0' x; echo; echo after"));
  recorder.wait_for_exit("long");
  const auto lines = recorder.texts("long", OutputStream::Stdout);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == std::string(65536, 'x'));
  CHECK(lines[1] == std::string(65536, 'x'));
  CHECK(lines[2] == std::string(150000 - 2 * 65536, 'x'));
  CHECK(lines[3] == "after");
}

TEST_CASE("the child gets the daemon's environment plus spec.env (spec wins), and spec.cwd") {
  TempDir dir;
  char resolved[PATH_MAX];
  REQUIRE(::realpath(dir.path.c_str(), resolved) != nullptr);
  REQUIRE(::setenv("SUP_TEST_INHERITED", "from daemon", 1) == 0);
  REQUIRE(::setenv("SUP_TEST_OVERRIDDEN", "from daemon", 1) == 0);

  Recorder recorder;
  auto reactor = start_reactor(recorder);
  auto spec = shell(
      "echo \"$SUP_TEST_INHERITED\"; env | grep -c '^SUP_TEST_OVERRIDDEN='; "
      "echo \"$SUP_TEST_OVERRIDDEN\"; echo \"$SUP_TEST_ADDED\"; pwd -P");
  spec.env = {{"SUP_TEST_OVERRIDDEN", "from spec"}, {"SUP_TEST_ADDED", "a=b c"}};
  spec.cwd = dir.path;
  spawn_ok(*reactor, "env", spec);
  const ProcessExit exit = recorder.wait_for_exit("env");
  CHECK(exit.status == 0);
  CHECK(recorder.texts("env", OutputStream::Stdout) ==
        std::vector<std::string>{"from daemon", "1", "from spec", "a=b c", resolved});
  ::unsetenv("SUP_TEST_INHERITED");
  ::unsetenv("SUP_TEST_OVERRIDDEN");
}

TEST_CASE("shell mode runs argv joined by spaces through /bin/sh -c") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  auto spec = command({"echo", "a", "b;", "echo", "$((1+2))", ">&2"});
  spec.shell = true;
  spawn_ok(*reactor, "shell", spec);
  recorder.wait_for_exit("shell");
  CHECK(recorder.texts("shell", OutputStream::Stdout) == std::vector<std::string>{"a b"});
  CHECK(recorder.texts("shell", OutputStream::Stderr) == std::vector<std::string>{"3"});
}

TEST_CASE("spawn failures are error values, and leave no child and no descriptor behind") {
  TempDir dir;
  const std::string not_executable = dir.path + "/not-executable";
  std::ofstream(not_executable) << "#!/bin/sh\necho hi\n";
  ::chmod(not_executable.c_str(), 0644);

  Recorder recorder;
  auto reactor = start_reactor(recorder);
  const std::size_t fds_before = open_fd_count();

  auto missing = reactor->spawn("missing", command({"nosuchprog-sup-test", "--flag"}));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code == sup::ErrorCode::SpawnFailed);
  CHECK(missing.error().message == "exec \"nosuchprog-sup-test\": No such file or directory");

  auto denied = reactor->spawn("denied", command({not_executable}));
  REQUIRE_FALSE(denied.has_value());
  CHECK(denied.error().code == sup::ErrorCode::SpawnFailed);
  CHECK(denied.error().message == "exec \"" + not_executable + "\": Permission denied");

  auto spec = command({"true"});
  spec.cwd = dir.path + "/no-such-dir";
  auto bad_cwd = reactor->spawn("bad-cwd", spec);
  REQUIRE_FALSE(bad_cwd.has_value());
  CHECK(bad_cwd.error().field_path == "process.cwd");
  CHECK(bad_cwd.error().message == "chdir \"" + spec.cwd + "\": No such file or directory");

  auto empty = reactor->spawn("empty", command({}));
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code == sup::ErrorCode::SpawnFailed);
  CHECK(empty.error().field_path == "process.argv");

  auto bad_env = command({"true"});
  bad_env.env = {{"A=B", "x"}};
  auto bad_env_result = reactor->spawn("bad-env", bad_env);
  REQUIRE_FALSE(bad_env_result.has_value());
  CHECK(bad_env_result.error().field_path == "process.env.A=B");

  CHECK(reactor->live_count() == 0);
  CHECK(open_fd_count() == fds_before);
  CHECK(own_children().empty());
  CHECK(recorder.exit_counts().empty());
}

TEST_CASE("SIGTERM to a group kills the child and its grandchild") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  const pid_t pid = spawn_ok(*reactor, "tree", shell("sleep 1000 & echo $!; wait"));
  REQUIRE(recorder.wait_for_lines("tree", 1));
  const pid_t grandchild = std::stoi(recorder.texts("tree", OutputStream::Stdout).at(0));

  REQUIRE(reactor->signal_group(pid, SIGTERM));
  const ProcessExit exit = recorder.wait_for_exit("tree");
  CHECK(exit.signaled);
  CHECK(exit.status == SIGTERM);
  CHECK(eventually([&] { return process_dead(grandchild); }));
}

TEST_CASE("the group signal reaches a grandchild even while the child ignores it") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  // The child outlives the SIGTERM and exits only because its grandchild
  // died of it: `wait` then reports 128 + SIGTERM.
  const pid_t pid =
      spawn_ok(*reactor, "stubborn", shell("sleep 1000 & p=$!; trap '' TERM; echo $p; wait $p"));
  REQUIRE(recorder.wait_for_lines("stubborn", 1));

  REQUIRE(reactor->signal_group(pid, SIGTERM));
  const ProcessExit exit = recorder.wait_for_exit("stubborn");
  CHECK_FALSE(exit.signaled);
  CHECK(exit.status == 128 + SIGTERM);
}

TEST_CASE("when the child exits, what is left of its group is killed") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  spawn_ok(*reactor, "leaver", shell("sleep 1000 & echo $!"));
  const ProcessExit exit = recorder.wait_for_exit("leaver");
  CHECK_FALSE(exit.signaled);
  CHECK(exit.status == 0);
  const pid_t grandchild = std::stoi(recorder.texts("leaver", OutputStream::Stdout).at(0));
  CHECK(eventually([&] { return process_dead(grandchild); }));
}

TEST_CASE("a grandchild outside the group holding the pipes open does not hold back on_exit") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  // Prints the escapee's pid once it runs in a session of its own (field 6
  // of /proc/PID/stat), so the group kill on exit cannot reach it.
  spawn_ok(*reactor, "escape",
           shell("setsid sleep 1000 & p=$!; "
                 "while [ \"$(cut -d' ' -f6 /proc/$p/stat)\" != \"$p\" ]; do :; done; echo $p"));
  const ProcessExit exit = recorder.wait_for_exit("escape");
  CHECK(exit.status == 0);
  REQUIRE(recorder.lines_seen_at_exit("escape") == 1);
  const pid_t escapee = std::stoi(recorder.texts("escape", OutputStream::Stdout).at(0));
  CHECK_FALSE(process_dead(escapee));  // still holding the pipes: the drain timed out
  ::kill(escapee, SIGKILL);
  CHECK(reactor->live_count() == 0);
}

TEST_CASE("signal_group refuses pids it does not own or that were reaped") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  auto unknown = reactor->signal_group(::getpid(), SIGTERM);
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().code == sup::ErrorCode::NotFound);

  const pid_t pid = spawn_ok(*reactor, "done", command({"true"}));
  recorder.wait_for_exit("done");
  auto finished = reactor->signal_group(pid, SIGKILL);
  REQUIRE_FALSE(finished.has_value());
  CHECK(finished.error().code == sup::ErrorCode::NotFound);
}

TEST_CASE("200 children spawned at once from two threads are each reported exactly once") {
  constexpr int kChildren = 200;
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  // Counts failed spawns; asserted on the test thread (no assertion macro
  // may run on another thread).
  auto spawn_range = [&](int first, int last, int& failures) {
    for (int i = first; i < last; ++i) {
      auto pid = reactor->spawn("c" + std::to_string(i), command({"echo", std::to_string(i)}));
      if (!pid) ++failures;
    }
  };
  int other_failures = 0;
  int own_failures = 0;
  std::thread other(spawn_range, 0, kChildren / 2, std::ref(other_failures));
  spawn_range(kChildren / 2, kChildren, own_failures);
  other.join();
  CHECK(other_failures == 0);
  CHECK(own_failures == 0);

  REQUIRE(recorder.wait_for_exits(kChildren));
  CHECK(reactor->live_count() == 0);
  reactor.reset();  // joins the reactor thread: nothing can arrive late

  const auto counts = recorder.exit_counts();
  CHECK(counts.size() == kChildren);
  for (int i = 0; i < kChildren; ++i) {
    const std::string id = "c" + std::to_string(i);
    CHECK(counts.at(id) == 1);
    CHECK(recorder.texts(id, OutputStream::Stdout) == std::vector<std::string>{std::to_string(i)});
  }
  CHECK(own_children().empty());
}

TEST_CASE("the destructor kills and reaps survivors, without reporting them") {
  Recorder recorder;
  auto reactor = start_reactor(recorder);
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i)
    pids.push_back(spawn_ok(*reactor, "sleeper", command({"sleep", "1000"})));
  spawn_ok(*reactor, "parent", shell("sleep 1000 & echo $!; wait"));
  REQUIRE(recorder.wait_for_lines("parent", 1));
  const pid_t grandchild = std::stoi(recorder.texts("parent", OutputStream::Stdout).at(0));
  CHECK(reactor->live_count() == 4);

  reactor.reset();
  CHECK(own_children().empty());  // neither running nor zombies
  CHECK(eventually([&] { return process_dead(grandchild); }));
  CHECK(recorder.exit_counts().empty());
}

TEST_CASE("children do not inherit the daemon's blocked or ignored signals") {
  sigset_t term;
  sigset_t previous_mask;
  ::sigemptyset(&term);
  ::sigaddset(&term, SIGTERM);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &term, &previous_mask) == 0);
  struct sigaction ignore {};
  struct sigaction previous_int {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGINT, &ignore, &previous_int) == 0);

  Recorder recorder;
  auto reactor = start_reactor(recorder);
  const pid_t pid = spawn_ok(*reactor, "fresh", command({"sleep", "1000"}));
  CHECK(proc_status_field(pid, "SigBlk") == "0000000000000000");
  CHECK(proc_status_field(pid, "SigIgn") == "0000000000000000");
  REQUIRE(reactor->signal_group(pid, SIGTERM));
  const ProcessExit exit = recorder.wait_for_exit("fresh");
  CHECK(exit.signaled);
  CHECK(exit.status == SIGTERM);

  ::sigaction(SIGINT, &previous_int, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
}

TEST_CASE("a child reads /dev/null and inherits no descriptor besides 0, 1, 2") {
  // Not close-on-exec, like a descriptor some library of the daemon leaks.
  const int leaked = ::dup(STDERR_FILENO);
  REQUIRE(leaked > STDERR_FILENO);

  Recorder recorder;
  auto reactor = start_reactor(recorder);
  const pid_t pid = spawn_ok(*reactor, "fds", command({"sleep", "1000"}));
  std::set<std::string> fds;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  REQUIRE(dir != nullptr);
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') fds.insert(entry->d_name);
  }
  ::closedir(dir);
  char target[PATH_MAX] = {};
  const ssize_t length =
      ::readlink(("/proc/" + std::to_string(pid) + "/fd/0").c_str(), target, sizeof target - 1);
  REQUIRE(reactor->signal_group(pid, SIGKILL));
  recorder.wait_for_exit("fds");
  ::close(leaked);

  CHECK(fds == std::set<std::string>{"0", "1", "2"});
  REQUIRE(length > 0);
  CHECK(std::string(target, static_cast<std::size_t>(length)) == "/dev/null");
}

TEST_CASE("a throwing callback is logged and the reactor keeps going") {
  sup::set_log_sink([](const sup::LogRecord&) {});  // keep the expected error off stderr
  std::mutex logged_mutex;
  std::vector<std::string> logged;
  const auto subscription = sup::subscribe_logs([&](const sup::LogRecord& record) {
    std::lock_guard lock(logged_mutex);
    logged.emplace_back(record.message);
  });
  Recorder recorder;
  auto reactor = ProcessReactor::start(recorder.callbacks([](const std::string& id) {
    if (id == "thrower") throw std::runtime_error("callback bug");
  }));
  REQUIRE(reactor.has_value());
  spawn_ok(**reactor, "thrower", command({"echo", "boom"}));
  CHECK(recorder.wait_for_exit("thrower").status == 0);
  spawn_ok(**reactor, "after", command({"echo", "fine"}));
  recorder.wait_for_exit("after");
  CHECK(recorder.texts("after", OutputStream::Stdout) == std::vector<std::string>{"fine"});
  reactor->reset();
  REQUIRE(sup::flush_logs());  // records reach subscribers on the logging thread
  sup::set_log_sink({});
  sup::unsubscribe_logs(subscription);
  std::lock_guard lock(logged_mutex);
  CHECK(std::count(logged.begin(), logged.end(), "process reactor callback threw") == 1);
}

TEST_CASE("a flooding child is held to its output limit, every line counted; others get through") {
  Recorder recorder;
  auto reactor = start_reactor(
      recorder, {.output_limit = {.lines_per_sec = 200, .burst_lines = 500}, .record_dir = {}});
  constexpr int kFloodLines = 1'000'000;
  const auto spawned_at = std::chrono::steady_clock::now();
  spawn_ok(*reactor, "flood", shell("yes flood | head -n " + std::to_string(kFloodLines)));
  spawn_ok(*reactor, "ticker",
           shell("for i in 1 2 3 4 5 6 7 8 9 10; do echo tick $i; sleep 0.02; done"));
  REQUIRE(recorder.wait_for_exits(2));
  const double elapsed_sec =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - spawned_at).count();

  const auto ticks = recorder.texts("ticker", OutputStream::Stdout);
  CHECK(ticks.size() == 10);
  CHECK(ticks.front() == "tick 1");
  CHECK(recorder.drops_of("ticker").first == 0);

  const std::uint64_t passed = recorder.lines_of("flood").size();
  const auto [dropped, reports] = recorder.drops_of("flood");
  CHECK(passed + dropped == kFloodLines);
  CHECK(passed <= 500 + static_cast<std::uint64_t>(200 * elapsed_sec) + 1);
  CHECK(passed >= 500);
  // Reported before on_exit, at most one report a second plus the last one.
  CHECK(reports >= 1);
  CHECK(reports <= 2 + static_cast<std::uint64_t>(elapsed_sec));
}
