#include "supctl/dashboard_app.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <ostream>

#include "common/clock.hpp"
#include "supctl/dashboard_model.hpp"
#include "supctl/dashboard_render.hpp"
#include "supctl/reconnect_backoff.hpp"
#include "supctl/report_format.hpp"
#include "supctl/terminal.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kMinFrameInterval{100};   // at most 10 frames a second
constexpr milliseconds kTick{1000};              // ages on screen, state and health refresh
constexpr milliseconds kEventRefreshDelay{200};  // coalesces refreshes after bursts of events
constexpr int kMaxMessagesPerWake = 256;         // keeps keys and frames responsive under floods

constexpr ScreenSize kDefaultScreen{80, 24};

class LiveDashboard {
 public:
  LiveDashboard(CommandContext& context, TerminalSession& terminal, SignalPipe& signals)
      : context_(context),
        terminal_(terminal),
        signals_(signals),
        model_(context.options().socket_path) {}

  ExitCode run() {
    while (!quit_) {
      const auto now = Clock::now();
      if (!client_ && now >= next_attempt_) {
        // The drop is on screen before the next attempt, however soon it
        // comes: an operator must see that the link went down.
        if (dirty_) draw();
        connect();
      }
      if (client_) {
        refresh_if_due(now);
        drop_if_overdue(now);
      }
      if (frame_due(now)) draw();
      if (quit_) break;
      wait_and_dispatch();
    }
    return ExitCode::Ok;
  }

 private:
  enum class Asked : unsigned char { Hello, State, Health, Subscription, Executions };
  struct InFlight {
    Asked what;
    std::string method;
    Clock::time_point due;
  };

  void connect() {
    auto client = context_.dial(context_.deadline());
    if (!client) return drop_link(client.error().message);
    client_ = std::move(*client);
    last_refusal_.clear();
    model_.link_up();
    dirty_ = true;
    ask(Asked::Hello, "hello", json::object());
    ask(Asked::Subscription, "events.subscribe", {{"after_sequence", model_.resume_after()}});
    refresh(Clock::now());
  }

  void drop_link(std::string why) {
    client_.reset();
    in_flight_.clear();
    const milliseconds delay = backoff_.next();
    next_attempt_ = Clock::now() + delay;
    model_.link_down(std::move(why), backoff_.attempts(), delay);
    dirty_ = true;
  }

  void ask(Asked what, std::string_view method, const json& params) {
    if (!client_) return;
    auto request_id = client_->send(method, params, context_.deadline());
    if (!request_id) return drop_link(request_id.error().message);
    in_flight_[*request_id] = {what, std::string(method), context_.deadline()};
  }

  bool asked(Asked what) const {
    return std::any_of(in_flight_.begin(), in_flight_.end(),
                       [what](const auto& entry) { return entry.second.what == what; });
  }

  void refresh(Clock::time_point now) {
    last_refresh_ = now;
    refresh_wanted_ = false;
    ask(Asked::State, "state", json::object());
    ask(Asked::Health, "health", json::object());
    if (executions_served_ && !asked(Asked::Executions))
      ask(Asked::Executions, "executions.list", json::object());
  }

  Clock::time_point refresh_due() const {
    return last_refresh_ + (refresh_wanted_ ? kEventRefreshDelay : kTick);
  }

  void refresh_if_due(Clock::time_point now) {
    if (!asked(Asked::State) && !asked(Asked::Health) && now >= refresh_due()) refresh(now);
  }

  void drop_if_overdue(Clock::time_point now) {
    auto overdue = std::find_if(in_flight_.begin(), in_flight_.end(),
                                [now](const auto& entry) { return now >= entry.second.due; });
    if (overdue == in_flight_.end()) return;
    drop_link("the supervisor did not answer `" + overdue->second.method + "` within " +
              std::to_string(context_.options().timeout.count()) + " ms");
  }

  Clock::time_point next_frame() const { return last_draw_ + (dirty_ ? kMinFrameInterval : kTick); }
  bool frame_due(Clock::time_point now) const { return now >= next_frame(); }

  void draw() {
    const ScreenSize size = terminal_.size();
    const auto frame = render_dashboard(model_, size, unix_now_ms());
    if (!terminal_.write(encode_frame(frame, size.rows))) quit_ = true;
    last_draw_ = Clock::now();
    dirty_ = false;
  }

  Clock::time_point wake_time() const {
    if (more_buffered_) return Clock::now();
    Clock::time_point wake = next_frame();
    if (!client_) return std::min(wake, next_attempt_);
    if (!asked(Asked::State) && !asked(Asked::Health)) wake = std::min(wake, refresh_due());
    for (const auto& [id, request] : in_flight_) wake = std::min(wake, request.due);
    return wake;
  }

  void wait_and_dispatch() {
    pollfd fds[3] = {{signals_.fd(), POLLIN, 0},
                     {terminal_.key_fd(), POLLIN, 0},
                     {client_ ? client_->fd() : -1, POLLIN, 0}};
    const auto wait = std::chrono::ceil<milliseconds>(wake_time() - Clock::now()).count();
    const int timeout = static_cast<int>(std::clamp<long long>(wait, 0, kTick.count()));
    if (::poll(fds, 3, timeout) < 0 && errno != EINTR) {
      quit_ = true;
      return;
    }
    if (fds[0].revents != 0) handle_signals();
    if (fds[1].revents != 0) handle_keys();
    if (client_ && (fds[2].revents != 0 || more_buffered_)) drain_socket();
  }

  void handle_signals() {
    for (int signal_number : signals_.take()) {
      if (signal_number == SIGWINCH) {
        dirty_ = true;
      } else {
        quit_ = true;
      }
    }
  }

  void handle_keys() {
    for (char key : terminal_.read_keys()) {
      if (key == 'q' || key == 'Q') quit_ = true;
      if (key == 'r' || key == 'R') {
        next_attempt_ = Clock::now();
        refresh_wanted_ = true;
        last_refresh_ = {};
      }
    }
  }

  void drain_socket() {
    more_buffered_ = false;
    for (int taken = 0; client_; ++taken) {
      if (taken == kMaxMessagesPerWake) {
        more_buffered_ = true;
        return;
      }
      auto message = client_->receive(Deadline{});
      if (!message) {
        if (message.error().code != link_error::kTimeout) drop_link(message.error().message);
        return;
      }
      handle(*message);
    }
  }

  void handle(const Message& message) {
    if (message.kind == Message::Push) return handle_push(message.body);
    auto request = in_flight_.find(message.request_id);
    if (request == in_flight_.end()) {
      if (!message.ok) note_refusal("a request", message.body);
      return;  // a late answer to a request of a dropped link
    }
    const InFlight answered = std::move(request->second);
    in_flight_.erase(request);
    if (!message.ok) {
      // A refused subscription leaves nothing live to show: start over.
      if (answered.what == Asked::Subscription)
        return drop_link(daemon_error_text(answered.method, parse_daemon_error(message.body)));
      // A daemon without executions: no pane, and no note about it.
      if (answered.what == Asked::Executions) {
        executions_served_ = false;
        return;
      }
      if (answered.what != Asked::Hello) note_refusal(answered.method, message.body);
      return;
    }
    dirty_ = true;
    switch (answered.what) {
      case Asked::Hello:
        model_.set_hello(message.body);
        break;
      case Asked::State:
        model_.set_state(message.body, unix_now_ms());
        break;
      case Asked::Health:
        model_.set_health(message.body);
        break;
      case Asked::Executions:
        model_.set_executions(message.body);
        break;
      case Asked::Subscription:
        model_.subscribed(parse_subscription(message.body).last_sequence, unix_now_ms());
        backoff_.reset();
        break;
    }
  }

  void handle_push(const json& push) {
    const std::string type = type_of(push);
    if (type == "event" && model_.add_event(push)) {
      refresh_wanted_ = true;
      dirty_ = true;
    } else if (type == "error") {
      note_refusal("the event stream", push.contains("error") ? push["error"] : push);
    }
  }

  // A refusal repeated by every refresh (say, a daemon without `health`)
  // is noted once, not once a second.
  void note_refusal(std::string_view what, const json& error) {
    std::string text = daemon_error_text(what, parse_daemon_error(error));
    if (text == last_refusal_) return;
    last_refusal_ = text;
    model_.add_note(std::move(text), unix_now_ms());
    dirty_ = true;
  }

  CommandContext& context_;
  TerminalSession& terminal_;
  SignalPipe& signals_;
  DashboardModel model_;
  std::optional<IpcClient> client_;
  ReconnectBackoff backoff_;
  Clock::time_point next_attempt_{};
  std::map<std::string, InFlight> in_flight_;
  bool refresh_wanted_ = false;
  bool executions_served_ = true;
  Clock::time_point last_refresh_{};
  bool dirty_ = true;
  bool more_buffered_ = false;
  Clock::time_point last_draw_{};
  bool quit_ = false;
  std::string last_refusal_;
};

// One frame from a fresh connection: the state, health and the events the
// daemon still holds.
ExitCode print_once(CommandContext& context) {
  auto client = context.connect();
  if (!client) return context.failure();
  DashboardModel model(context.options().socket_path);
  model.link_up();
  if (auto hello = client->call("hello", json::object(), context.deadline()); hello && hello->ok)
    model.set_hello(hello->body);
  auto state = context.ask(*client, "state", json::object(), "state");
  if (!state) return context.failure();
  model.set_state(*state, unix_now_ms());
  auto health = context.ask(*client, "health", json::object(), "health");
  if (!health) return context.failure();
  model.set_health(*health);
  // A daemon without executions has no pane.
  if (auto executions = client->call("executions.list", json::object(), context.deadline());
      executions && executions->ok)
    model.set_executions(executions->body);
  auto subscription =
      context.ask(*client, "events.subscribe", {{"after_sequence", 0}}, "subscription");
  if (!subscription) return context.failure();
  const std::uint64_t newest = parse_subscription(*subscription).last_sequence;
  while (model.last_sequence().value_or(0) < newest) {
    auto message = client->receive(context.deadline());
    if (!message) return context.report_link_failure(message.error(), "events.subscribe");
    if (message->kind == Message::Push && type_of(message->body) == "event")
      model.add_event(message->body);
  }
  const ScreenSize size{context.io().out_columns.value_or(kDefaultScreen.columns),
                        context.io().out_rows.value_or(kDefaultScreen.rows)};
  context.io().out << plain_frame(render_dashboard(model, size, unix_now_ms())) << std::flush;
  return ExitCode::Ok;
}

}  // namespace

ExitCode run_dashboard(CommandContext& context, bool once) {
  if (context.options().json)
    return context.fail(ExitCode::Usage,
                        "--json does not apply to the dashboard: `supctl state --json` and "
                        "`supctl events --follow --json` give the same data to scripts");
  if (once) return print_once(context);
  context.io().out << std::flush;
  auto signals = SignalPipe::install();
  if (!signals) return context.fail(ExitCode::Usage, signals.error().message);
  auto terminal = TerminalSession::open(STDIN_FILENO, STDOUT_FILENO);
  if (!terminal) return context.fail(ExitCode::Usage, terminal.error().message);
  LiveDashboard dashboard(context, **terminal, **signals);
  return dashboard.run();
}

}  // namespace sup::cli
