#include "daemon/socket_probe.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sup::daemon {
namespace {

constexpr std::string_view kFieldPath = "dashboard.path";

Error path_error(const std::string& message) {
  return make_error("invalid_config", message, std::string(kFieldPath));
}

}  // namespace

Expected<SocketPathState> probe_socket_path(const std::string& path) {
  struct stat info {};
  if (lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return SocketPathState::Free;
    return path_error("cannot inspect " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(info.st_mode))
    return path_error(path + " exists and is not a socket; refusing to replace it");

  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    return path_error(path + " is too long for a unix socket path");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return make_error("socket_probe", std::string("socket: ") + std::strerror(errno));
  int result = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  int connect_errno = errno;
  close(fd);
  if (result == 0 || connect_errno == EAGAIN) return SocketPathState::Live;
  if (connect_errno == ECONNREFUSED) return SocketPathState::Stale;
  if (connect_errno == ENOENT) return SocketPathState::Free;  // removed since lstat
  return path_error("cannot probe " + path + ": " + std::strerror(connect_errno));
}

Status check_dashboard_path(const std::string& path) {
  auto state = probe_socket_path(path);
  if (!state) return state.error();
  if (*state == SocketPathState::Live)
    return path_error("another process (likely another supervisor) is listening on " + path +
                      "; stop it or choose another dashboard.path");
  return {};
}

}  // namespace sup::daemon
