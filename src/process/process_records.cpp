#include "process/process_records.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "common/clock.hpp"
#include "process/unique_fd.hpp"

namespace sup::process {
namespace {

constexpr std::string_view kRecordVersion = "v1";
constexpr std::size_t kMaxRecordBytes = 4096;
// An environment larger than this is not searched for a token (the kernel's
// own limit for argv + envp is far larger, but such children are rare and
// still caught through their recorded group).
constexpr std::size_t kMaxEnvironmentBytes = 1 << 20;
// A process forking while it is being swept is caught by the next pass;
// killed processes fork no more, so this bounds the passes needed.
constexpr int kSweepPasses = 3;
// A process in the middle of execve shows an empty environment for an
// instant; the second pass, this long after the first, always runs so that
// such a process is read again once its new image is in place.
constexpr auto kSecondPassPause = std::chrono::milliseconds(50);

std::string errno_text(int error) {
  return std::error_code(error, std::generic_category()).message();
}

// glibc 2.36's <sys/pidfd.h> lacks extern "C"; these do not link from C++.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int send_signal_through(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

// The whole file, up to `limit` bytes; nullopt when it cannot be opened.
std::optional<std::string> read_file(const std::string& path, std::size_t limit) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  std::array<char, 4096> chunk{};
  while (text.size() < limit) {
    const ssize_t got = ::read(fd.get(), chunk.data(), chunk.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return std::nullopt;
    if (got == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(got));
  }
  return text;
}

bool write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t wrote = ::write(fd, text.data(), text.size());
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) return false;
    text.remove_prefix(static_cast<std::size_t>(wrote));
  }
  return true;
}

std::string current_boot_id() {
  auto text = read_file("/proc/sys/kernel/random/boot_id", 128);
  if (!text) return "unknown";
  while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
  return *text;
}

template <class Number>
std::optional<Number> parse_number(std::string_view text) {
  Number value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Splits on single spaces; empty fields are kept (and then refused by the parsers).
std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    const std::size_t space = line.find(' ', start);
    fields.push_back(line.substr(start, space - start));
    if (space == std::string_view::npos) return fields;
    start = space + 1;
  }
}

bool is_token(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string token_assignment(std::string_view token) {
  return std::string(kTokenVariable) + "=" + std::string(token);
}

// A process found to be a leftover, held by a pidfd taken after its
// identity was checked, so the kill cannot reach a recycled pid.
struct Target {
  LeftoverProcess process;
  UniqueFd pidfd;
};

}  // namespace

std::string encode_record_head(const ProcessRecord& record) {
  return std::string(kRecordVersion) + " " + record.boot_id + " " + record.token + " " +
         record.child_id + "\n";
}

std::string encode_record_spawned(const ProcessRecord& record) {
  return std::to_string(record.pgid) + " " + std::to_string(record.start_ticks) + "\n";
}

std::optional<ProcessRecord> decode_record(std::string_view text) {
  const std::size_t head_end = text.find('\n');
  if (head_end == std::string_view::npos) return std::nullopt;
  const auto head = split_fields(text.substr(0, head_end));
  if (head.size() != 4 || head[0] != kRecordVersion || head[1].empty() || !is_token(head[2]) ||
      head[3].empty()) {
    return std::nullopt;
  }
  ProcessRecord record{std::string(head[1]), std::string(head[2]), std::string(head[3]), 0, 0};
  const std::string_view rest = text.substr(head_end + 1);
  const std::size_t spawned_end = rest.find('\n');
  if (spawned_end == std::string_view::npos) return record;  // no pid yet, or cut short
  const auto spawned = split_fields(rest.substr(0, spawned_end));
  if (spawned.size() != 2) return record;
  const auto pgid = parse_number<pid_t>(spawned[0]);
  const auto start = parse_number<std::uint64_t>(spawned[1]);
  if (pgid && start && *pgid > 0) {
    record.pgid = *pgid;
    record.start_ticks = *start;
  }
  return record;
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime stime cutime cstime priority nice threads itrealvalue
  // starttime ..."; comm may hold anything, ')' included, so fields are
  // counted from the last ')'.
  const std::size_t comm_end = text.rfind(')');
  if (comm_end == std::string_view::npos || comm_end + 2 > text.size()) return std::nullopt;
  const auto fields = split_fields(text.substr(comm_end + 2));
  constexpr std::size_t kState = 0, kPgrp = 2, kStartTime = 19;
  if (fields.size() <= kStartTime || fields[kState].size() != 1) return std::nullopt;
  const auto pgid = parse_number<pid_t>(fields[kPgrp]);
  const auto start = parse_number<std::uint64_t>(fields[kStartTime]);
  if (!pgid || !start) return std::nullopt;
  return ProcStat{fields[kState][0], *pgid, *start};
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::nullopt;
  return parse_proc_stat(*text);
}

bool environment_contains(std::string_view environment, std::string_view assignment) {
  std::size_t start = 0;
  while (start < environment.size()) {
    std::size_t end = environment.find('\0', start);
    if (end == std::string_view::npos) end = environment.size();
    if (environment.substr(start, end - start) == assignment) return true;
    start = end + 1;
  }
  return false;
}

ProcessRecords::ProcessRecords(std::string directory, std::string boot_id)
    : directory_(std::move(directory)), boot_id_(std::move(boot_id)) {}

sup::Expected<ProcessRecords> ProcessRecords::open(std::string directory) {
  if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
    return sup::make_error(sup::ErrorCode::IoError,
                           "cannot create " + directory + ": " + errno_text(errno));
  }
  return ProcessRecords(std::move(directory), current_boot_id());
}

std::string ProcessRecords::path_of(std::string_view token) const {
  return directory_ + "/" + std::string(token);
}

sup::Expected<std::string> ProcessRecords::begin(const std::string& child_id) {
  std::array<unsigned char, 16> random{};
  if (::getrandom(random.data(), random.size(), 0) != static_cast<ssize_t>(random.size())) {
    return sup::make_error(sup::ErrorCode::IoError, "getrandom: " + errno_text(errno));
  }
  std::string token;
  for (unsigned char byte : random) {
    constexpr char kHex[] = "0123456789abcdef";
    token += kHex[byte >> 4];
    token += kHex[byte & 15];
  }
  const std::string path = path_of(token);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd || !write_all(fd.get(), encode_record_head({boot_id_, token, child_id, 0, 0}))) {
    const int error = errno;
    if (fd) ::unlink(path.c_str());
    return sup::make_error(sup::ErrorCode::IoError,
                           "cannot write " + path + ": " + errno_text(error));
  }
  return token;
}

void ProcessRecords::complete(const std::string& token, pid_t pid) {
  // The leader is ours and unreaped: its stat is there to read.
  const auto stat = read_proc_stat(pid);
  if (!stat) return;
  UniqueFd fd(::open(path_of(token).c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (fd) write_all(fd.get(), encode_record_spawned({{}, {}, {}, pid, stat->start_ticks}));
}

void ProcessRecords::forget(const std::string& token) {
  ::unlink(path_of(token).c_str());
}

SweepResult ProcessRecords::sweep_leftovers(std::chrono::milliseconds wait) {
  SweepResult result;
  std::vector<std::string> record_paths;
  std::map<std::string, std::string> child_by_assignment;  // "SUP_PROCESS_TOKEN=..." -> child id
  std::map<pid_t, std::string> child_by_group;             // groups whose recorded leader lives
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory_, ec)) {
    const std::string path = entry.path().string();
    record_paths.push_back(path);
    const auto text = read_file(path, kMaxRecordBytes);
    const auto record = text ? decode_record(*text) : std::nullopt;
    if (!record || record->boot_id != boot_id_) {
      ++result.stale_records;
      continue;
    }
    child_by_assignment.emplace(token_assignment(record->token), record->child_id);
    if (record->pgid == 0) continue;
    // Alive and the same process: its group is the recorded one.
    const auto leader = read_proc_stat(record->pgid);
    if (leader && leader->start_ticks == record->start_ticks && leader->state != 'Z') {
      child_by_group.emplace(record->pgid, record->child_id);
    }
  }

  const pid_t self = ::getpid();
  std::vector<Target> targets;
  std::set<pid_t> targeted;
  for (int pass = 0; pass < kSweepPasses && !child_by_assignment.empty(); ++pass) {
    if (pass == 1) std::this_thread::sleep_for(kSecondPassPause);
    std::size_t found = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const auto pid = parse_number<pid_t>(entry.path().filename().string());
      if (!pid || *pid == self || targeted.contains(*pid)) continue;
      const auto stat = read_proc_stat(*pid);
      if (!stat || stat->state == 'Z') continue;  // gone, or dead already
      std::string child_id;
      if (auto group = child_by_group.find(stat->pgid); group != child_by_group.end()) {
        child_id = group->second;
      } else if (auto environment = read_file("/proc/" + std::to_string(*pid) + "/environ",
                                              kMaxEnvironmentBytes)) {
        for (const auto& [assignment, id] : child_by_assignment) {
          if (environment_contains(*environment, assignment)) child_id = id;
        }
      }
      if (child_id.empty()) continue;
      UniqueFd pidfd(open_pidfd(*pid));
      // Checked again through the pidfd's lifetime: still the process scanned.
      const auto again = read_proc_stat(*pid);
      if (!pidfd || !again || again->start_ticks != stat->start_ticks) continue;
      if (send_signal_through(pidfd.get(), SIGKILL) != 0) continue;
      targeted.insert(*pid);
      targets.push_back({{child_id, *pid}, std::move(pidfd)});
      ++found;
    }
    if (found == 0 && pass > 0) break;
  }

  const std::int64_t deadline = sup::mono_now_ms() + wait.count();
  for (Target& target : targets) {
    pollfd exited{target.pidfd.get(), POLLIN, 0};
    int ready = 0;
    do {
      const std::int64_t remaining = std::max<std::int64_t>(0, deadline - sup::mono_now_ms());
      ready = ::poll(&exited, 1, static_cast<int>(remaining));
    } while (ready < 0 && errno == EINTR);
    (ready > 0 ? result.killed : result.still_alive).push_back(std::move(target.process));
  }
  // Kept while something survived, so the next start tries again.
  if (result.still_alive.empty()) {
    for (const std::string& path : record_paths) ::unlink(path.c_str());
  }
  return result;
}

}  // namespace sup::process
