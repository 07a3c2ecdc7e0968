#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "daemon/crash_handler.hpp"
#include "daemon/panic_message.hpp"
#include "daemon/utc_timestamp.hpp"

using sup::daemon::PanicStyle;

namespace {

constexpr std::int64_t kSampleNanos = 1'795'428'000'123'456'789;  // 2026-11-23T10:00:00.123Z

std::string signal_panic(PanicStyle style, int signo, int code, std::uintptr_t address, long pid,
                         std::size_t capacity = 512) {
  std::string out(capacity, '\0');
  std::size_t length =
      sup::daemon::format_signal_panic(out.data(), out.size(), style, signo, code,
                                       reinterpret_cast<const void*>(address), pid, kSampleNanos);
  out.resize(length);
  return out;
}

struct Crash {
  bool signaled = false;
  int signal = 0;
  int exit_status = -1;
  std::string stderr_text;
};

// Runs `crash` in a child process with the crash handler installed and its
// stderr captured; reports how the child ended.
Crash run_crashing_child(const std::function<void()>& crash) {
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(pipe_fds[0]);
    dup2(pipe_fds[1], STDERR_FILENO);
    rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);  // the test wants the signal, not a core file
    if (!sup::daemon::install_crash_handler(PanicStyle::Text)) _exit(98);
    crash();
    _exit(99);  // the handler failed to kill us
  }
  close(pipe_fds[1]);
  Crash result;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    result.stderr_text.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  result.signaled = WIFSIGNALED(status);
  if (result.signaled) result.signal = WTERMSIG(status);
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  return result;
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t found = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++found;
  return found;
}

}  // namespace

TEST_CASE("signal panic lines name the signal, its code and the fault address") {
  CHECK(signal_panic(PanicStyle::Text, SIGSEGV, 1, 0x10, 0) ==
        "2026-11-23T10:00:00.123Z CRITICAL Panic: fatal signal SIGSEGV (code 1, addr 0x10)\n");
  CHECK(signal_panic(PanicStyle::Text, SIGBUS, 2, 0xdeadbeef, 0)
            .find("Panic: fatal signal SIGBUS (code 2, addr 0xdeadbeef)\n") != std::string::npos);
  CHECK(signal_panic(PanicStyle::Journal, SIGFPE, 1, 0, 0) ==
        "<2>Panic: fatal signal SIGFPE (code 1, addr 0x0)\n");
}

TEST_CASE("a signal sent by another process names the sender instead of an address") {
  CHECK(signal_panic(PanicStyle::Journal, SIGSEGV, 0, 0, 4242) ==
        "<2>Panic: fatal signal SIGSEGV (code 0, sent by pid 4242)\n");
  CHECK(signal_panic(PanicStyle::Journal, SIGABRT, -6, 0, 17) ==
        "<2>Panic: fatal signal SIGABRT (code -6, sent by pid 17)\n");
  CHECK(signal_panic(PanicStyle::Journal, 64, 0, 0, 1) ==
        "<2>Panic: fatal signal signal 64 (code 0, sent by pid 1)\n");
}

TEST_CASE("json panic lines are valid JSON even with a hostile cause") {
  std::string line = signal_panic(PanicStyle::Json, SIGILL, 2, 0x1234, 0);
  auto parsed = nlohmann::json::parse(line);
  CHECK(parsed["ts"] == "2026-11-23T10:00:00.123Z");
  CHECK(parsed["level"] == "critical");
  CHECK(parsed["msg"] == "Panic: fatal signal SIGILL (code 2, addr 0x1234)");

  char out[256];
  std::size_t length = sup::daemon::format_terminate_panic(
      out, sizeof out, PanicStyle::Json, "bad \"quote\" \\ and\nnewline", kSampleNanos);
  std::string terminate_line(out, length);
  CHECK(std::count(terminate_line.begin(), terminate_line.end(), '\n') == 1);
  CHECK(nlohmann::json::parse(terminate_line)["msg"] ==
        "Panic: std::terminate: bad \"quote\" \\ and\nnewline");
}

TEST_CASE("panic lines are truncated to the buffer and stay well-formed") {
  std::string small = signal_panic(PanicStyle::Text, SIGSEGV, 1, 0x10, 0, 40);
  CHECK(small.size() == 40);
  CHECK(small.back() == '\n');

  char out[64];
  std::size_t length = sup::daemon::format_terminate_panic(out, sizeof out, PanicStyle::Json,
                                                           std::string(500, '"'), kSampleNanos);
  CHECK(length == sizeof out);
  std::string line(out, length);
  CHECK(line.substr(line.size() - 3) == "\"}\n");
  CHECK(nlohmann::json::accept(line));
}

TEST_CASE("a real segfault logs one Panic with a backtrace and dies by SIGSEGV") {
  Crash crash = run_crashing_child([] {
    // Not null (a sanitizer would intercept that): an unmapped low address,
    // hidden from the optimizer.
    volatile std::uintptr_t address = 16;
    *reinterpret_cast<volatile int*>(address) = 1;
  });
  CHECK(crash.signaled);
  CHECK(crash.signal == SIGSEGV);
  CHECK_MESSAGE(crash.stderr_text.find("Panic: fatal signal SIGSEGV (code 1, addr 0x10)") !=
                    std::string::npos,
                crash.stderr_text);
  CHECK(count(crash.stderr_text, "Panic") == 1);
  CHECK(crash.stderr_text.find("backtrace:\n") != std::string::npos);
}

TEST_CASE("kill -SEGV from outside is reported with the sender and kills by SIGSEGV") {
  Crash crash = run_crashing_child([] {
    kill(getpid(), SIGSEGV);
    for (;;) pause();
  });
  CHECK(crash.signaled);
  CHECK(crash.signal == SIGSEGV);
  CHECK_MESSAGE(crash.stderr_text.find("Panic: fatal signal SIGSEGV (code 0, sent by pid ") !=
                    std::string::npos,
                crash.stderr_text);
}

TEST_CASE("an exception escaping a thread is one Panic naming it, then death by SIGABRT") {
  Crash crash = run_crashing_child(
      [] { std::thread([] { throw std::runtime_error("boom in a worker"); }).join(); });
  CHECK(crash.signaled);
  CHECK(crash.signal == SIGABRT);
  CHECK_MESSAGE(crash.stderr_text.find("Panic: std::terminate: boom in a worker (exception type "
                                       "std::runtime_error)") != std::string::npos,
                crash.stderr_text);
  CHECK(count(crash.stderr_text, "Panic") == 1);
}

TEST_CASE("std::terminate without an exception says so") {
  Crash crash = run_crashing_child([] { std::terminate(); });
  CHECK(crash.signaled);
  CHECK(crash.signal == SIGABRT);
  CHECK(crash.stderr_text.find("Panic: std::terminate: no active exception") != std::string::npos);
  CHECK(count(crash.stderr_text, "Panic") == 1);
}

namespace {

std::string utc_timestamp(std::int64_t nanos) {
  char out[sup::daemon::kTimestampLength];
  sup::daemon::format_utc_timestamp(nanos, out);
  return std::string(out, sizeof out);
}

}  // namespace

TEST_CASE("the Panic line's UTC timestamps: calendar arithmetic without gmtime") {
  CHECK(utc_timestamp(0) == "1970-01-01T00:00:00.000Z");
  CHECK(utc_timestamp(1'795'428'000'123'456'789) == "2026-11-23T10:00:00.123Z");
  CHECK(utc_timestamp(951'782'400'000'000'000) == "2000-02-29T00:00:00.000Z");  // leap day
  CHECK(utc_timestamp(4'107'542'399'999'000'000) == "2100-02-28T23:59:59.999Z");
  CHECK(utc_timestamp(-1'000'000) == "1969-12-31T23:59:59.999Z");
}
