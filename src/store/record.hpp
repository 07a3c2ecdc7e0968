// The durable store's vocabulary and its byte encodings (docs/state-store.md).
//
// Pure functions, no LMDB: record kinds, checkpoint ids, the record
// envelope (format version, kind, execution id, sequence, timestamp,
// payload, CRC32C), the per-execution summary and the artifact snapshot
// payload. The LMDB backend stores exactly these bytes; a replicated
// backend can store them too.
//
//   sup::store::Record r{"exec-1", 7, RecordKind::NodeTransition, now_ns, payload};
//   std::string bytes = encode_record(r);
//   auto back = decode_record(bytes);   // record_corrupt if a byte changed
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "store/store_error.hpp"
#include "sup/error.hpp"

namespace sup::store {

// What a record says. The numeric values are stored: never reuse one.
enum class RecordKind : std::uint8_t {
  ExecutionSubmitted = 1,   // the execution's spec and params (first record)
  ExecutionTransition = 2,  // execution state change
  NodeTransition = 3,       // node state change (attempt, fencing epoch, pgid)
  NodeResult = 4,           // a node's published result
  ArtifactSnapshot = 5,     // content hash, size and path of a snapshotted artifact
  CheckpointMarker = 6,     // a named checkpoint (e.g. snapshot --type FULL)
  RollbackStep = 7,         // one step of a partial rollback
};

std::string_view to_string(RecordKind kind);
std::optional<RecordKind> record_kind_from_string(std::string_view name);
// The kind stored as `value`, if this build knows it.
std::optional<RecordKind> record_kind_from_value(std::uint8_t value);

inline constexpr std::uint16_t kRecordFormatVersion = 1;
inline constexpr std::uint16_t kSummaryFormatVersion = 1;
// The store's layout (its databases and keys), kept in its meta database:
// bump when the set of databases or their keys change.
inline constexpr std::uint32_t kStoreFormatVersion = 1;
inline constexpr std::size_t kMaxExecutionIdBytes = 128;
inline constexpr std::size_t kMaxPayloadBytes = 8u << 20;
inline constexpr std::size_t kMaxStateBytes = 64;

// 1..128 bytes of [A-Za-z0-9._-], not starting with '.': printable in checkpoint ids, file names
// and logs, and never containing the key separator. `field_path` names the
// input field in the error.
Status validate_execution_id(std::string_view execution_id, std::string_view field_path);

// A record's stable, printable id: "<execution_id>:<seq>" (seq in decimal).
struct CheckpointId {
  std::string execution_id;
  std::uint64_t seq = 0;

  std::string to_string() const;
  static Expected<CheckpointId> parse(std::string_view text);
  bool operator==(const CheckpointId&) const = default;
};

struct Record {
  std::string execution_id;
  std::uint64_t seq = 0;  // 1, 2, ... per execution, assigned by the store
  RecordKind kind = RecordKind::ExecutionSubmitted;
  std::int64_t timestamp_ns = 0;  // Unix epoch, stamped by the store at append
  std::string payload;            // opaque bytes (the engine stores JSON)

  CheckpointId id() const { return {execution_id, seq}; }
  bool operator==(const Record&) const = default;
};

// The envelope: fixed header, execution id, payload, CRC32C of all of it.
std::string encode_record(const Record& record);
// The same bytes from the parts, into `bytes` (replaced; its capacity is
// reused: the writer encodes thousands of records per group into one buffer).
void encode_record_into(std::string& bytes, std::string_view execution_id, std::uint64_t seq,
                        RecordKind kind, std::int64_t timestamp_ns, std::string_view payload);
// record_corrupt (truncated, bad magic, checksum mismatch, unknown kind) or
// record_version_unsupported (written by a newer build).
Expected<Record> decode_record(std::string_view bytes);

// Key of a record: execution id, a 0x00 separator, seq as 8 big-endian
// bytes. Bytewise order = (execution id, numeric seq) order.
std::string record_key(std::string_view execution_id, std::uint64_t seq);
void record_key_into(std::string& key, std::string_view execution_id, std::uint64_t seq);
// Every key of one execution starts with this.
std::string record_key_prefix(std::string_view execution_id);
std::optional<CheckpointId> parse_record_key(std::string_view key);

// What the engine says about an execution: its state name (opaque to the
// store) and whether it is finished (only finished ones can be cleaned up).
struct ExecutionStatus {
  std::string state;
  bool finished = false;
  bool operator==(const ExecutionStatus&) const = default;
};

// One per execution, updated in the same transaction as its records: lets a
// restarted daemon list unfinished executions without reading records.
struct ExecutionSummary {
  std::string execution_id;
  ExecutionStatus status;
  std::int64_t created_at_ns = 0;
  std::int64_t updated_at_ns = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t record_count = 0;
  bool operator==(const ExecutionSummary&) const = default;
};

// The summary's value; its CRC32C also covers the execution id (the key), so
// a summary stored under another key fails its check.
std::string encode_summary(const ExecutionSummary& summary);
Expected<ExecutionSummary> decode_summary(std::string_view execution_id, std::string_view bytes);

// A setting: a small named value of the daemon's (e.g. the maintenance
// mode), stored beside the format version. The envelope is magic "SS",
// format version, the value, and a CRC32C that also covers the name (a
// value stored under another name fails its check).
inline constexpr std::uint16_t kSettingFormatVersion = 1;
inline constexpr std::size_t kMaxSettingNameBytes = 64;
inline constexpr std::size_t kMaxSettingValueBytes = 64u << 10;

std::string encode_setting(std::string_view name, std::string_view value);
// record_corrupt (truncated, bad magic, checksum mismatch) or
// record_version_unsupported.
Expected<std::string> decode_setting(std::string_view name, std::string_view bytes);

// Payload of an ArtifactSnapshot record: what the rollback restores.
struct ArtifactSnapshot {
  std::string node_id;
  std::string path;          // as declared in the node's `artifacts`
  std::string content_hash;  // e.g. "sha256:<hex>", names the blob under the state dir
  std::uint64_t size = 0;
  bool operator==(const ArtifactSnapshot&) const = default;
};

std::string encode_artifact_snapshot(const ArtifactSnapshot& snapshot);
Expected<ArtifactSnapshot> decode_artifact_snapshot(std::string_view payload);

// CRC32C (Castagnoli), as iSCSI, ext4 and LevelDB use it.
std::uint32_t crc32c(std::string_view bytes);

}  // namespace sup::store
