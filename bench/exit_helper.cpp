// The process child of the external-restart benchmark: prints its
// CLOCK_MONOTONIC time as it starts ("S <ns>") and just before it exits
// ("E <ns>"), then exits with status 1 so the supervisor restarts it. The
// next incarnation's "S" minus this one's "E" is exit -> running again, as
// the processes themselves saw it.
//
//   sup_bench_exit_helper   # S 123456789\nE 123456901\n, exit status 1
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace {

long long monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1'000'000'000LL + now.tv_nsec;
}

}  // namespace

int main() {
  char line[64];
  int length = std::snprintf(line, sizeof line, "S %lld\n", monotonic_ns());
  if (::write(STDOUT_FILENO, line, static_cast<size_t>(length)) < 0) return 2;
  length = std::snprintf(line, sizeof line, "E %lld\n", monotonic_ns());
  if (::write(STDOUT_FILENO, line, static_cast<size_t>(length)) < 0) return 2;
  return 1;
}
