// The store's encodings without LMDB: envelope round trip, checksum
// detection of every single-byte change, key order, ids, summaries.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store/record.hpp"

using namespace sup::store;

namespace {

Record sample_record() {
  return {"exec-42", 7, RecordKind::NodeTransition, 1'795'428'000'123'456'789,
          R"({"node":"extract","to":"RUNNING","attempt":2,"epoch":9})"};
}

// Rewrites the trailing CRC32C so that only the intended change remains.
std::string reseal(std::string bytes) {
  std::uint32_t crc = crc32c(std::string_view(bytes).substr(0, bytes.size() - 4));
  for (int i = 0; i < 4; ++i)
    bytes[bytes.size() - 4 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  return bytes;
}

}  // namespace

TEST_CASE("crc32c is the Castagnoli CRC") {
  CHECK(crc32c("123456789") == 0xE3069283u);
  CHECK(crc32c("") == 0u);
}

TEST_CASE("every record kind has a name that maps back") {
  for (std::uint8_t value = 0; value < 16; ++value) {
    auto kind = record_kind_from_value(value);
    if (!kind) continue;
    CHECK(record_kind_from_string(to_string(*kind)) == kind);
    CHECK(static_cast<std::uint8_t>(*kind) == value);
  }
  CHECK(to_string(RecordKind::ArtifactSnapshot) == "artifact_snapshot");
  CHECK_FALSE(record_kind_from_value(0));
  CHECK_FALSE(record_kind_from_string("node_exploded"));
}

TEST_CASE("a record survives encode and decode") {
  Record record = sample_record();
  auto decoded = decode_record(encode_record(record));
  REQUIRE(decoded);
  CHECK(*decoded == record);

  Record binary{"e", UINT64_MAX, RecordKind::NodeResult, -5, std::string("\0\xff\x01z", 4)};
  auto binary_back = decode_record(encode_record(binary));
  REQUIRE(binary_back);
  CHECK(*binary_back == binary);

  Record empty_payload{"e", 1, RecordKind::CheckpointMarker, 0, ""};
  auto empty_back = decode_record(encode_record(empty_payload));
  REQUIRE(empty_back);
  CHECK(*empty_back == empty_payload);
}

TEST_CASE("every changed byte of a record is detected") {
  const std::string bytes = encode_record(sample_record());
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string flipped = bytes;
      flipped[at] = static_cast<char>(flipped[at] ^ mask);
      auto decoded = decode_record(flipped);
      CAPTURE(at);
      REQUIRE_FALSE(decoded);
      CHECK(decoded.error().code == errc::kRecordCorrupt);
    }
  }
}

TEST_CASE("a truncated or padded record is corrupt") {
  const std::string bytes = encode_record(sample_record());
  for (std::size_t length : {std::size_t{0}, std::size_t{3}, std::size_t{31}, bytes.size() - 1}) {
    auto decoded = decode_record(bytes.substr(0, length));
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == errc::kRecordCorrupt);
  }
  auto padded = decode_record(bytes + "x");
  REQUIRE_FALSE(padded);
  CHECK(padded.error().code == errc::kRecordCorrupt);
}

TEST_CASE("lengths that disagree with the size are corrupt even with a valid checksum") {
  std::string bytes = encode_record(sample_record());
  bytes[27] = static_cast<char>(bytes[27] + 1);  // payload length, low byte
  auto decoded = decode_record(reseal(bytes));
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == errc::kRecordCorrupt);
  CHECK(decoded.error().message.find("lengths") != std::string::npos);
}

TEST_CASE("a record of a newer format version or an unknown kind is refused by name") {
  std::string newer = encode_record(sample_record());
  newer[3] = static_cast<char>(kRecordFormatVersion + 1);
  auto decoded = decode_record(reseal(newer));
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == errc::kVersionUnsupported);

  std::string unknown_kind = encode_record(sample_record());
  unknown_kind[4] = 99;
  auto unknown = decode_record(reseal(unknown_kind));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == errc::kRecordCorrupt);
  CHECK(unknown.error().message.find("99") != std::string::npos);
}

TEST_CASE("record keys sort by execution, then numerically by seq") {
  std::vector<std::string> keys = {record_key("a", 256),        record_key("a", 255),
                                   record_key("a-b", 1),        record_key("a", 1),
                                   record_key("a", 1ull << 40), record_key("A", 9)};
  std::sort(keys.begin(), keys.end());
  std::vector<CheckpointId> order;
  for (const auto& key : keys) order.push_back(*parse_record_key(key));
  std::vector<CheckpointId> expected = {{"A", 9},   {"a", 1},          {"a", 255},
                                        {"a", 256}, {"a", 1ull << 40}, {"a-b", 1}};
  CHECK(order == expected);
  // An execution's prefix never matches another execution's keys.
  CHECK(record_key("a-b", 1).rfind(record_key_prefix("a"), 0) == std::string::npos);
  CHECK(record_key("a", 3).rfind(record_key_prefix("a"), 0) == 0);
  CHECK_FALSE(parse_record_key("no-separator"));
}

TEST_CASE("checkpoint ids print as <execution_id>:<seq> and parse back") {
  CheckpointId id{"exec-7", 12};
  CHECK(id.to_string() == "exec-7:12");
  auto parsed = CheckpointId::parse("exec-7:12");
  REQUIRE(parsed);
  CHECK(*parsed == id);
  for (const char* bad : {"exec-7", "exec-7:", ":3", "exec-7:0", "exec-7:x1", "exec 7:1",
                          "exec-7:99999999999999999999999"}) {
    auto refused = CheckpointId::parse(bad);
    CAPTURE(bad);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::kInvalidArgument);
  }
}

TEST_CASE("execution ids are 1..128 bytes of [A-Za-z0-9._-]") {
  CHECK(validate_execution_id("Exec_1.2-x", "id"));
  CHECK(validate_execution_id(std::string(kMaxExecutionIdBytes, 'a'), "id"));
  for (std::string bad :
       {std::string(), std::string(kMaxExecutionIdBytes + 1, 'a'), std::string("a:b"),
        std::string("a/b"), std::string("a\0b", 3), std::string("é")}) {
    auto refused = validate_execution_id(bad, "executions[3].id");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == errc::kInvalidArgument);
    CHECK(refused.error().field_path == "executions[3].id");
  }
}

TEST_CASE("a summary round-trips and fails its check under another key or when changed") {
  ExecutionSummary summary{"exec-1", {"RUNNING", false}, 10, 20, 33, 33};
  std::string bytes = encode_summary(summary);
  auto back = decode_summary("exec-1", bytes);
  REQUIRE(back);
  CHECK(*back == summary);

  ExecutionSummary finished{"exec-2", {"COMPLETED", true}, 1, 2, 3, 3};
  auto finished_back = decode_summary("exec-2", encode_summary(finished));
  REQUIRE(finished_back);
  CHECK(finished_back->status.finished);

  auto moved = decode_summary("exec-9", bytes);
  REQUIRE_FALSE(moved);
  CHECK(moved.error().code == errc::kRecordCorrupt);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x10);
    CAPTURE(at);
    CHECK_FALSE(decode_summary("exec-1", flipped));
  }
}

TEST_CASE("an artifact snapshot payload round-trips; a malformed one is refused") {
  ArtifactSnapshot snapshot{
      "render", "out/report.pdf",
      "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 123'456};
  std::string payload = encode_artifact_snapshot(snapshot);
  auto back = decode_artifact_snapshot(payload);
  REQUIRE(back);
  CHECK(*back == snapshot);
  auto truncated = decode_artifact_snapshot(payload.substr(0, payload.size() - 1));
  REQUIRE_FALSE(truncated);
  CHECK(truncated.error().code == errc::kRecordCorrupt);
  auto unknown_layout = decode_artifact_snapshot(std::string("\0\x07", 2) + payload.substr(2));
  REQUIRE_FALSE(unknown_layout);
  CHECK(unknown_layout.error().code == errc::kVersionUnsupported);
}
