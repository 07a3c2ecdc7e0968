// What every supctl command shares: the global options, where output goes,
// the exit codes, and the way failures are told to the operator.
//
// A command connects, asks, and prints; when a step fails the context has
// already said why on stderr (and, under --json, put the daemon's error
// object on stdout) and `failure()` is the exit code to return:
//
//   auto client = context.connect();
//   if (!client) return context.failure();
//   auto state = context.ask(*client, "state", nlohmann::json::object(), "state");
//   if (!state) return context.failure();
#pragma once

#include <chrono>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sup/error.hpp"
#include "supctl/ipc_client.hpp"

namespace sup::cli {

// Documented in docs/supctl.md; scripts rely on them.
enum class ExitCode : int {
  Ok = 0,
  NotDone = 1,        // answered NotFound / Rejected, or declined at the prompt
  Usage = 2,          // bad arguments, or a dangerous command without --yes off a terminal
  Unreachable = 3,    // not running, stale socket, permission, link dropped
  ProtocolError = 4,  // the daemon refused the request, or spoke something else
  Timeout = 5,
  UntrustedServer = 6,  // the socket's server is neither root, nor us, nor --trust-uid
};

// Exit code of a link failure (an error with a `link_error` code).
ExitCode exit_code_for(const Error& link_failure);

struct GlobalOptions {
  std::string socket_path;
  ServerTrust trust;
  bool json = false;
  std::chrono::milliseconds timeout{5000};
  std::string requested_by;
  std::string reason;      // empty: "no reason given (supctl <command> <target>)"
  std::string command_id;  // empty: a random one per command
  bool yes = false;
};

struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  bool in_is_terminal = false;
  // Set when stdout is a terminal: tables fit its width.
  std::optional<std::size_t> out_columns;
  std::optional<std::size_t> out_rows;
};

class CommandContext {
 public:
  CommandContext(GlobalOptions options, Io io) : options_(std::move(options)), io_(io) {}

  const GlobalOptions& options() const { return options_; }
  Io& io() { return io_; }
  Deadline deadline() const { return deadline_in(options_.timeout); }

  // One connection attempt to the socket of the options, its server's uid
  // checked (no retry, nothing reported).
  Expected<IpcClient> dial(Deadline deadline) const;
  // Connects, retrying for up to a second while the socket is missing or
  // refuses (the relay restarts in well under that).
  std::optional<IpcClient> connect();
  // The result of `method` (whose type tag must be `result_type` when the
  // daemon sends one).
  std::optional<nlohmann::json> ask(IpcClient& client, std::string_view method,
                                    const nlohmann::json& params, std::string_view result_type);

  // Reports a link failure of `what` ("connect", "state", ...).
  ExitCode report_link_failure(const Error& error, std::string_view what);
  // Reports the daemon's refusal of `method` (an `ok: false` response).
  ExitCode report_refusal(const Message& response, std::string_view method);
  // "supctl: <message>" on stderr; returns and remembers `code`.
  ExitCode fail(ExitCode code, std::string_view message);
  ExitCode failure() const { return failure_; }

  // A line on stdout; `print_json` is one compact JSON object per line.
  void print(std::string_view line);
  void print_json(const nlohmann::json& value);
  // A remark on stderr ("supctl: ..."), for notes that must not mix with
  // --json output.
  void note(std::string_view line);

 private:
  GlobalOptions options_;
  Io io_;
  ExitCode failure_ = ExitCode::Ok;
};

}  // namespace sup::cli
