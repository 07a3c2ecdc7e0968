#include "process/process_spawner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace sup::process {
namespace {

sup::Error spawn_error(std::string message, std::string field_path = {}) {
  return sup::make_error(sup::ErrorCode::SpawnFailed, std::move(message), std::move(field_path));
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C", so its pidfd_open does not
// link from C++.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

bool has_nul(const std::string& text) {
  return text.find('\0') != std::string::npos;
}

sup::Status validate(const sup::ProcessSpec& spec) {
  if (spec.argv.empty()) return spawn_error("argv is empty", "process.argv");
  for (std::size_t i = 0; i < spec.argv.size(); ++i) {
    if (has_nul(spec.argv[i])) {
      return spawn_error("contains a NUL byte", "process.argv[" + std::to_string(i) + "]");
    }
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || has_nul(name) || has_nul(value)) {
      return spawn_error("an environment variable needs a name without '=' and no NUL bytes",
                         "process.env." + name);
    }
  }
  if (has_nul(spec.cwd)) return spawn_error("contains a NUL byte", "process.cwd");
  return {};
}

// posix_spawn takes non-const char* arrays but does not modify them.
char* c_arg(const std::string& text) {
  return const_cast<char*>(text.c_str());
}

// The argv handed to exec; `shell_command` keeps the joined command alive.
std::vector<char*> exec_argv(const sup::ProcessSpec& spec, std::string& shell_command) {
  std::vector<char*> argv;
  if (spec.shell) {
    for (const std::string& word : spec.argv) {
      if (!shell_command.empty()) shell_command += ' ';
      shell_command += word;
    }
    static const std::string kShell = "/bin/sh";
    static const std::string kCommandFlag = "-c";
    argv = {c_arg(kShell), c_arg(kCommandFlag), c_arg(shell_command)};
  } else {
    argv.reserve(spec.argv.size() + 1);
    for (const std::string& word : spec.argv) argv.push_back(c_arg(word));
  }
  argv.push_back(nullptr);
  return argv;
}

// The daemon's environment with spec.env laid over it; `assignments` keeps
// the "NAME=value" strings of the overrides alive.
std::vector<char*> exec_environment(const std::map<std::string, std::string>& overrides,
                                    std::vector<std::string>& assignments) {
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view assignment(*entry);
    const std::string name(assignment.substr(0, assignment.find('=')));
    if (!overrides.contains(name)) envp.push_back(*entry);
  }
  // Reserved up front: the pointers below must survive later push_backs.
  assignments.reserve(overrides.size());
  for (const auto& [name, value] : overrides) {
    assignments.push_back(name + "=" + value);
    envp.push_back(assignments.back().data());
  }
  envp.push_back(nullptr);
  return envp;
}

struct OutputPipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

sup::Expected<OutputPipe> make_output_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return spawn_error("pipe2: " + errno_text(errno));
  OutputPipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
  // Only our end: the flag lives on the open file description, and the
  // child's stdout must stay blocking.
  const int flags = ::fcntl(pipe.read_end.get(), F_GETFL);
  if (flags < 0 || ::fcntl(pipe.read_end.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return spawn_error("fcntl(O_NONBLOCK): " + errno_text(errno));
  }
  return pipe;
}

class SpawnFileActions {
 public:
  SpawnFileActions() { ::posix_spawn_file_actions_init(&actions_); }
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

class SpawnAttributes {
 public:
  SpawnAttributes() { ::posix_spawnattr_init(&attributes_); }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() { return &attributes_; }

 private:
  posix_spawnattr_t attributes_;
};

// Returns the posix_spawn error code (0 on success).
int configure(SpawnFileActions& actions, SpawnAttributes& attributes, const sup::ProcessSpec& spec,
              int stdout_fd, int stderr_fd) {
  int rc =
      ::posix_spawn_file_actions_addopen(actions.get(), STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(actions.get(), stdout_fd, STDOUT_FILENO);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(actions.get(), stderr_fd, STDERR_FILENO);
  if (rc == 0 && !spec.cwd.empty()) {
    rc = ::posix_spawn_file_actions_addchdir_np(actions.get(), spec.cwd.c_str());
  }
  // Also what the daemon or a library opened without O_CLOEXEC.
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(actions.get(), STDERR_FILENO + 1);

  sigset_t empty_mask;
  ::sigemptyset(&empty_mask);
  // Not sigfillset(): it leaves out glibc's internal signals (32, 33), which
  // posix_spawn then leaves ignored in the child, unlike fork+exec.
  sigset_t default_dispositions;
  std::memset(&default_dispositions, 0xff, sizeof default_dispositions);
  ::sigdelset(&default_dispositions, SIGKILL);
  ::sigdelset(&default_dispositions, SIGSTOP);
  if (rc == 0) {
    rc = ::posix_spawnattr_setflags(
        attributes.get(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) rc = ::posix_spawnattr_setpgroup(attributes.get(), 0);
  if (rc == 0) rc = ::posix_spawnattr_setsigmask(attributes.get(), &empty_mask);
  if (rc == 0) rc = ::posix_spawnattr_setsigdefault(attributes.get(), &default_dispositions);
  return rc;
}

// Why chdir into `path` would fail, if it would.
std::optional<int> directory_error(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return errno;
  if (!S_ISDIR(info.st_mode)) return ENOTDIR;
  if (::access(path.c_str(), X_OK) != 0) return errno;
  return std::nullopt;
}

// posix_spawn reports a failed chdir and a failed exec alike; tell them apart
// afterwards (only on the failure path, so the common case stays cheap).
sup::Error describe_spawn_failure(const sup::ProcessSpec& spec, const char* program, int error) {
  if (!spec.cwd.empty()) {
    if (auto cwd_error = directory_error(spec.cwd)) {
      return spawn_error("chdir \"" + spec.cwd + "\": " + errno_text(*cwd_error), "process.cwd");
    }
  }
  return spawn_error("exec \"" + std::string(program) + "\": " + errno_text(error), "process.argv");
}

}  // namespace

sup::Expected<SpawnedProcess> spawn_process(const sup::ProcessSpec& spec) {
  if (auto valid = validate(spec); !valid) return valid.error();

  std::string shell_command;
  const std::vector<char*> argv = exec_argv(spec, shell_command);
  std::vector<std::string> assignments;
  std::vector<char*> environment_storage;
  char* const* envp = environ;
  if (!spec.env.empty()) {
    environment_storage = exec_environment(spec.env, assignments);
    envp = environment_storage.data();
  }

  auto stdout_pipe = make_output_pipe();
  if (!stdout_pipe) return stdout_pipe.error();
  auto stderr_pipe = make_output_pipe();
  if (!stderr_pipe) return stderr_pipe.error();

  SpawnFileActions actions;
  SpawnAttributes attributes;
  if (int rc = configure(actions, attributes, spec, stdout_pipe->write_end.get(),
                         stderr_pipe->write_end.get());
      rc != 0) {
    return spawn_error("posix_spawn setup: " + errno_text(rc));
  }

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], actions.get(), attributes.get(), argv.data(), envp);
  // The child holds its own copies now; ours would keep the pipes from ever
  // reporting EOF.
  stdout_pipe->write_end.reset();
  stderr_pipe->write_end.reset();
  if (rc != 0) return describe_spawn_failure(spec, argv[0], rc);

  UniqueFd pidfd(open_pidfd(pid));
  if (!pidfd) {
    const int error = errno;
    // Untrackable: take it down again. It is unreaped, so the group id
    // cannot have been recycled.
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return spawn_error("pidfd_open: " + errno_text(error));
  }
  return SpawnedProcess{pid, std::move(pidfd), std::move(stdout_pipe->read_end),
                        std::move(stderr_pipe->read_end)};
}

}  // namespace sup::process
