// libFuzzer target: one config file through parse_config (the bounded JSON
// parse, the config reader, the child-spec check). Whatever the input, the
// answer is a config or one InvalidConfig error: no exception, no crash, no
// unbounded recursion. Build and run: see docs/config.md, "Fuzzing".
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/daemon_config.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = sup::config::parse_config(text);
  if (!config) {
    require(config.error().code == sup::ErrorCode::InvalidConfig);
    require(!config.error().message.empty());
  }
  return 0;
}
