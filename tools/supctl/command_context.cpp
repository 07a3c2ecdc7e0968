#include "supctl/command_context.hpp"

#include <algorithm>
#include <ostream>
#include <thread>

#include "supctl/report_format.hpp"
#include "supctl/wire_view.hpp"

namespace sup::cli {
namespace {

constexpr auto kConnectRetryWindow = std::chrono::milliseconds(1000);
constexpr auto kConnectRetryPause = std::chrono::milliseconds(50);

bool worth_retrying(const Error& error) {
  return error.code == link_error::kNotRunning;  // kStaleSocket is the same code
}

}  // namespace

ExitCode exit_code_for(const Error& link_failure) {
  if (link_failure.code == link_error::kTimeout) return ExitCode::Timeout;
  if (link_failure.code == link_error::kBadResponse) return ExitCode::ProtocolError;
  if (link_failure.code == link_error::kUntrustedServer) return ExitCode::UntrustedServer;
  return ExitCode::Unreachable;
}

Expected<IpcClient> CommandContext::dial(Deadline deadline) const {
  return IpcClient::connect(options_.socket_path, deadline, options_.trust);
}

std::optional<IpcClient> CommandContext::connect() {
  const Deadline deadline = this->deadline();
  const Deadline give_up = std::min(deadline, deadline_in(kConnectRetryWindow));
  for (;;) {
    auto client = dial(deadline);
    if (client) return std::move(*client);
    if (!worth_retrying(client.error()) ||
        std::chrono::steady_clock::now() + kConnectRetryPause >= give_up) {
      report_link_failure(client.error(), "connect");
      return std::nullopt;
    }
    std::this_thread::sleep_for(kConnectRetryPause);
  }
}

std::optional<nlohmann::json> CommandContext::ask(IpcClient& client, std::string_view method,
                                                  const nlohmann::json& params,
                                                  std::string_view result_type) {
  auto reply = client.call(method, params, deadline());
  if (!reply) {
    report_link_failure(reply.error(), method);
    return std::nullopt;
  }
  if (!reply->ok) {
    report_refusal(*reply, method);
    return std::nullopt;
  }
  const std::string type = type_of(reply->body);
  if (!type.empty() && type != result_type) {
    fail(ExitCode::ProtocolError, "the supervisor answered `" + std::string(method) +
                                      "` with a result of type \"" + type + "\" instead of \"" +
                                      std::string(result_type) + "\"");
    return std::nullopt;
  }
  return std::move(reply->body);
}

ExitCode CommandContext::report_link_failure(const Error& error, std::string_view what) {
  const ExitCode code = exit_code_for(error);
  if (error.code == link_error::kTimeout) {
    return fail(code, "the supervisor did not answer within " +
                          std::to_string(options_.timeout.count()) + " ms (" + error.message +
                          ", socket " + options_.socket_path +
                          "): it may be overloaded or stuck; see `journalctl -u supervisor -n 50`"
                          ", or raise --timeout");
  }
  if (error.code == link_error::kDisconnected && what != "connect")
    return fail(code, "the connection to the supervisor dropped before it answered `" +
                          std::string(what) + "`: " + error.message);
  return fail(code, error.message);
}

ExitCode CommandContext::report_refusal(const Message& response, std::string_view method) {
  if (options_.json) print_json({{"ok", false}, {"error", response.body}});
  return fail(ExitCode::ProtocolError,
              daemon_error_text(method, parse_daemon_error(response.body)));
}

ExitCode CommandContext::fail(ExitCode code, std::string_view message) {
  io_.err << "supctl: " << message << std::endl;
  failure_ = code;
  return code;
}

void CommandContext::print(std::string_view line) {
  io_.out << line << '\n';
}

void CommandContext::print_json(const nlohmann::json& value) {
  io_.out << to_line(value) << std::endl;
}

void CommandContext::note(std::string_view line) {
  io_.err << "supctl: " << line << std::endl;
}

}  // namespace sup::cli
