// The one check of child specs and command fields, run at every entry: the
// config file (after parsing), Runtime::start, Handle::add_child and
// command.add_child over the socket (which reaches Handle::add_child), like
// OTP's supervisor:check_childspecs. A spec that passes can be started; one
// that does not is refused with a field path, never accepted into a crash
// loop. The limits below are documented in docs/config.md and docs/ipc.md.
//
//   if (auto valid = sup::spec::check_child_spec(spec, "spec"); !valid)
//     return valid.error();  // ErrorCode::InvalidArgument, field_path "spec.exec[0]"
//
// Pure but for `find_executable`, the default ExecutableLookup, which asks
// the file system like posix_spawnp would; tests pass their own lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "sup/child_spec.hpp"
#include "sup/command.hpp"
#include "sup/error.hpp"

namespace sup::spec {

// Child ids: 1..64 bytes of [A-Za-z0-9_.-]; "root" names the root.
inline constexpr std::size_t kMaxIdBytes = 64;
// Nested supervisors: a child at depth 1 is a direct child of the root.
inline constexpr std::size_t kMaxNestingDepth = 64;
inline constexpr std::uint32_t kMaxTimeoutMs = 3'600'000;  // an hour
inline constexpr std::uint32_t kMaxPeriodMs = 86'400'000;  // a day
inline constexpr std::uint32_t kMaxCount = 1'000'000;      // intensity, max_failures
inline constexpr double kMaxBudgetRate = 1e6;              // capacity, refill_per_sec
inline constexpr double kMaxMultiplier = 1000.0;
inline constexpr std::size_t kMaxNameBytes = 256;       // task names, env names
inline constexpr std::size_t kMaxArgBytes = 128 << 10;  // one argv element, an env value, cwd
inline constexpr std::size_t kMaxArgs = 4096;           // argv elements, env entries
// Command fields.
inline constexpr std::size_t kMaxCommandIdBytes = 128;
inline constexpr std::size_t kMaxRequestedByBytes = 128;
inline constexpr std::size_t kMaxReasonBytes = 1024;

// Whether `program` (argv[0]) names an executable regular file: with a '/'
// relative to `cwd` (the child's, empty: ours), else searched in the PATH.
using ExecutableLookup = std::function<bool(const std::string& program, const std::string& cwd)>;
bool find_executable(const std::string& program, const std::string& cwd);

// One child and, for a supervisor, its subtree: ids, numbers, argv, env,
// cwd, the executable, the nesting depth (`depth` of `spec` itself).
// Errors are ErrorCode::InvalidArgument with field_path under `path`.
Status check_child_spec(const ChildSpec& spec, std::string_view path,
                        const ExecutableLookup& lookup = find_executable, std::size_t depth = 1);

// A root's intensity/period and every child (paths "intensity",
// "children[2].id", ...), plus ids unique across the tree (a duplicate's
// path is named with the first one's).
Status check_supervisor_spec(const SupervisorSpec& root,
                             const ExecutableLookup& lookup = find_executable);

// command_id, requested_by, reason non-blank and within their limits;
// `target` (a child id, or empty for the whole tree) within kMaxIdBytes.
// field_path is the field's name ("reason", "target").
Status check_command_meta(const CommandMeta& meta, std::string_view target);

}  // namespace sup::spec
