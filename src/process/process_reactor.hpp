// Runs the supervisor's external processes and watches them from a single
// thread: exits through pidfds, output through pipes, both in one epoll set.
//
// spawn() and signal_group() are called from the supervisor's control loop;
// every callback arrives on the reactor thread:
//   - on_line: once per line of the child's stdout or stderr, without the
//     '\n' (and without a trailing '\r'). A line longer than 64 KiB
//     (LineSplitter::kMaxLineBytes) is delivered as consecutive 64 KiB
//     pieces; an unterminated last line is delivered when the pipe closes.
//     Lines over the child's OutputRateLimit are dropped; on_dropped
//     reports how many, at most once a second and at the end of the output.
//   - on_exit: exactly once per spawned process, after all of its output.
//     If something outside the child's process group (a setsid'd
//     grandchild) keeps a pipe open, output is read for at most ~100 ms
//     after the exit and the rest is dropped.
//
// Each child leads its own process group. When the child exits, whatever is
// left in its group is SIGKILLed before the child is reaped (like systemd's
// KillMode=control-group): a restart must not pile up orphans, and only
// while the leader is unreaped is its group id guaranteed not to be recycled.
// For the same reason signal_group() refuses a pid once it has been reaped.
//
// With ReactorOptions::record_dir, running children are recorded there
// (ProcessRecords) and start() first kills what a crashed predecessor left.
//
// The reactor reaps its children itself (waitid on each pid); nothing else
// in the process may wait for them (no waitpid(-1), no SIGCHLD reaping).
//
//   auto reactor = sup::process::ProcessReactor::start({
//       .on_line = [](const std::string& id, pid_t, OutputStream, std::string_view line) {...},
//       .on_exit = [](const std::string& id, const ProcessExit& exit) {...}});
//   if (!reactor) return reactor.error();
//   sup::Expected<pid_t> pid = (*reactor)->spawn("ingest", child_spec.process);
//   (*reactor)->signal_group(*pid, SIGTERM);
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sup/child_spec.hpp"
#include "sup/error.hpp"

namespace sup::process {

enum class OutputStream : std::uint8_t { Stdout, Stderr };

struct ProcessExit {
  pid_t pid = -1;
  bool signaled = false;  // true: killed by signal `status`; false: exited with code `status`
  // -1 (with signaled == false): the status was lost because something else
  // in the daemon reaped the process.
  int status = 0;
};

struct ReactorCallbacks {
  std::function<void(const std::string& child_id, pid_t pid, OutputStream stream,
                     std::string_view line)>
      on_line;
  std::function<void(const std::string& child_id, pid_t pid, std::uint64_t lines)> on_dropped;
  std::function<void(const std::string& child_id, const ProcessExit& exit)> on_exit;
};

struct ReactorOptions {
  sup::OutputRateLimit output_limit;
  // Empty: children are not recorded and no leftovers are looked for.
  std::string record_dir;
};

class ProcessReactor {
 public:
  // With options.record_dir: kills the leftovers recorded there first
  // (waiting up to 5 s for them to be gone), logging each one.
  static sup::Expected<std::unique_ptr<ProcessReactor>> start(ReactorCallbacks callbacks,
                                                              ReactorOptions options = {});
  // SIGKILLs the process groups still alive, reaps them (blocking until they
  // are gone) and joins the thread. Those survivors get no on_exit; a
  // callback already running finishes first, none runs after it returns.
  ~ProcessReactor();
  ProcessReactor(const ProcessReactor&) = delete;
  ProcessReactor& operator=(const ProcessReactor&) = delete;

  // Thread-safe. Errors (ErrorCode::SpawnFailed): invalid spec (field path
  // "process.argv", "process.env.NAME", "process.cwd"), exec or chdir failure
  // (`exec "nosuchprog": No such file or directory`), out of descriptors.
  // spec.shell runs "/bin/sh -c <argv joined by spaces>". argv[0] is looked
  // up in the daemon's PATH, not in a PATH set through spec.env.
  sup::Expected<pid_t> spawn(const std::string& child_id, const sup::ProcessSpec& spec);

  // kill(-pid, sig) for a child spawned here and not yet reaped; anything
  // else is an error (code "no_such_process"). Thread-safe.
  sup::Status signal_group(pid_t pid, int sig);

  // Spawned processes whose on_exit has not been delivered yet.
  std::size_t live_count() const;

 private:
  struct Impl;
  explicit ProcessReactor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sup::process
