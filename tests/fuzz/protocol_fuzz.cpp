// libFuzzer target: one request line through the decoder and the
// dispatcher (against the fake control plane). Whatever the input, the
// answer must be exactly one line of valid JSON with the envelope's keys.
// Build and run: see docs/ipc.md, "Fuzzing".
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "ipc/dispatcher.hpp"
#include "ipc/fake_control_plane.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Fresh per input: commands accumulate in the fake.
  sup::ipc::FakeControlPlane plane;
  plane.add_child_record("ingest");
  plane.emit_event("child_started", "ingest");
  sup::LogField fields[] = {{"CHILD_ID", "ingest"}, {"STREAM", "stdout"}};
  plane.logs().append({sup::LogLevel::Info, "hello \xFF", fields, 1});
  sup::ipc::Dispatcher dispatcher(plane, {"sup@fuzz", "fuzz", "/tmp/fuzz.sock", 1000});

  std::string_view line(reinterpret_cast<const char*>(data), size);
  // Alternate the peer between the owner and a stranger.
  sup::ipc::Peer peer{size % 2 == 0 ? 1000u : 65534u, 1};
  sup::ipc::Reply reply = dispatcher.handle_line(line, peer);

  require(!reply.line.empty() && reply.line.back() == '\n');
  require(reply.line.find('\n') == reply.line.size() - 1);
  auto response = nlohmann::json::parse(reply.line, nullptr, /*allow_exceptions=*/false);
  require(response.is_object());
  require(response.contains("request_id") && response.contains("ok"));
  bool ok = response["ok"].get<bool>();
  require(ok ? response["result"].is_object() : response["error"]["code"].is_string());
  require(!reply.subscribe_events_after || ok);
  require(!reply.follow_logs || ok);
  return 0;
}
