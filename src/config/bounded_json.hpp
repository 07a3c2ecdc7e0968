// The one JSON parse for outside input: the config file, every socket
// request line and DAG specs. Bounded and strict where nlohmann alone is
// neither:
//
// - nesting deeper than `max_depth` is refused while parsing, at the first
//   bracket too many (microseconds for a 40,000-deep document, and nothing
//   later recurses through it);
// - a key defined twice in one object is refused (nlohmann would keep the
//   last one silently);
// - a number too large for a double (1e999) is refused instead of escaping
//   as an exception.
//
// Every error has `error_code` and names the field path where parsing
// stopped ("children[0].intensity", "nodes[3].deps[0]"), or `root_path`
// for the document itself; syntax errors also give line and column.
//
//   auto document = sup::config::parse_bounded_json(line, {.max_depth = kMaxJsonDepth});
//   if (!document) return reply_invalid_json(document.error());
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
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
  ErrorCode error_code = ErrorCode::InvalidArgument;
  std::string root_path = {};  // field_path of the document itself ("" or "$")
};

Expected<nlohmann::json> parse_bounded_json(std::string_view text,
                                            const JsonParseOptions& options = {});

}  // namespace sup::config
