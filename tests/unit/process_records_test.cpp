#include "process/process_records.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "process/process_spawner.hpp"

using namespace std::chrono_literals;
using sup::process::ProcessRecord;
using sup::process::ProcessRecords;

namespace {

constexpr auto kDeadline = 30s;

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/sup-records-test-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

ProcessRecords open_records(const std::string& directory) {
  auto records = ProcessRecords::open(directory);
  REQUIRE_MESSAGE(records.has_value(), (records ? "" : records.error().describe()));
  return std::move(records).value();
}

bool running(pid_t pid) {
  auto stat = sup::process::read_proc_stat(pid);
  return stat && stat->state != 'Z' && stat->state != 'X';
}

// A line the child printed (a pid), read within the deadline.
pid_t read_pid(int fd) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (text.find('\n') == std::string::npos) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, 100) <= 0) continue;
    std::array<char, 64> chunk{};
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    REQUIRE(got > 0);
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  return static_cast<pid_t>(std::stoi(text));
}

// A spawn recorded the way the reactor does it, then abandoned the way a
// killed daemon abandons it (no kill, no forget).
struct AbandonedSpawn {
  sup::process::SpawnedProcess process;
  pid_t printed_pid = 0;  // what the child printed first
  bool reaped = false;

  void reap() {
    REQUIRE(::waitpid(process.pid, nullptr, 0) == process.pid);
    reaped = true;
  }
  ~AbandonedSpawn() {
    // Unreaped, the pid (and so the group id) cannot belong to anyone else.
    if (reaped) return;
    ::kill(-process.pid, SIGKILL);
    ::waitpid(process.pid, nullptr, 0);
  }
};

std::unique_ptr<AbandonedSpawn> spawn_recorded(ProcessRecords& records, const std::string& child_id,
                                               const std::string& script) {
  auto token = records.begin(child_id);
  REQUIRE(token.has_value());
  sup::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env[std::string(sup::process::kTokenVariable)] = *token;
  auto spawned = sup::process::spawn_process(spec);
  REQUIRE_MESSAGE(spawned.has_value(), (spawned ? "" : spawned.error().describe()));
  records.complete(*token, spawned->pid);
  auto abandoned = std::make_unique<AbandonedSpawn>();
  abandoned->process = std::move(*spawned);
  abandoned->printed_pid = read_pid(abandoned->process.stdout_fd.get());
  return abandoned;
}

// Waits until `pid` runs `command` (its exec finished): the state a real
// leftover is in when a restarted daemon sweeps, long after it was spawned.
void await_command(pid_t pid, const std::string& command) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  for (;;) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name == command) return;
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(1ms);
  }
}

bool killed_contains(const sup::process::SweepResult& result, pid_t pid) {
  return std::any_of(result.killed.begin(), result.killed.end(),
                     [pid](const auto& process) { return process.pid == pid; });
}

std::size_t files_in(const std::string& directory) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(directory),
                                                std::filesystem::directory_iterator()));
}

}  // namespace

TEST_CASE("a record round-trips; a record cut after its first line has no pid") {
  const ProcessRecord record{"boot-1", std::string(32, 'a'), "ingest", 4242, 98765};
  const std::string head = sup::process::encode_record_head(record);
  auto full = sup::process::decode_record(head + sup::process::encode_record_spawned(record));
  REQUIRE(full.has_value());
  CHECK(full->boot_id == "boot-1");
  CHECK(full->token == record.token);
  CHECK(full->child_id == "ingest");
  CHECK(full->pgid == 4242);
  CHECK(full->start_ticks == 98765u);

  auto cut = sup::process::decode_record(head + "4242 98");
  REQUIRE(cut.has_value());
  CHECK(cut->pgid == 0);
  CHECK(cut->token == record.token);

  CHECK_FALSE(sup::process::decode_record("").has_value());
  CHECK_FALSE(sup::process::decode_record("v1 boot-1 " + std::string(32, 'a')).has_value());
  CHECK_FALSE(sup::process::decode_record("v1 boot-1 not-a-token ingest\n").has_value());
  CHECK_FALSE(sup::process::decode_record("v2 boot-1 " + std::string(32, 'a') + " x\n"));
}

TEST_CASE("/proc/<pid>/stat is parsed after the last ')' of the command name") {
  const std::string stat =
      "1234 (we)ird (name) S 1 777 777 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 5555 1 2 3";
  auto parsed = sup::process::parse_proc_stat(stat);
  REQUIRE(parsed.has_value());
  CHECK(parsed->state == 'S');
  CHECK(parsed->pgid == 777);
  CHECK(parsed->start_ticks == 5555u);
  CHECK_FALSE(sup::process::parse_proc_stat("1234 (short) S 1 2").has_value());
  auto self = sup::process::read_proc_stat(::getpid());
  REQUIRE(self.has_value());
  CHECK(self->pgid == ::getpgrp());
}

TEST_CASE("an environment block is searched for whole assignments only") {
  using std::string_literals::operator""s;
  const std::string environment = "A=1\0SUP_PROCESS_TOKEN=abc\0B=2\0"s;
  CHECK(sup::process::environment_contains(environment, "SUP_PROCESS_TOKEN=abc"));
  CHECK_FALSE(sup::process::environment_contains(environment, "SUP_PROCESS_TOKEN=ab"));
  CHECK_FALSE(sup::process::environment_contains(environment, "=1"));
}

TEST_CASE("the sweep kills a live recorded group, its members without the token included") {
  TempDir dir;
  auto records = open_records(dir.path);
  // The grandchild drops the environment but stays in the group.
  auto group = spawn_recorded(records, "grouped", "env -i sleep 1000 & echo $!; wait");
  REQUIRE(running(group->process.pid));
  REQUIRE(running(group->printed_pid));

  auto successor = open_records(dir.path);
  const auto swept = successor.sweep_leftovers(kDeadline);
  CHECK(killed_contains(swept, group->process.pid));
  CHECK(killed_contains(swept, group->printed_pid));
  CHECK(swept.still_alive.empty());
  CHECK_FALSE(running(group->process.pid));
  CHECK_FALSE(running(group->printed_pid));
  CHECK(files_in(dir.path) == 0);
}

TEST_CASE("the sweep kills a token carrier whose group leader is gone, setsid or not") {
  TempDir dir;
  auto records = open_records(dir.path);
  // The leader prints the grandchild's pid and exits; the grandchild left
  // the group (setsid) but carries the token.
  auto leader_gone = spawn_recorded(records, "escaped", "setsid sleep 1000 & echo $!");
  leader_gone->reap();
  const pid_t grandchild = leader_gone->printed_pid;
  await_command(grandchild, "sleep");
  REQUIRE(running(grandchild));

  auto successor = open_records(dir.path);
  const auto swept = successor.sweep_leftovers(kDeadline);
  CHECK(killed_contains(swept, grandchild));
  CHECK_FALSE(running(grandchild));
}

TEST_CASE("a process matching a record only by pid is never killed (recycled pid)") {
  TempDir dir;
  // An unrelated group leader, and a record naming its pid with another
  // start time: what a recycled pid looks like.
  sup::ProcessSpec spec;
  spec.argv = {"sleep", "1000"};
  auto unrelated = sup::process::spawn_process(spec);
  REQUIRE(unrelated.has_value());
  auto stat = sup::process::read_proc_stat(unrelated->pid);
  REQUIRE(stat.has_value());
  const ProcessRecord stale_identity{"", std::string(32, 'b'), "old", unrelated->pid,
                                     stat->start_ticks - 1};
  auto records = open_records(dir.path);
  // The current boot id, as the records of this boot carry it.
  auto token = records.begin("probe");
  REQUIRE(token.has_value());
  std::ifstream probe(dir.path + "/" + *token);
  std::string version, boot_id;
  probe >> version >> boot_id;
  records.forget(*token);
  ProcessRecord record = stale_identity;
  record.boot_id = boot_id;
  std::ofstream(dir.path + "/" + record.token)
      << sup::process::encode_record_head(record) << sup::process::encode_record_spawned(record);
  // And a record of another boot naming it with the right start time.
  ProcessRecord other_boot = record;
  other_boot.boot_id = "another-boot";
  other_boot.token = std::string(32, 'c');
  other_boot.start_ticks = stat->start_ticks;
  std::ofstream(dir.path + "/" + other_boot.token)
      << sup::process::encode_record_head(other_boot)
      << sup::process::encode_record_spawned(other_boot);

  const auto swept = records.sweep_leftovers(kDeadline);
  CHECK(swept.killed.empty());
  CHECK(swept.stale_records == 1);
  CHECK(running(unrelated->pid));
  CHECK(files_in(dir.path) == 0);
  ::kill(unrelated->pid, SIGKILL);
  ::waitpid(unrelated->pid, nullptr, 0);
}
