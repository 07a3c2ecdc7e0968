// Test driver of execution_crash_test: runs one execution through
// ExecutionService on a state dir and exits once it is finished, printing
// its final state. The test kill -9s it at random moments and starts it
// again on the same state dir; the submission repeats the same execution
// id, so a restart resumes the execution instead of starting a second one.
//
//   execution_crash_driver STATE_DIR SPEC_FILE PARAMS_JSON EXECUTION_ID
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "executions/execution_service.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: execution_crash_driver STATE_DIR SPEC_FILE PARAMS_JSON EXECUTION_ID\n";
    return 2;
  }
  std::ifstream spec_file(argv[2]);
  std::stringstream spec;
  spec << spec_file.rdbuf();
  const std::string id = argv[4];

  std::mutex mutex;
  std::condition_variable changed;
  bool finished = false;
  sup::executions::ExecutionServiceOptions options;
  options.state_dir = argv[1];
  options.store_max_bytes = 64u << 20;
  options.max_parallel_nodes = 8;
  options.on_state_durable = [&](const std::string& execution, std::string_view, bool done) {
    if (execution != id || !done) return;
    {
      std::lock_guard lock(mutex);
      finished = true;
    }
    changed.notify_all();
  };
  auto service = sup::executions::ExecutionService::start(std::move(options));
  if (!service) {
    std::cerr << "start: " << service.error().describe() << "\n";
    return 1;
  }
  auto ack = sup::executions::submit_and_wait(
      **service,
      {.spec = spec.str(), .params = nlohmann::json::parse(argv[3]), .execution_id = id});
  if (!ack) {
    std::cerr << "submit: " << ack.error().describe() << "\n";
    return 1;
  }
  {
    std::unique_lock lock(mutex);
    // A finished execution is not resumed: its state is already committed.
    changed.wait(lock, [&] {
      auto info = (*service)->get(id);
      return finished || (info && info->finished);
    });
  }
  auto info = (*service)->get(id);
  if (!info) {
    std::cerr << "get: " << info.error().describe() << "\n";
    return 1;
  }
  std::cout << info->state << "\n";
  return info->state == "COMPLETED" ? 0 : 1;
}
