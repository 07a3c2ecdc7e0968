// libFuzzer target: bytes from a store file or an imported export through
// the store's decoders (src/store/record.hpp). Whatever the input, a decoder
// answers an error with a store code, or a value that encodes back to the
// very same bytes (decoding is strict: no two inputs mean the same record).
// The input also builds a record that must survive encode/decode, and must
// fail its check once any one of its bytes changes.
// Build and run: see docs/state-store.md, "Fuzzing".
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "store/record.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

// Whatever type sup::Error's code has, the store's codes are its names for it.
template <class Code>
bool is_store_code(const Code& code) {
  return code == sup::store::errc::kRecordCorrupt ||
         code == sup::store::errc::kVersionUnsupported ||
         code == sup::store::errc::kInvalidArgument;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  if (auto record = sup::store::decode_record(bytes))
    require(sup::store::encode_record(*record) == bytes);
  else
    require(is_store_code(record.error().code));

  // A summary is keyed by its execution id: the first byte says how long it is.
  std::size_t id_length = size == 0 ? 0 : std::min<std::size_t>(data[0], size - 1);
  std::string_view id = bytes.substr(size == 0 ? 0 : 1, id_length);
  std::string_view value = bytes.substr(size == 0 ? 0 : 1 + id_length);
  if (auto summary = sup::store::decode_summary(id, value))
    require(sup::store::encode_summary(*summary) == value);
  else
    require(is_store_code(summary.error().code));

  if (auto snapshot = sup::store::decode_artifact_snapshot(bytes))
    require(sup::store::encode_artifact_snapshot(*snapshot) == bytes);
  else
    require(is_store_code(snapshot.error().code));

  if (auto checkpoint = sup::store::CheckpointId::parse(bytes))
    require(sup::store::CheckpointId::parse(checkpoint->to_string())->to_string() ==
            checkpoint->to_string());
  else
    require(is_store_code(checkpoint.error().code));

  if (auto key = sup::store::parse_record_key(bytes))
    require(sup::store::record_key(key->execution_id, key->seq) == bytes);

  FuzzedDataProvider input(data, size);
  sup::store::Record built;
  built.execution_id = input.ConsumeRandomLengthString(200);
  built.seq = input.ConsumeIntegral<std::uint64_t>();
  built.kind = static_cast<sup::store::RecordKind>(input.ConsumeIntegralInRange<int>(1, 7));
  built.timestamp_ns = input.ConsumeIntegral<std::int64_t>();
  std::size_t flip_at = input.ConsumeIntegral<std::size_t>();
  unsigned char flip_mask = input.ConsumeIntegralInRange<unsigned char>(1, 255);
  built.payload = input.ConsumeRemainingBytesAsString();
  std::string encoded = sup::store::encode_record(built);
  auto decoded = sup::store::decode_record(encoded);
  require(decoded && *decoded == built);
  encoded[flip_at % encoded.size()] ^= static_cast<char>(flip_mask);
  require(!sup::store::decode_record(encoded));
  return 0;
}
