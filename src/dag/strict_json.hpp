// JSON parsing for outside documents that must be refused early and
// precisely: nesting depth is checked while parsing (a deeply nested
// document is refused at the first bracket too many), duplicate object keys
// are errors (nlohmann would silently keep the last), and every error names
// the field path where parsing stopped ("nodes[3].deps[0]"; "$" for the
// document itself).
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "sup/error.hpp"

namespace sup::dag {

// Hands over each element of the array under the document's top-level
// `key` as soon as it is complete, leaving null in its place: a large array
// is processed while it is read instead of held whole as a DOM. `take`
// returns false to stop parsing (the caller keeps its own error).
struct StreamedArray {
  std::string_view key;
  std::function<bool(std::size_t index, nlohmann::json&& element)> take;
};

// `error_code` is the sup::Error code of the failures.
Expected<nlohmann::json> parse_strict_json(std::string_view text, std::size_t max_depth,
                                           ErrorCode error_code,
                                           const StreamedArray* streamed = nullptr);

}  // namespace sup::dag
