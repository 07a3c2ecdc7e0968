#include "dashboard_relay/socket_path.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sup::relay {
namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

}  // namespace

Error path_error(std::string message) {
  return make_error(ErrorCode::InvalidConfig, std::move(message), kPathField);
}

PathProbe probe_socket_path(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    if (errno == ENOENT) return {PathState::Absent, {}};
    return {PathState::Unusable, "cannot stat " + path + ": " + errno_text(errno)};
  }
  if (!S_ISSOCK(info.st_mode))
    return {PathState::NotSocket, path + " exists and is not a socket; refusing to replace it"};

  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return {PathState::Unusable,
            "path is longer than " + std::to_string(sizeof(address.sun_path) - 1) + " bytes"};
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return {PathState::Unusable, "socket(): " + errno_text(errno)};
  int result = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  int error = result == 0 ? 0 : errno;
  ::close(fd);
  switch (error) {
    case 0:
    case EAGAIN:  // a listener with a full backlog is still a listener
      return {PathState::Live, {}};
    case ECONNREFUSED:
      return {PathState::Stale, {}};
    case ENOENT:
      return {PathState::Absent, {}};
    default:
      return {PathState::Unusable, "cannot probe " + path + ": " + errno_text(error)};
  }
}

Status check_socket_path(const std::string& path) {
  if (auto directory = check_socket_directory(path); !directory) return directory;
  return refusal_for(probe_socket_path(path), path);
}

Status check_socket_directory(const std::string& path) {
  auto slash = path.rfind('/');
  std::string directory = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  struct stat info {};
  if (::stat(directory.c_str(), &info) != 0)
    return path_error("cannot create the socket " + path + ": its directory " + directory + ": " +
                      errno_text(errno));
  if (!S_ISDIR(info.st_mode))
    return path_error("cannot create the socket " + path + ": " + directory +
                      " is not a directory");
  if (::access(directory.c_str(), W_OK | X_OK) != 0)
    return path_error("cannot create the socket " + path + " in " + directory + ": " +
                      errno_text(errno));
  return {};
}

Status refusal_for(const PathProbe& probe, const std::string& path) {
  switch (probe.state) {
    case PathState::Absent:
    case PathState::Stale:
      return {};
    case PathState::Live:
      return path_error("another process is already listening on " + path +
                        " (a second supervisor with the same dashboard.path?)");
    case PathState::NotSocket:
    case PathState::Unusable:
      return path_error(probe.message);
  }
  return {};
}

std::optional<SocketIdentity> socket_identity(const std::string& path) {
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) return std::nullopt;
  return SocketIdentity{info.st_dev, info.st_ino};
}

bool remove_if_same(const std::string& path, const SocketIdentity& identity) {
  // A replacement could slip in between the check and the unlink. The
  // window is a few instructions, and a relay whose file vanishes notices
  // within its maintenance interval and is restarted, so no lock is worth it.
  if (socket_identity(path) != identity) return false;
  return ::unlink(path.c_str()) == 0;
}

}  // namespace sup::relay
