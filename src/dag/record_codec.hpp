// The bytes an execution's history is stored as: ExecutionCore records as
// JSON payloads of the store's records (docs/state-store.md, "Engine
// payloads"). Pure: the store treats payloads as opaque, the engine encodes
// and decodes them here. Nodes are named by id, so a payload reads on its
// own (checkpoint tooling, exports) and never depends on node indices.
//
//   std::string payload = encode_record_payload(spec, record);
//   Expected<Record> back = decode_record_payload(spec, payload, record.sequence);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dag/execution_core.hpp"
#include "dag/spec.hpp"
#include "sup/error.hpp"

namespace sup::dag {

// Code of every decode error: the payload is not a record of this spec.
inline constexpr ErrorCode kRecordPayloadErrorCode = ErrorCode::DataLoss;

// {"node": "<id>", "from": "RUNNING", "to": "COMPLETED", "attempt": 2,
//  "epoch": 7, "reason": "...", "result": <JSON>} for a node transition
// (result only when published); {"from": ..., "to": ..., "reason": ...}
// for an execution transition. The sequence is the store's, not repeated.
std::string encode_record_payload(const DagSpec& spec, const Record& record);

// The record back, with `sequence`; invalid_history naming the field when
// the payload is not JSON, names an unknown node or state, or lacks a key.
Expected<Record> decode_record_payload(const DagSpec& spec, std::string_view payload,
                                       std::uint64_t sequence);

}  // namespace sup::dag
