#include "actors/process_exit.hpp"

#include <csignal>
#include <cstring>
#include <string>

namespace sup::actors {
namespace {

std::string signal_text(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  std::string text = abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signal);
  if (const char* description = sigdescr_np(signal)) text += std::string(" (") + description + ")";
  return text;
}

}  // namespace

TaskExit classify_process_exit(const process::ProcessExit& exit, StopRequests requests,
                               std::int64_t at_unix_ms) {
  std::string how = exit.signaled ? "killed by signal " + signal_text(exit.status)
                                  : "exit status " + std::to_string(exit.status);
  if (requests.kill_requested && exit.signaled && exit.status == SIGKILL) {
    return {TaskExit::Killed, how, at_unix_ms};
  }
  if (requests.stop_requested || requests.kill_requested) {
    return {TaskExit::Cancelled, "stopped on request (" + how + ")", at_unix_ms};
  }
  if (exit.signaled) return {TaskExit::Panicked, how, at_unix_ms};
  if (exit.status == 0) return {TaskExit::Completed, how, at_unix_ms};
  return {TaskExit::Failed, how, at_unix_ms};
}

}  // namespace sup::actors
