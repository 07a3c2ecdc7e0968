// libFuzzer target for the two parsers of src/process that read what other
// processes wrote: the process records left in the state dir by an earlier
// daemon (decode_record) and /proc/<pid>/stat (parse_proc_stat). Neither
// may crash, and a decoded record must survive encoding again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "process/process_records.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sup::process::parse_proc_stat(text);
  if (auto record = sup::process::decode_record(text)) {
    const std::string encoded = sup::process::encode_record_head(*record) +
                                (record->pgid > 0 ? sup::process::encode_record_spawned(*record)
                                                  : std::string());
    auto again = sup::process::decode_record(encoded);
    if (!again || again->token != record->token || again->child_id != record->child_id ||
        again->boot_id != record->boot_id || again->pgid != record->pgid ||
        again->start_ticks != record->start_ticks) {
      std::abort();
    }
  }
  return 0;
}
