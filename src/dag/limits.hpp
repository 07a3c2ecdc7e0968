// The bounds a DAG spec must stay within, and the environment contract
// between the engine and a node's process. docs/dag.md lists both; these
// constants are the one definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sup::dag {

// --- Spec limits (checked by parse_dag) ---
inline constexpr std::size_t kMaxSpecBytes = 16 * 1024 * 1024;
// Checked while parsing: a deeply nested document is refused at the first
// bracket too many, without reading the rest.
inline constexpr std::size_t kMaxJsonDepth = 32;
inline constexpr std::size_t kMaxNodes = 100'000;
inline constexpr std::size_t kMaxDepsTotal = 1'000'000;
inline constexpr std::size_t kMaxIdBytes = 128;
inline constexpr std::size_t kMaxArgvEntries = 1024;
// Sum of argv's strings, and the most one string may have (Linux refuses
// a single argument over 128 KiB at exec anyway).
inline constexpr std::size_t kMaxArgvBytes = 128 * 1024;
inline constexpr std::size_t kMaxEnvEntries = 256;
inline constexpr std::size_t kMaxEnvBytes = 64 * 1024;
inline constexpr std::size_t kMaxPathBytes = 4096;
inline constexpr std::size_t kMaxArtifacts = 256;
inline constexpr std::size_t kMaxUses = 64;
inline constexpr std::size_t kMaxLabels = 64;
inline constexpr std::size_t kMaxLabelBytes = 256;
inline constexpr std::size_t kMaxTextBytes = 256;  // name, phase, plan_unit
inline constexpr std::size_t kMaxParamsBytes = 64 * 1024;
inline constexpr std::size_t kMaxNonRetryableExitCodes = 256;
inline constexpr std::uint32_t kMaxParallel = 10'000;
inline constexpr std::uint32_t kDefaultMaxParallel = 8;
inline constexpr std::uint32_t kMaxTimeoutMs = 7 * 24 * 3600 * 1000U;
inline constexpr std::uint32_t kMaxRetryAttempts = 100;
inline constexpr std::uint32_t kMaxRetryDelayMs = 24 * 3600 * 1000U;
inline constexpr double kMaxRetryMultiplier = 100.0;

// --- Node environment contract (set by the engine for every attempt) ---
// Names a spec's `env` may not use: everything under this prefix is the
// engine's.
inline constexpr std::string_view kReservedEnvPrefix = "SUP_";
inline constexpr std::string_view kEnvExecutionId = "SUP_EXECUTION_ID";
inline constexpr std::string_view kEnvNodeId = "SUP_NODE_ID";
// 1-based attempt number of this run of the node.
inline constexpr std::string_view kEnvAttempt = "SUP_ATTEMPT";
// "<execution_id>/<node_id>/<attempt>": unique per attempt, stable across a
// daemon restart only for the attempt it names (a re-run after a crash gets
// the next attempt), so a node can dedupe side effects of an earlier try.
inline constexpr std::string_view kEnvIdempotencyKey = "SUP_IDEMPOTENCY_KEY";
// A file the node may write its result to: one JSON value of at most
// kMaxNodeOutputBytes. Stored with the node's COMPLETED record; a larger or
// invalid file fails the attempt.
inline constexpr std::string_view kEnvOutput = "SUP_OUTPUT";
inline constexpr std::size_t kMaxNodeOutputBytes = 64 * 1024;
// A file holding {"<dep id>": <its result>, ...} for the node's deps that
// published one. At most deps × kMaxNodeOutputBytes.
inline constexpr std::string_view kEnvInputs = "SUP_INPUTS";
// A file holding the execution's params object.
inline constexpr std::string_view kEnvParams = "SUP_PARAMS";
// SUP_PARAM_<name>: each string, number or boolean param under its name as
// written (param names are [A-Za-z_][A-Za-z0-9_]*); objects and arrays are
// only in the SUP_PARAMS file.
inline constexpr std::string_view kEnvParamPrefix = "SUP_PARAM_";

}  // namespace sup::dag
