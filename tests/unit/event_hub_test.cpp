#include "actors/event_hub.hpp"

#include <doctest/doctest.h>

#include <vector>

using sup::Event;
using sup::actors::EventHub;

namespace {
Event named(std::string type) {
  Event e;
  e.event_type = std::move(type);
  return e;
}
}  // namespace

TEST_CASE("events get consecutive sequence numbers and reach every subscriber") {
  EventHub hub(8);
  std::vector<std::uint64_t> a, b;
  auto first = hub.subscribe([&](const Event& e) { a.push_back(e.sequence); }, UINT64_MAX);
  hub.subscribe([&](const Event& e) { b.push_back(e.sequence); }, UINT64_MAX);
  hub.publish(named("x"));
  hub.publish(named("y"));
  hub.unsubscribe(first);
  hub.publish(named("z"));
  CHECK(a == std::vector<std::uint64_t>{1, 2});
  CHECK(b == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(hub.last_sequence() == 3);
}

TEST_CASE("a reconnecting subscriber gets what it missed, within the ring") {
  EventHub hub(3);
  for (int i = 0; i < 5; ++i) hub.publish(named("e"));  // ring keeps 3, 4, 5
  std::vector<std::uint64_t> seen;
  hub.subscribe([&](const Event& e) { seen.push_back(e.sequence); }, 1);
  CHECK(seen == std::vector<std::uint64_t>{3, 4, 5});  // 2 fell out: the gap shows it
  hub.publish(named("e"));
  CHECK(seen.back() == 6);
}
