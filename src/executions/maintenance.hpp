// The maintenance mode as the store keeps it: the setting "maintenance",
// a JSON object {enabled, reason, requested_by, changed_at_unix_nanos}
// (docs/state-store.md, "Settings"). Pure: the service reads and writes the
// setting, this encodes and checks it.
//
//   std::string value = encode_maintenance({.enabled = true, .reason = "index rebuild"});
//   Expected<MaintenanceMode> back = decode_maintenance(value);
#pragma once

#include <string>
#include <string_view>

#include "executions/execution_types.hpp"
#include "sup/error.hpp"

namespace sup::executions {

inline constexpr std::string_view kMaintenanceSetting = "maintenance";

std::string encode_maintenance(const MaintenanceMode& mode);
// DataLoss naming the field when the stored value is not a mode.
Expected<MaintenanceMode> decode_maintenance(std::string_view value);

// A change as the operator asked it: the reason is required (it is what
// `maintenance` shows and the audit log keeps), InvalidArgument naming
// "reason" otherwise.
Status check_maintenance_change(const MaintenanceChange& change);

}  // namespace sup::executions
