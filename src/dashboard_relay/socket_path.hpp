// The Unix socket path the relay listens on: who holds it, and taking it.
//
// A socket file nobody accepts on is stale (a crashed daemon's leftover) and
// is replaced; a path where a listener answers belongs to someone else (a
// second supervisor with the same dashboard.path) and is a config error
// naming field_path="dashboard.path"; anything that is not a socket is left
// alone. On exit a listener removes the file only if it is still the inode
// it created, since a newer relay may already have replaced it.
//
//   auto probe = sup::relay::probe_socket_path("/tmp/supervisor.sock");
//   if (probe.state == sup::relay::PathState::Live) return 78;  // another daemon
//   ...
//   auto mine = sup::relay::socket_identity(path);
//   sup::relay::remove_if_same(path, *mine);
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "sup/error.hpp"

namespace sup::relay {

// The config key every error of this file names.
inline constexpr const char* kPathField = "dashboard.path";

enum class PathState : unsigned char {
  Absent,     // nothing there
  Stale,      // a socket file, connect() refused
  Live,       // a socket someone accepts on (or whose backlog is full)
  NotSocket,  // a file of another type: never removed
  Unusable,   // could not be checked (see message)
};

struct PathProbe {
  PathState state = PathState::Absent;
  std::string message;  // why, for Unusable
};

// Never blocks: the connect is non-blocking.
PathProbe probe_socket_path(const std::string& path);

// The daemon's startup check: a config error (field_path "dashboard.path")
// when its directory is missing or not writable, another process listens on
// `path`, or it cannot be used; stale files
// are left for the relay to replace.
Status check_socket_path(const std::string& path);

// The directory of `path` exists and we may create files in it; otherwise
// the relay could never bind and the daemon would run on without a socket.
Status check_socket_directory(const std::string& path);

// What check_socket_path() says of an earlier probe of `path`: an error for
// Live, NotSocket and Unusable, nothing for Absent and Stale.
Status refusal_for(const PathProbe& probe, const std::string& path);

struct SocketIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  friend bool operator==(const SocketIdentity&, const SocketIdentity&) = default;
};

std::optional<SocketIdentity> socket_identity(const std::string& path);

// Unlinks `path` only while it is still the file `identity` names.
bool remove_if_same(const std::string& path, const SocketIdentity& identity);

// An error about dashboard.path, as the daemon reports config errors.
Error path_error(std::string message);

}  // namespace sup::relay
