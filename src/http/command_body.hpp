// The body of the dashboard's commands (docs/http.md, "Commands"):
// POST /api/children/{id}/{command} and /api/executions/{id}/{op} take
//   {"reason": "why", "command_id": "c-7f3a", "confirmed": true}
// `reason` is required (it is audited, as on the socket); `command_id` is
// optional (a repeated one returns the first result; the API makes one up
// when absent); `confirmed` must be true for the commands the vocabulary
// marks as needing confirmation. Pure: unit-tested and fuzzed
// (tests/fuzz/http_command_body_fuzz.cpp).
//
//   auto body = parse_command_body(request.body);
//   if (!body) return error_response(api_error(body.error()));   // 400 naming body.reason
#pragma once

#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::http {

struct CommandBody {
  std::string reason;
  std::string command_id;  // empty: none given
  bool confirmed = false;
  bool operator==(const CommandBody&) const = default;
};

// InvalidArgument with a field path ("body", "body.reason", ...) for
// anything but an object of those fields within their limits (the
// socket's: spec::kMaxReasonBytes, kMaxCommandIdBytes).
Expected<CommandBody> parse_command_body(std::string_view body);

}  // namespace sup::http
