// parse_bounded_json (bounded_json.hpp) for a document with one large array
// under its top level: each element of the array is handed over as soon as
// it is complete, leaving null in its place, so the array is processed while
// it is read instead of held whole as a DOM (a DAG spec's `nodes`).
//
//   sup::config::StreamedArray nodes{"nodes", [&](std::size_t i, nlohmann::json&& node) {
//     return read_node(node, i);  // false stops the parse
//   }};
//   auto rest = sup::config::parse_bounded_json(text, {.root_path = "$"}, nodes);
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "config/bounded_json.hpp"

namespace sup::config {

// `take` returns false to stop parsing; the caller keeps its own error (the
// parse then answers a generic one).
struct StreamedArray {
  std::string_view key;  // of the document's top-level object
  std::function<bool(std::size_t index, nlohmann::json&& element)> take;
};

Expected<nlohmann::json> parse_bounded_json(std::string_view text, const JsonParseOptions& options,
                                            const StreamedArray& streamed);

}  // namespace sup::config
