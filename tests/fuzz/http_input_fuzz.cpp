// libFuzzer target for what the HTTP API reads from outside (src/http):
// the request target through route() (path, percent-encoding, query), the
// dashboard commands' body (parse_command_body), Last-Event-ID
// (parse_last_event_id), and SSE framing of arbitrary data, whose frame
// must stay one event (no blank line inside, every line a field).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/command_body.hpp"
#include "http/routing.hpp"
#include "http/sse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (auto port : {sup::http::Port::Api, sup::http::Port::Admin})
    for (std::string_view method : {"GET", "POST"}) (void)sup::http::route(port, method, text);
  (void)sup::http::parse_command_body(text);
  auto last = sup::http::parse_last_event_id(text, "Last-Event-ID");
  if (last && *last) (void)sup::http::plan_replay(**last, {10, 20});
  std::string frame = sup::http::sse_event(1, "", text);
  // One event: it ends with the only blank line, every line is a field.
  if (frame.size() < 2 || frame.compare(frame.size() - 2, 2, "\n\n") != 0) __builtin_trap();
  std::string_view body(frame.data(), frame.size() - 1);
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t end = body.find('\n', start);
    std::string_view line = body.substr(start, end - start);
    if (line.rfind("id: ", 0) != 0 && line.rfind("data: ", 0) != 0) __builtin_trap();
    if (line.find('\r') != std::string_view::npos) __builtin_trap();
    start = end + 1;
  }
  return 0;
}
