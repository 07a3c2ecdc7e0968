// Hooks for tests that need the control loop in a state a real tree cannot
// be driven into on demand, e.g. blocked, to show what Handle callers get
// then. Not part of the public API; only tests include this header.
//
//   sup::detail::TestHooks::set_call_timeout(h, 200ms);
//   std::promise<void> release;
//   sup::detail::TestHooks::run_on_control_loop(h, [&] { release.get_future().wait(); });
//   CHECK(h.current_state().error().code == sup::ErrorCode::Timeout);
#pragma once

#include <chrono>
#include <functional>

#include "sup/handle.hpp"

namespace sup::detail {

struct TestHooks {
  // Runs `job` on the control loop's thread, in order with Handle calls.
  static void run_on_control_loop(const Handle& handle, std::function<void()> job);
  // How long this runtime's Handle calls wait for the loop (default
  // Handle::kCallTimeout).
  static void set_call_timeout(const Handle& handle, std::chrono::milliseconds timeout);
};

}  // namespace sup::detail
