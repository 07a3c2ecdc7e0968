// Starts one external process the way the supervisor needs it, without a
// fork of the (large, multi-threaded) daemon: posix_spawnp, so the cost does
// not grow with the daemon's memory.
//
// The child gets its own process group (pgid == pid), an empty signal mask
// and default dispositions for every catchable signal (the daemon blocks
// SIGTERM/SIGINT in its threads and children must not inherit that), stdin
// from /dev/null, stdout/stderr into pipes, the daemon's environment plus
// spec.env (spec wins), spec.cwd, and no other inherited descriptor. argv[0]
// is looked up in the daemon's PATH. A failed exec or chdir comes back as an
// Error (ErrorCode::SpawnFailed), not as a child that exits 127.
//
//   sup::Expected<SpawnedProcess> p = spawn_process(spec);
//   if (!p) return p.error();  // e.g. exec "nosuchprog": No such file or directory
//   watch(p->pidfd, p->stdout_fd, p->stderr_fd);  // ...and reap p->pid eventually
#pragma once

#include <sys/types.h>

#include "process/unique_fd.hpp"
#include "sup/child_spec.hpp"
#include "sup/error.hpp"

namespace sup::process {

struct SpawnedProcess {
  pid_t pid = -1;
  UniqueFd pidfd;      // becomes readable when the process exits
  UniqueFd stdout_fd;  // non-blocking, close-on-exec read ends
  UniqueFd stderr_fd;
};

// The caller owns the returned process: it must reap `pid` (waitid on it),
// nobody else does.
sup::Expected<SpawnedProcess> spawn_process(const sup::ProcessSpec& spec);

}  // namespace sup::process
