#include "store/record.hpp"

#include <array>
#include <boost/crc.hpp>
#include <charconv>

namespace sup::store {

namespace {

constexpr std::array<char, 2> kRecordMagic = {'S', 'R'};
constexpr std::array<char, 2> kSummaryMagic = {'S', 'E'};
constexpr std::array<char, 2> kSettingMagic = {'S', 'S'};
constexpr std::uint8_t kFinishedFlag = 0x01;
// magic 2, version 2, kind 1, flags 1, id length 2, seq 8, timestamp 8, payload length 4
constexpr std::size_t kRecordHeaderBytes = 28;
// magic 2, version 2, flags 1, reserved 1, state length 2, created 8, updated 8, last seq 8, count
// 8
constexpr std::size_t kSummaryHeaderBytes = 40;
constexpr std::size_t kChecksumBytes = 4;

struct KindName {
  RecordKind kind;
  std::string_view name;
};
constexpr std::array<KindName, 7> kKindNames = {{
    {RecordKind::ExecutionSubmitted, "execution_submitted"},
    {RecordKind::ExecutionTransition, "execution_transition"},
    {RecordKind::NodeTransition, "node_transition"},
    {RecordKind::NodeResult, "node_result"},
    {RecordKind::ArtifactSnapshot, "artifact_snapshot"},
    {RecordKind::CheckpointMarker, "checkpoint_marker"},
    {RecordKind::RollbackStep, "rollback_step"},
}};

using Crc32c = boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true>;

// CRC32C of `prefix` followed by `bytes`.
std::uint32_t crc32c_of(std::string_view prefix, std::string_view bytes) {
  Crc32c crc;
  crc.process_bytes(prefix.data(), prefix.size());
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

// Appends big-endian integers and length-prefixed strings.
class ByteWriter {
 public:
  // Writes into `out` (cleared; its capacity is kept for reuse).
  ByteWriter(std::string& out, std::size_t capacity) : bytes_(out) {
    bytes_.clear();
    bytes_.reserve(capacity);
  }

  template <class Int>
  void integer(Int value) {
    auto bits = static_cast<std::make_unsigned_t<Int>>(value);
    for (int shift = (sizeof(Int) - 1) * 8; shift >= 0; shift -= 8)
      bytes_.push_back(static_cast<char>((bits >> shift) & 0xff));
  }
  void raw(std::string_view data) { bytes_.append(data); }
  void magic(const std::array<char, 2>& magic) { bytes_.append(magic.data(), magic.size()); }
  void text16(std::string_view text) {
    integer(static_cast<std::uint16_t>(text.size()));
    raw(text);
  }
  // Seals the bytes with a CRC32C of `covered_prefix` followed by them.
  void seal(std::string_view covered_prefix = {}) { integer(crc32c_of(covered_prefix, bytes_)); }

 private:
  std::string& bytes_;
};

// Reads what ByteWriter wrote; every read checks the remaining length.
class ByteReader {
 public:
  explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

  template <class Int>
  bool integer(Int& out) {
    if (bytes_.size() < sizeof(Int)) return false;
    std::make_unsigned_t<Int> bits = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i)
      bits = static_cast<std::make_unsigned_t<Int>>((bits << 8) |
                                                    static_cast<unsigned char>(bytes_[i]));
    out = static_cast<Int>(bits);
    bytes_.remove_prefix(sizeof(Int));
    return true;
  }
  bool raw(std::size_t length, std::string_view& out) {
    if (bytes_.size() < length) return false;
    out = bytes_.substr(0, length);
    bytes_.remove_prefix(length);
    return true;
  }
  bool magic(const std::array<char, 2>& magic) {
    std::string_view found;
    return raw(magic.size(), found) && found == std::string_view(magic.data(), magic.size());
  }
  bool text16(std::string& out) {
    std::uint16_t length = 0;
    std::string_view text;
    if (!integer(length) || !raw(length, text)) return false;
    out.assign(text);
    return true;
  }
  bool empty() const { return bytes_.empty(); }

 private:
  std::string_view bytes_;
};

Error corrupt(std::string message) {
  return make_error(errc::kRecordCorrupt, std::move(message));
}

// Splits `bytes` into body and trailing CRC32C and checks it (the CRC also
// covers `covered_prefix`, which is not stored in `bytes`).
bool checksum_matches(std::string_view bytes, std::string_view covered_prefix,
                      std::string_view& body) {
  if (bytes.size() < kChecksumBytes) return false;
  body = bytes.substr(0, bytes.size() - kChecksumBytes);
  ByteReader trailer(bytes.substr(body.size()));
  std::uint32_t stored = 0;
  trailer.integer(stored);
  return stored == crc32c_of(covered_prefix, body);
}

}  // namespace

std::string_view to_string(RecordKind kind) {
  for (const auto& entry : kKindNames)
    if (entry.kind == kind) return entry.name;
  return "unknown";
}

std::optional<RecordKind> record_kind_from_string(std::string_view name) {
  for (const auto& entry : kKindNames)
    if (entry.name == name) return entry.kind;
  return std::nullopt;
}

std::optional<RecordKind> record_kind_from_value(std::uint8_t value) {
  for (const auto& entry : kKindNames)
    if (static_cast<std::uint8_t>(entry.kind) == value) return entry.kind;
  return std::nullopt;
}

Status validate_execution_id(std::string_view execution_id, std::string_view field_path) {
  auto invalid = [&](std::string why) {
    return make_error(errc::kInvalidArgument, "execution id " + why, std::string(field_path));
  };
  if (execution_id.empty()) return invalid("is empty");
  if (execution_id.size() > kMaxExecutionIdBytes)
    return invalid("is longer than " + std::to_string(kMaxExecutionIdBytes) + " bytes");
  // It names a directory under STATE_DIR/executions/: never "." or "..".
  if (execution_id.front() == '.')
    return invalid("\"" + std::string(execution_id) + "\" starts with '.'");
  for (char c : execution_id) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
    if (!allowed)
      return invalid("\"" + std::string(execution_id) +
                     "\" has a character outside [A-Za-z0-9._-]");
  }
  return {};
}

std::string CheckpointId::to_string() const {
  return execution_id + ":" + std::to_string(seq);
}

Expected<CheckpointId> CheckpointId::parse(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos)
    return make_error(errc::kInvalidArgument,
                      "checkpoint id \"" + std::string(text) + "\" is not <execution_id>:<seq>");
  CheckpointId id{std::string(text.substr(0, colon)), 0};
  if (auto valid = validate_execution_id(id.execution_id, "checkpoint_id"); !valid)
    return valid.error();
  std::string_view digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id.seq);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || id.seq == 0)
    return make_error(errc::kInvalidArgument, "checkpoint id \"" + std::string(text) +
                                                  "\": seq must be a positive decimal number");
  return id;
}

std::string encode_record(const Record& record) {
  std::string bytes;
  encode_record_into(bytes, record.execution_id, record.seq, record.kind, record.timestamp_ns,
                     record.payload);
  return bytes;
}

void encode_record_into(std::string& bytes, std::string_view execution_id, std::uint64_t seq,
                        RecordKind kind, std::int64_t timestamp_ns, std::string_view payload) {
  ByteWriter out(bytes, kRecordHeaderBytes + execution_id.size() + payload.size() + kChecksumBytes);
  out.magic(kRecordMagic);
  out.integer(kRecordFormatVersion);
  out.integer(static_cast<std::uint8_t>(kind));
  out.integer(std::uint8_t{0});  // flags, none yet
  out.integer(static_cast<std::uint16_t>(execution_id.size()));
  out.integer(seq);
  out.integer(timestamp_ns);
  out.integer(static_cast<std::uint32_t>(payload.size()));
  out.raw(execution_id);
  out.raw(payload);
  out.seal();
}

Expected<Record> decode_record(std::string_view bytes) {
  std::string_view body;
  if (bytes.size() < kRecordHeaderBytes + kChecksumBytes)
    return corrupt("record of " + std::to_string(bytes.size()) + " bytes is truncated");
  if (!checksum_matches(bytes, {}, body)) return corrupt("record checksum mismatch");
  ByteReader in(body);
  std::uint16_t version = 0, id_length = 0;
  std::uint8_t kind = 0, flags = 0;
  std::uint32_t payload_length = 0;
  Record record;
  if (!in.magic(kRecordMagic)) return corrupt("record has no record magic");
  in.integer(version);
  if (version == 0) return corrupt("record format version 0 does not exist");
  if (version > kRecordFormatVersion)
    return make_error(errc::kVersionUnsupported,
                      "record format version " + std::to_string(version) +
                          " is newer than this build's " + std::to_string(kRecordFormatVersion));
  in.integer(kind);
  in.integer(flags);
  in.integer(id_length);
  in.integer(record.seq);
  in.integer(record.timestamp_ns);
  in.integer(payload_length);
  std::string_view id, payload;
  if (!in.raw(id_length, id) || !in.raw(payload_length, payload) || !in.empty())
    return corrupt("record lengths do not match its size");
  auto known = record_kind_from_value(kind);
  if (!known) return corrupt("record kind " + std::to_string(kind) + " is unknown");
  // No flag is defined in version 1: a set bit is damage, not a feature.
  if (flags != 0) return corrupt("record flags " + std::to_string(flags) + " are unknown");
  record.kind = *known;
  record.execution_id.assign(id);
  record.payload.assign(payload);
  return record;
}

std::string record_key(std::string_view execution_id, std::uint64_t seq) {
  std::string key;
  record_key_into(key, execution_id, seq);
  return key;
}

void record_key_into(std::string& key, std::string_view execution_id, std::uint64_t seq) {
  ByteWriter out(key, execution_id.size() + 1 + sizeof seq);
  out.raw(execution_id);
  out.integer(std::uint8_t{0});
  out.integer(seq);
}

std::string record_key_prefix(std::string_view execution_id) {
  std::string prefix(execution_id);
  prefix.push_back('\0');
  return prefix;
}

std::optional<CheckpointId> parse_record_key(std::string_view key) {
  constexpr std::size_t kTail = 1 + sizeof(std::uint64_t);
  if (key.size() <= kTail || key[key.size() - kTail] != '\0') return std::nullopt;
  CheckpointId id{std::string(key.substr(0, key.size() - kTail)), 0};
  ByteReader seq(key.substr(key.size() - sizeof(std::uint64_t)));
  seq.integer(id.seq);
  return id;
}

std::string encode_summary(const ExecutionSummary& summary) {
  std::string bytes;
  ByteWriter out(bytes, kSummaryHeaderBytes + summary.status.state.size() + kChecksumBytes);
  out.magic(kSummaryMagic);
  out.integer(kSummaryFormatVersion);
  out.integer(summary.status.finished ? kFinishedFlag : std::uint8_t{0});
  out.integer(std::uint8_t{0});  // reserved
  out.integer(static_cast<std::uint16_t>(summary.status.state.size()));
  out.integer(summary.created_at_ns);
  out.integer(summary.updated_at_ns);
  out.integer(summary.last_seq);
  out.integer(summary.record_count);
  out.raw(summary.status.state);
  out.seal(summary.execution_id);
  return bytes;
}

std::string encode_setting(std::string_view name, std::string_view value) {
  std::string bytes;
  ByteWriter out(bytes, 4 + value.size() + kChecksumBytes);
  out.magic(kSettingMagic);
  out.integer(kSettingFormatVersion);
  out.raw(value);
  out.seal(name);
  return bytes;
}

Expected<std::string> decode_setting(std::string_view name, std::string_view bytes) {
  std::string_view body;
  if (bytes.size() < 4 + kChecksumBytes)
    return corrupt("setting " + std::string(name) + " of " + std::to_string(bytes.size()) +
                   " bytes is truncated");
  if (!checksum_matches(bytes, name, body))
    return corrupt("setting " + std::string(name) + " checksum mismatch");
  ByteReader in(body);
  std::uint16_t version = 0;
  if (!in.magic(kSettingMagic)) return corrupt("setting " + std::string(name) + " has no magic");
  in.integer(version);
  if (version == 0) return corrupt("setting format version 0 does not exist");
  if (version > kSettingFormatVersion)
    return make_error(errc::kVersionUnsupported,
                      "setting format version " + std::to_string(version) +
                          " is newer than this build's " + std::to_string(kSettingFormatVersion));
  return std::string(body.substr(4));
}

Expected<ExecutionSummary> decode_summary(std::string_view execution_id, std::string_view bytes) {
  std::string_view body;
  if (bytes.size() < kSummaryHeaderBytes + kChecksumBytes)
    return corrupt("summary of " + std::to_string(bytes.size()) + " bytes is truncated");
  if (!checksum_matches(bytes, execution_id, body)) return corrupt("summary checksum mismatch");
  ByteReader in(body);
  std::uint16_t version = 0, state_length = 0;
  std::uint8_t flags = 0, reserved = 0;
  ExecutionSummary summary;
  summary.execution_id.assign(execution_id);
  if (!in.magic(kSummaryMagic)) return corrupt("summary has no summary magic");
  in.integer(version);
  if (version == 0) return corrupt("summary format version 0 does not exist");
  if (version > kSummaryFormatVersion)
    return make_error(errc::kVersionUnsupported,
                      "summary format version " + std::to_string(version) +
                          " is newer than this build's " + std::to_string(kSummaryFormatVersion));
  in.integer(flags);
  in.integer(reserved);
  in.integer(state_length);
  in.integer(summary.created_at_ns);
  in.integer(summary.updated_at_ns);
  in.integer(summary.last_seq);
  in.integer(summary.record_count);
  std::string_view state;
  if (!in.raw(state_length, state) || !in.empty())
    return corrupt("summary lengths do not match its size");
  if ((flags & ~kFinishedFlag) != 0 || reserved != 0)
    return corrupt("summary flags " + std::to_string(flags) + " are unknown");
  summary.status.state.assign(state);
  summary.status.finished = (flags & kFinishedFlag) != 0;
  return summary;
}

std::string encode_artifact_snapshot(const ArtifactSnapshot& snapshot) {
  std::string bytes;
  ByteWriter out(bytes, 2 + 3 * 2 + snapshot.node_id.size() + snapshot.path.size() +
                            snapshot.content_hash.size() + 8);
  out.integer(std::uint16_t{1});  // payload layout version
  out.text16(snapshot.node_id);
  out.text16(snapshot.path);
  out.text16(snapshot.content_hash);
  out.integer(snapshot.size);
  return bytes;
}

Expected<ArtifactSnapshot> decode_artifact_snapshot(std::string_view payload) {
  ByteReader in(payload);
  std::uint16_t version = 0;
  ArtifactSnapshot snapshot;
  if (!in.integer(version) || version != 1)
    return make_error(errc::kVersionUnsupported, "artifact snapshot layout version " +
                                                     std::to_string(version) + " is unknown");
  if (!in.text16(snapshot.node_id) || !in.text16(snapshot.path) ||
      !in.text16(snapshot.content_hash) || !in.integer(snapshot.size) || !in.empty())
    return corrupt("artifact snapshot payload is malformed");
  return snapshot;
}

std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_of({}, bytes);
}

}  // namespace sup::store
