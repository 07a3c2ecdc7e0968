// Who supctl speaks for, and the defaults a command needs to be audited and
// retried safely.
//
//   CommandMeta meta{random_command_id(), default_requested_by(), reason};
//   auto client = IpcClient::connect(default_socket_path(), ...);
#pragma once

#include <string>

namespace sup::cli {

inline constexpr const char* kDefaultSocketPath = "/tmp/supervisor.sock";

// $SUPERVISOR_SOCKET when set and non-empty, else /tmp/supervisor.sock.
std::string default_socket_path();
// "$USER@hostname" (the login name from the password database when USER is
// unset); "supctl:<uid>" when neither is known.
std::string default_requested_by();
// 128 random bits as 32 lowercase hex digits. A retry that passes the same
// id with --command-id gets the first result back instead of acting twice.
std::string random_command_id();

}  // namespace sup::cli
