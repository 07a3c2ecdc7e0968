// Integration-test harness: runs the real `supervisor` binary on a private
// socket and state dir (a fresh temporary directory per test), with its
// JSON log lines captured and parsed, and drives it through its socket
// (SocketClient) and through the real `supctl` (run_supctl).
//
// Waits are generous and scaled (sanitizer builds, a loaded 2-core
// machine): every wait polls a condition until a deadline, never sleeps
// and hopes.
//
//   sup::it::TempDir dir;
//   sup::it::Json config = sup::it::base_config(dir);
//   config["children"].push_back(sup::it::drill_child("crasher", "crash_after", 100));
//   auto daemon = sup::it::Daemon::start(dir, config);
//   REQUIRE_MESSAGE(daemon, daemon.error().describe());
//   REQUIRE((*daemon)->wait_until_serving());
//   auto state = (*daemon)->result_of("state");
//   auto run = (*daemon)->supctl({"--json", "health"});
//   CHECK_MESSAGE(run.code() == 0, run.describe());
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "socket_client.hpp"
#include "subprocess.hpp"
#include "sup/error.hpp"

namespace sup::it {

using std::chrono::milliseconds;

// How much slower than nominal this build runs: $SUP_IT_TIME_SCALE, else
// the build's default (3 under sanitizers, 1 otherwise).
double time_scale();
// A nominal wait multiplied by time_scale().
milliseconds scaled(milliseconds nominal);
// Polls `condition` every `interval` until it holds (true) or `timeout` passes (false).
bool eventually(const std::function<bool()>& condition, milliseconds timeout,
                milliseconds interval = milliseconds(20));

// The daemon's audit log (STATE_DIR/audit.log), polled until it holds every
// one of `needles` or `timeout` passes; its text either way. The audit
// writer is a thread of its own that writes in batches, so a command's
// answer can come before its audit line is on disk.
std::string wait_for_audit(const std::string& state_dir, const std::vector<std::string>& needles,
                           milliseconds timeout = scaled(milliseconds(10'000)));

// The binaries under test, from CMake ($<TARGET_FILE:...>).
const std::string& supervisor_binary();
const std::string& supctl_binary();
// Empty when the example is not part of the build.
const std::string& quickstart_binary();

// A fresh directory (mkdtemp) removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// One line of the daemon's stderr. With LOG_FORMAT=json a record is an
// object {"ts","level","msg",FIELD...}; other lines (backtrace frames,
// config errors) have a null `record`.
struct LogLine {
  std::string raw;
  Json record;

  bool is_record() const { return record.is_object(); }
  // A string field of the record ("msg", "CHILD_ID", ...); "" when absent.
  std::string get(std::string_view key) const;
};
LogLine parse_log_line(const std::string& raw);

// A config for one test: JSON logs, the socket and state dir inside `dir`,
// a fixed jitter seed, a short shutdown bound, no children (the relay is
// added by the daemon).
Json base_config(const TempDir& dir);
std::string socket_path_in(const TempDir& dir);
Json drill_child(const std::string& id, const std::string& drill_kind, unsigned ms = 1000);
Json process_child(const std::string& id, const std::string& shell_command);

struct DaemonOptions {
  std::map<std::string, std::string> env;  // e.g. NOTIFY_SOCKET
};

class Daemon {
 public:
  // Writes `config` to <dir>/config.json and starts `supervisor --config`
  // with LOG_FORMAT=json (systemd and log variables of the test's own
  // environment are unset unless given in `options`).
  static Expected<std::unique_ptr<Daemon>> start(const TempDir& dir, const Json& config,
                                                 const DaemonOptions& options = {});

  pid_t pid() const { return process_->pid(); }
  Subprocess& process() { return *process_; }
  const std::string& socket_path() const { return socket_path_; }

  // The API port the daemon bound (its `http listening` line: the test
  // configs listen on port 0); 0 when that line did not come in time.
  std::uint16_t http_port(milliseconds timeout = scaled(milliseconds(20'000))) const;
  // Until `health` answers with status ready or degraded.
  bool wait_until_serving(milliseconds timeout = scaled(milliseconds(20'000)));

  std::vector<LogLine> log_lines() const;
  std::optional<LogLine> wait_for_log(const std::function<bool(const LogLine&)>& predicate,
                                      milliseconds timeout, std::size_t from = 0) const;
  // The whole stderr, for failure messages.
  std::string log_text() const { return process_->text(Stream::Err); }

  // One request on a fresh connection: the full response, or nullopt when
  // none came in time.
  std::optional<Json> call(std::string_view method, const Json& params = Json::object(),
                           milliseconds timeout = scaled(milliseconds(5000))) const;
  // The `result` of a successful response, else nullopt.
  std::optional<Json> result_of(std::string_view method, const Json& params = Json::object()) const;
  // command.<name> on `target` with fresh command params (confirmed) plus `extra`.
  std::optional<Json> command(std::string_view name, const std::string& target,
                              const Json& extra = Json::object()) const;

  // supctl --socket <ours> <args...>
  RunResult supctl(const std::vector<std::string>& args,
                   milliseconds timeout = scaled(milliseconds(20'000))) const;

 private:
  Daemon(std::unique_ptr<Subprocess> process, std::string socket_path);

  std::unique_ptr<Subprocess> process_;
  std::string socket_path_;
};

// Starts the daemon on `config` and waits for it to end (for configs it
// must refuse): how it ended and what it printed; timed_out (and killed)
// when it kept running.
RunResult run_daemon_to_exit(const TempDir& dir, const Json& config,
                             milliseconds timeout = scaled(milliseconds(20'000)));

// supctl --socket `socket` <args...>, stdin from /dev/null.
RunResult run_supctl(const std::string& socket, const std::vector<std::string>& args,
                     milliseconds timeout = scaled(milliseconds(20'000)));

// The lines of `text` that are JSON, parsed (supctl --json output, replies).
std::vector<Json> json_lines(const std::string& text);

// The child_runtime_record with `id` in a state result, if present.
std::optional<Json> find_child(const Json& state_result, std::string_view id);
// The record of `id`, polled until `predicate` holds; the last record seen
// either way (nullopt when the child never appeared).
std::optional<Json> wait_for_child(const Daemon& daemon, std::string_view id,
                                   const std::function<bool(const Json&)>& predicate,
                                   milliseconds timeout);
// Health polled until `predicate` holds; the last health seen either way.
std::optional<Json> wait_for_health(const Daemon& daemon,
                                    const std::function<bool(const Json&)>& predicate,
                                    milliseconds timeout);

// An events.subscribe stream on a connection of its own; every event read
// is kept, in order.
class EventStream {
 public:
  using EventPredicate = std::function<bool(const Json&)>;

  // Subscribes with `after_sequence` (replayed events first), or without
  // one (new events only).
  static Expected<EventStream> open(const std::string& socket,
                                    std::optional<std::uint64_t> after_sequence,
                                    Clock::time_point deadline);

  // Reads until an event satisfying `predicate` arrives; nullopt at the
  // deadline or when the connection closed (closed() says which).
  std::optional<Json> wait_for(const EventPredicate& predicate, Clock::time_point deadline);
  // An event satisfying `predicate` among those read so far.
  std::optional<Json> seen(const EventPredicate& predicate) const;
  const std::vector<Json>& events() const { return events_; }
  // The subscription's last_sequence (the newest event when it was made).
  std::uint64_t subscribed_at() const { return subscribed_at_; }
  bool closed() const { return client_.closed(); }
  SocketClient& client() { return client_; }

 private:
  EventStream(SocketClient client, std::uint64_t subscribed_at)
      : client_(std::move(client)), subscribed_at_(subscribed_at) {}

  SocketClient client_;
  std::uint64_t subscribed_at_;
  std::vector<Json> events_;
};

// Predicate: an event of `type` about `child_id` (any child when empty).
EventStream::EventPredicate event_is(std::string type, std::string child_id = {});
// A payload value of an event ("" when absent).
std::string payload_of(const Json& event, std::string_view key);
// A numeric payload value (payload values are strings); 0 when absent.
std::uint64_t payload_number(const Json& event, std::string_view key);

}  // namespace sup::it
