// For test files: a daemon started on a config and answering on its
// socket, or the test case stops right there, showing the daemon's log.
//
//   sup::it::TempDir dir;
//   auto daemon = sup::it::require_serving_daemon(dir, sup::it::base_config(dir));
//   auto health = daemon->result_of("health");
#pragma once

#include <doctest/doctest.h>

#include <memory>

#include "harness.hpp"

namespace sup::it {

inline std::unique_ptr<Daemon> require_serving_daemon(const TempDir& dir, const Json& config,
                                                      const DaemonOptions& options = {}) {
  auto daemon = Daemon::start(dir, config, options);
  REQUIRE_MESSAGE(daemon, (daemon ? "" : daemon.error().describe()));
  bool serving = (*daemon)->wait_until_serving();
  REQUIRE_MESSAGE(serving, "the daemon never answered health; its log:\n" << (*daemon)->log_text());
  return std::move(*daemon);
}

}  // namespace sup::it
