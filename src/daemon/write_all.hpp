// Writes a whole buffer to a file descriptor, retrying short and interrupted
// writes. Async-signal-safe (only write(2)), so the crash handler uses it
// as well as the log sinks.
//
//   sup::daemon::write_all(STDERR_FILENO, line.data(), line.size());
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace sup::daemon {

inline bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace sup::daemon
