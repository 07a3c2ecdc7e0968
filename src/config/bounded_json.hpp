// The one JSON parse for outside input: the config file and every socket
// request line. Bounded and strict where nlohmann alone is neither:
//
// - nesting deeper than `max_depth` is refused while parsing, at the first
//   level too deep (milliseconds for a 40,000-deep document, and no
//   recursion in later passes over it);
// - a key defined twice in one object is refused (nlohmann would keep the
//   last one silently);
// - a number too large for a double (1e999) is refused instead of escaping
//   as an exception.
//
// Errors are ErrorCode::InvalidArgument; field_path names the element
// ("children[0].intensity") for a duplicate key, a number out of range or
// the first level too deep; syntax errors give line and column instead.
//
//   auto document = sup::config::parse_bounded_json(line, {.max_depth = kMaxJsonDepth});
//   if (!document) return reply_invalid_json(document.error());
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "spec/child_spec_check.hpp"
#include "sup/error.hpp"

namespace sup::config {

// Deep enough for supervisors nested spec::kMaxNestingDepth levels (an
// object and a "children" array each) with their per-child objects, in a
// config file or under a request's params.spec.
inline constexpr std::size_t kMaxJsonDepth = 2 * spec::kMaxNestingDepth + 8;

struct JsonParseOptions {
  std::size_t max_depth = kMaxJsonDepth;
  bool allow_comments = false;  // the config file allows // and /* */ comments
};

Expected<nlohmann::json> parse_bounded_json(std::string_view text, JsonParseOptions options = {});

}  // namespace sup::config
