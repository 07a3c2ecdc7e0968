// libFuzzer target for the registration ack, the one line the daemon reads
// from a relay's registration socket (src/registration): decode_ack must
// never crash, and whatever it accepts must drive the lease without harm.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "registration/registration_lease.hpp"
#include "registration/registration_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ack = sup::registration::decode_ack(text);
  if (ack) {
    sup::registration::RegistrationLease lease({"target", 30, 10'000, 1}, "/run/relay.sock");
    lease.start(0);
    (void)lease.acknowledged(0, 0, *ack);
  }
  return 0;
}
