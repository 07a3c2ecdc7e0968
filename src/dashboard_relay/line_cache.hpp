// Serialized records by sequence number, shared by the relay's clients: an
// event or log record pushed to 200 subscribers is encoded once. Used on the
// I/O thread only; keeps the newest `capacity` lines.
//
//   auto line = cache.get(event.sequence, [&] { return sup::ipc::event_push_line(event, id); });
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace sup::relay {

using SharedLine = std::shared_ptr<const std::string>;

class LineCache {
 public:
  explicit LineCache(std::size_t capacity) : capacity_(capacity) {}

  template <class Encode>
  SharedLine get(std::uint64_t sequence, Encode&& encode) {
    auto it = lines_.find(sequence);
    if (it != lines_.end()) return it->second;
    auto line = std::make_shared<const std::string>(encode());
    lines_.emplace(sequence, line);
    if (lines_.size() > capacity_) lines_.erase(lines_.begin());
    return line;
  }

 private:
  std::size_t capacity_;
  std::map<std::uint64_t, SharedLine> lines_;
};

}  // namespace sup::relay
