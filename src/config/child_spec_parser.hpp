// Child specs from JSON: the one parser behind the daemon's config file and
// the IPC's `command.add_child`.
//
// Strict: wrong types, unknown keys, missing required keys, and everything
// spec::check_child_spec refuses (ids, values out of range, NUL bytes, a
// missing executable, nesting too deep) are errors whose field_path names
// the offending field, prefixed with the caller's `path`:
//
//   auto spec = sup::config::parse_child_spec(params["spec"], "params.spec");
//   if (!spec) reply_error(spec.error());  // field_path "params.spec.backoff.max_ms"
//
// The accepted keys are documented in docs/config.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/json_fields.hpp"
#include "sup/child_spec.hpp"
#include "sup/error.hpp"

namespace sup::config {

// One child spec (recursively, for kind "supervisor"). Ids must be unique
// within the returned subtree; uniqueness against a running tree is the
// runtime's check.
Expected<ChildSpec> parse_child_spec(const nlohmann::json& node, const std::string& path);

// The supervisor keys shared by the config root and children of kind
// "supervisor": strategy, intensity, period_ms, children.
struct SupervisorFields {
  Strategy& strategy;
  std::uint32_t& intensity;
  std::uint32_t& period_ms;
  std::vector<ChildSpec>& children;
};
void read_supervisor_fields(const ObjectReader& reader, SupervisorFields out, ErrorSlot& errors);

// The config's own tree-wide rule: at most one relay child. Ids, numbers,
// argv and depth are spec::check_child_spec's (parse_child_spec runs it;
// parse_config runs spec::check_supervisor_spec).
void check_tree(const std::vector<ChildSpec>& children, const std::string& children_path,
                ErrorSlot& errors);

}  // namespace sup::config
