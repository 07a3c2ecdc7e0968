#include "daemon/builtin_tasks.hpp"

#include <chrono>

namespace sup::daemon {
namespace {

constexpr std::chrono::seconds kHeartbeatPeriod{1};

void beat(TaskContext& context) {
  context.heartbeat();
  context.after(kHeartbeatPeriod, beat);
}

}  // namespace

void register_builtin_tasks(TaskRegistry& tasks) {
  tasks.add("heartbeat", {.start = [](TaskContext& context) {
              context.set_readiness(Readiness::Ready);
              beat(context);
            }});
}

const char* builtin_task_names() {
  return "heartbeat";
}

}  // namespace sup::daemon
