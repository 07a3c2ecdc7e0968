#include "daemon/crash_handler.hpp"

#include <cxxabi.h>
#include <execinfo.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <string>

#include "daemon/write_all.hpp"

namespace sup::daemon {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
constexpr int kMaxFrames = 64;
constexpr std::size_t kAltStackBytes = 64 * 1024;

static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<PanicStyle>::is_always_lock_free);

std::atomic<PanicStyle> g_style{PanicStyle::Text};
// Set by whoever reports first, so std::terminate's abort() does not
// produce a second report from the SIGABRT handler.
std::atomic<bool> g_reported{false};
alignas(16) char g_alt_stack[kAltStackBytes];

std::int64_t realtime_nanos() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);  // async-signal-safe
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

void write_backtrace() {
  void* frames[kMaxFrames];
  int count = backtrace(frames, kMaxFrames);
  static constexpr std::string_view kHeader = "backtrace:\n";
  write_all(STDERR_FILENO, kHeader.data(), kHeader.size());
  backtrace_symbols_fd(frames, count, STDERR_FILENO);
}

void on_fatal_signal(int signo, siginfo_t* info, void*) {
  if (!g_reported.exchange(true)) {
    static char line[512];
    std::size_t length =
        format_signal_panic(line, sizeof line, g_style.load(), signo, info->si_code, info->si_addr,
                            static_cast<long>(info->si_pid), realtime_nanos());
    write_all(STDERR_FILENO, line, length);
    write_backtrace();
  }
  // SA_RESETHAND restored the default action; the signal is blocked while
  // we run, so it is delivered (and kills us) as soon as we return. A
  // hardware fault would also re-fault, but a sent signal would not.
  raise(signo);
}

std::string demangled(const char* mangled) {
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string result = status == 0 && name ? name : mangled;
  std::free(name);
  return result;
}

std::string describe_current_exception() {
  std::exception_ptr current = std::current_exception();
  if (!current) return "no active exception";
  std::type_info* type = abi::__cxa_current_exception_type();
  std::string type_name = type ? demangled(type->name()) : "unknown type";
  try {
    std::rethrow_exception(current);
  } catch (const std::exception& e) {
    return std::string(e.what()) + " (exception type " + type_name + ")";
  } catch (...) {
    return "exception of type " + type_name;
  }
}

[[noreturn]] void on_terminate() {
  if (!g_reported.exchange(true)) {
    static char line[2048];
    std::size_t length = format_terminate_panic(line, sizeof line, g_style.load(),
                                                describe_current_exception(), realtime_nanos());
    write_all(STDERR_FILENO, line, length);
    write_backtrace();
  }
  std::abort();
}

}  // namespace

Status install_crash_handler(PanicStyle style) {
  g_style.store(style);

  // backtrace() loads libgcc_s on first use, which allocates: do it now,
  // outside any signal handler.
  void* warm_up[1];
  backtrace(warm_up, 1);

  stack_t alt_stack{};
  alt_stack.ss_sp = g_alt_stack;
  alt_stack.ss_size = sizeof g_alt_stack;
  if (sigaltstack(&alt_stack, nullptr) != 0)
    return make_error(ErrorCode::IoError, std::string("sigaltstack: ") + std::strerror(errno));

  struct sigaction action {};
  action.sa_sigaction = on_fatal_signal;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int signo : kFatalSignals) {
    if (sigaction(signo, &action, nullptr) != 0)
      return make_error(ErrorCode::IoError, std::string("sigaction: ") + std::strerror(errno));
  }
  std::set_terminate(on_terminate);
  return {};
}

}  // namespace sup::daemon
