#include "supctl/stream_commands.hpp"

#include <deque>
#include <functional>
#include <thread>

#include "supctl/reconnect_backoff.hpp"
#include "supctl/report_format.hpp"
#include "supctl/sequence_tracker.hpp"

namespace sup::cli {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

// An idle link is probed after this long without a message.
constexpr auto kProbeAfter = std::chrono::seconds(5);

// What a followed stream asks for and does with what it gets.
struct Subscription {
  std::string_view method;
  std::string_view result_type;
  std::function<json()> params;  // rebuilt for every connection
  std::function<void(const json& result)> on_result;
  std::function<void(const json& push)> on_push;
};

// Hands the connection's messages to `subscription` until the link fails;
// returns why it failed.
std::string pump(CommandContext& context, IpcClient& client, const Subscription& subscription) {
  std::optional<std::string> probe_id;
  Deadline probe_deadline;
  Deadline idle_until = steady_clock::now() + kProbeAfter;
  for (;;) {
    auto message = client.receive(probe_id ? probe_deadline : idle_until);
    if (!message) {
      if (message.error().code != link_error::kTimeout) return message.error().message;
      if (probe_id)
        return "no answer to a liveness probe within " +
               std::to_string(context.options().timeout.count()) + " ms";
      auto sent = client.send("health", json::object(), context.deadline());
      if (!sent) return sent.error().message;
      probe_id = *sent;
      probe_deadline = context.deadline();
      continue;
    }
    idle_until = steady_clock::now() + kProbeAfter;
    if (message->kind == Message::Response) {
      if (probe_id && message->request_id == *probe_id) probe_id.reset();
      continue;
    }
    if (type_of(message->body) == "error") {
      const json& error = message->body.contains("error") ? message->body["error"] : message->body;
      context.note(daemon_error_text(subscription.method, parse_daemon_error(error)));
      continue;
    }
    subscription.on_push(message->body);
  }
}

// Subscribes and pumps, reconnecting with backoff whenever the link drops.
// Returns only when the first connection fails or the daemon refuses the
// subscription for good.
ExitCode follow(CommandContext& context, const Subscription& subscription) {
  std::optional<IpcClient> client = context.connect();
  if (!client) return context.failure();
  ReconnectBackoff backoff;
  bool relinking = false;
  for (;;) {
    std::string lost;
    auto reply = client->call(subscription.method, subscription.params(), context.deadline());
    if (!reply) {
      lost = reply.error().message;
    } else if (!reply->ok) {
      const wire::ErrorObject refusal = parse_daemon_error(reply->body);
      if (!refusal.retryable) return context.report_refusal(*reply, subscription.method);
      lost = daemon_error_text(subscription.method, refusal);
    } else {
      if (relinking) context.note("reconnected");
      backoff.reset();
      subscription.on_result(reply->body);
      lost = pump(context, *client, subscription);
    }
    client.reset();
    relinking = true;
    context.note("link lost: " + lost);
    while (!client) {
      const auto delay = backoff.next();
      context.note("reconnecting (attempt " + std::to_string(backoff.attempts()) + ", next in " +
                   std::to_string(delay.count()) + " ms)");
      std::this_thread::sleep_for(delay);
      auto connected = context.dial(context.deadline());
      if (connected) {
        client = std::move(*connected);
      } else if (connected.error().message != lost) {
        lost = connected.error().message;
        context.note(lost);
      }
    }
  }
}

// Prints events in order, marking gaps. Until the replay that follows a
// subscription catches up, only the last `options.last` are kept (unless
// --since asked for all of them).
class EventPrinter {
 public:
  EventPrinter(CommandContext& context, const EventsOptions& options)
      : context_(context), options_(options) {
    if (options.since) tracker_ = SequenceTracker(*options.since);
  }

  std::uint64_t resume_after() const { return tracker_.last().value_or(0); }

  void subscribed(const json& result) {
    const std::uint64_t last = parse_subscription(result).last_sequence;
    if (auto seen = tracker_.last(); seen && last < *seen) {
      emit_note("event sequence went back from #" + std::to_string(*seen) + " to #" +
                std::to_string(last) + ": the supervisor restarted");
      tracker_.rebase(last);
    }
    catch_up_to_ = last;
  }

  void add(const json& event) {
    const auto observation = tracker_.observe(parse_event(event).sequence);
    if (!observation.fresh) return;
    if (observation.gap) keep(gap_line(*observation.gap), nullptr);
    keep({}, &event);
    if (caught_up()) flush();
  }

  bool caught_up() const { return tracker_.last().value_or(0) >= catch_up_to_; }

  void flush() {
    replaying_ = false;
    for (const Line& line : held_) emit(line);
    held_.clear();
    held_events_ = 0;
  }

 private:
  struct Line {
    std::string note;  // empty for an event
    json event;
  };

  void keep(std::string note, const json* event) {
    Line line{std::move(note), event ? *event : json()};
    if (!replaying_ || options_.since) return emit(line);
    held_events_ += line.note.empty();
    held_.push_back(std::move(line));
    // Drops the oldest event, with the note about the gap before it.
    while (held_events_ > options_.last) {
      bool dropped_event = false;
      while (!dropped_event) {
        dropped_event = held_.front().note.empty();
        held_.pop_front();
      }
      --held_events_;
    }
  }

  void emit(const Line& line) {
    if (!line.note.empty()) return emit_note(line.note);
    if (context_.options().json) return context_.print_json(wire::nested(line.event, "event"));
    context_.print(event_line(parse_event(line.event), TimeStyle::Full));
  }

  void emit_note(const std::string& note) {
    if (context_.options().json) return context_.note(note);
    context_.print("-- " + note);
  }

  CommandContext& context_;
  const EventsOptions& options_;
  SequenceTracker tracker_;
  std::uint64_t catch_up_to_ = 0;
  bool replaying_ = true;
  std::deque<Line> held_;
  std::uint64_t held_events_ = 0;
};

}  // namespace

ExitCode show_events(CommandContext& context, const EventsOptions& options) {
  EventPrinter printer(context, options);
  Subscription subscription{"events.subscribe", "subscription",
                            [&] {
                              return json{{"after_sequence", printer.resume_after()}};
                            },
                            [&](const json& result) { printer.subscribed(result); },
                            [&](const json& push) {
                              if (type_of(push) == "event") printer.add(push);
                            }};
  if (options.follow) return follow(context, subscription);

  auto client = context.connect();
  if (!client) return context.failure();
  auto result =
      context.ask(*client, subscription.method, subscription.params(), subscription.result_type);
  if (!result) return context.failure();
  printer.subscribed(*result);
  while (!printer.caught_up()) {
    auto message = client->receive(context.deadline());
    if (!message) return context.report_link_failure(message.error(), subscription.method);
    if (message->kind == Message::Push) subscription.on_push(message->body);
  }
  printer.flush();
  return ExitCode::Ok;
}

ExitCode show_logs(CommandContext& context, const LogsOptions& options) {
  // Records already shown are skipped when a reconnection replays them.
  std::optional<std::uint64_t> last_shown;
  auto print_record = [&](const json& record) {
    const wire::LogRecord view = wire::read_log(record);
    if (view.sequence && last_shown && *view.sequence <= *last_shown) return;
    if (view.sequence) last_shown = view.sequence;
    if (context.options().json) return context.print_json(record);
    context.print(log_line(view));
  };
  auto params = [&] {
    json params = {{"lines", options.lines}, {"follow", options.follow}};
    if (!options.child.empty()) params["child_id"] = options.child;
    return params;
  };
  auto print_records = [&](const json& result) {
    if (auto records = result.find("records"); records != result.end() && records->is_array())
      for (const json& record : *records) print_record(record);
  };
  if (options.follow)
    return follow(context,
                  {"logs.tail", "subscription", params, print_records, [&](const json& push) {
                     if (type_of(push) == "log") print_record(wire::nested(push, "log"));
                   }});

  auto client = context.connect();
  if (!client) return context.failure();
  auto result = context.ask(*client, "logs.tail", params(), "subscription");
  if (!result) return context.failure();
  print_records(*result);
  return ExitCode::Ok;
}

}  // namespace sup::cli
