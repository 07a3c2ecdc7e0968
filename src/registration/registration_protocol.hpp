// The seed relay's registration protocol (developerworks/rust-supervisor-
// relay, registration.rs and main.rs), as the daemon speaks it:
//
// - the daemon connects to the relay's registration socket, writes one
//   RegistrationRequest line and reads one RegistrationAck line; the relay
//   then closes the connection. Renewing the lease is the same exchange
//   again (the relay upserts a known target_id and restarts its lease);
// - the relay refuses unknown fields in the request, so it carries exactly
//   the seed's fields; the ack is read leniently (unknown fields ignored).
//
//   auto request = sup::registration::make_request("supervisor@host", "host", "/run/sup.sock", 30);
//   write(fd, encode_request(request));          // one line, '\n'-terminated
//   auto ack = sup::registration::decode_ack(line);  // Expected<Ack>
//   if (ack && !ack->ok) log(ack->error_code + ": " + ack->error_message);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sup/error.hpp"

namespace sup {
class JsonWriter;
}

namespace sup::registration {

// An ack line longer than this is not an ack.
inline constexpr std::size_t kMaxAckBytes = 64 * 1024;

struct SupportedCommand {
  std::string_view name;  // bare, as in sup::commands(): "restart_child"
  bool idempotent = false;
  std::uint32_t timeout_seconds = 0;
};

struct Request {
  std::string target_id;
  std::string display_name;
  std::string ipc_path;  // the daemon's dashboard socket, where the relay connects
  std::uint32_t lease_seconds = 0;
  std::vector<SupportedCommand> supported_commands;
};

// A request announcing the seed's commands of the one vocabulary
// (sup::commands() with `seed`; ours are extensions the relay cannot send).
Request make_request(std::string target_id, std::string display_name, std::string ipc_path,
                     std::uint32_t lease_seconds);

// The request's fields into an object already begun: the registration line
// and `hello`'s `registration` object say the same thing the same way.
void write_request_fields(JsonWriter& w, const Request& request);
// The request as one line, '\n'-terminated.
std::string encode_request(const Request& request);

struct Ack {
  bool ok = false;
  std::string target_id;  // may be empty: the seed omits it on a refusal
  std::string status;     // "registered" when ok
  std::string error_code;
  std::string error_message;
  bool retryable = false;
};

// One ack line (without or with its '\n'). ErrorCode::InvalidArgument with
// a field path ("ok", "error.code") when it is not an ack.
Expected<Ack> decode_ack(std::string_view line);

}  // namespace sup::registration
