#include "daemon/builtin_tasks.hpp"

#include <chrono>
#include <random>

namespace sup::daemon {
namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds kHeartbeatPeriod{1};

void beat(TaskContext& context) {
  context.heartbeat();
  context.after(kHeartbeatPeriod, beat);
}

}  // namespace

void register_builtin_tasks(TaskRegistry& tasks) {
  tasks.add("heartbeat", {.start = [](TaskContext& context) {
              context.set_readiness(Readiness::Ready);
              context.heartbeat();
              // A random phase: thousands of children started together must
              // not all beat in the same millisecond every second.
              thread_local std::minstd_rand phase_source{std::random_device{}()};
              std::uniform_int_distribution<int> phase_ms(1, kHeartbeatPeriod / 1ms);
              context.after(std::chrono::milliseconds(phase_ms(phase_source)), beat);
            }});
}

const char* builtin_task_names() {
  return "heartbeat";
}

}  // namespace sup::daemon
