// examples/supervisor_quickstart (runbook P1-001 step 4): the embedding
// example reaches health "ready" and shuts down through every phase.
#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"

using namespace std::chrono_literals;

TEST_CASE("supervisor_quickstart reaches health ready and shuts down cleanly") {
  if (sup::it::quickstart_binary().empty()) {
    MESSAGE("supervisor_quickstart is not part of this build; nothing to run");
    return;
  }
  sup::it::TempDir dir;
  sup::it::SpawnOptions options;
  options.argv = {sup::it::quickstart_binary(), "--run-for", "2"};
  options.cwd = dir.path();
  auto run = sup::it::run_command(options, sup::it::scaled(60s));
  INFO(run.describe());
  CHECK(run.code() == 0);
  auto ready = run.out.find("health.status == \"ready\"");
  CHECK(ready != std::string::npos);
  if (ready != std::string::npos)
    MESSAGE("quickstart: " << run.out.substr(ready, run.out.find('\n', ready) - ready));
  auto draining = run.out.find("ShutdownPhase::Draining");
  auto completed = run.out.find("ShutdownPhase::Completed");
  CHECK(draining != std::string::npos);
  CHECK(completed != std::string::npos);
  CHECK(draining < completed);
}
