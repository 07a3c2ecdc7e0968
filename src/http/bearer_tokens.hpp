// Bearer tokens of the HTTP API: the token file (`http.token_file`, one
// `name:token` per line, `#` comments; mode 0600 or stricter) and the check
// of an `Authorization: Bearer <token>` header against it. The token's name
// is who made the request (`requested_by` in the log line of a mutation).
//
//   auto tokens = sup::http::load_token_file("/etc/supervisor/http.tokens");
//   if (!tokens) return exit(78);  // names http.token_file
//   auto who = tokens->check("Bearer s3cret");  // "ops" or permission_denied
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sup/error.hpp"

namespace sup::http {

class BearerTokens {
 public:
  // The file's text: InvalidConfig (field "http.token_file") for a line
  // without a name or a token, a token shorter than 16 characters, or no
  // token at all.
  static Expected<BearerTokens> parse(std::string_view text);

  // Unauthenticated (no header, not "Bearer ...") or permission_denied
  // (an unknown token) as PermissionDenied; the token's name otherwise.
  // Compares in time independent of where a token differs.
  Expected<std::string> check(std::string_view authorization_header) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    std::string token;
  };
  std::vector<Entry> entries_;
};

// Reads and parses `path`; InvalidConfig naming http.token_file when it is
// missing, not a regular file, or readable or writable by group or others.
Expected<BearerTokens> load_token_file(const std::string& path);

}  // namespace sup::http
