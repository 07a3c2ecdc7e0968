// sup::log on spdlog: the level filter, the payload that carries the
// fields, the async logger with its bounded queue, and the router sink that
// feeds the subscribers and the outputs on the backend thread.
#include "sup/log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/details/thread_pool.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/log_backend.hpp"

namespace sup {
namespace logging {
namespace {

constexpr std::string_view kLoggerName = "sup";
// Ends every payload of ours; a payload without it is a plain message.
constexpr char kTrailerMagic[4] = {'\x1f', 'S', 'U', 'P'};
constexpr std::size_t kTrailerSize = 2 * sizeof(std::uint32_t) + sizeof kTrailerMagic;
constexpr auto kDropReportInterval = std::chrono::seconds(1);

void put_u32(std::string& out, std::size_t value) {
  auto v = static_cast<std::uint32_t>(value);
  char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);
  out.append(bytes, sizeof v);
}

std::uint32_t get_u32(std::string_view in, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, in.data() + at, sizeof v);
  return v;
}

// Sends records to a LogSink callback (set_log_sink).
class CallbackSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit CallbackSink(LogSink sink) : sink_(std::move(sink)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    DecodedPayload decoded = decode_log_payload({msg.payload.data(), msg.payload.size()});
    sink_(to_log_record(msg, decoded));
  }
  void flush_() override {}

 private:
  LogSink sink_;
};

// The logger's only sink: the subscribers, then the outputs, one record at
// a time on the backend thread (base_sink's mutex serializes it with the
// setters, so unsubscribe waits for a call in progress). It also reports
// drops and counts completed flushes for flush_logs().
class Router final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  Router(std::weak_ptr<spdlog::details::thread_pool> pool, std::function<void()> on_flushed)
      : pool_(std::move(pool)), on_flushed_(std::move(on_flushed)) {}

  void set_outputs(std::vector<spdlog::sink_ptr> outputs) {
    std::lock_guard lock(mutex_);
    outputs_ = std::move(outputs);
  }
  LogSubscriberId subscribe(LogSink subscriber) {
    std::lock_guard lock(mutex_);
    auto id = next_subscriber_id_++;
    subscribers_.emplace_back(id, std::move(subscriber));
    return id;
  }
  void unsubscribe(LogSubscriberId id) {
    std::lock_guard lock(mutex_);
    std::erase_if(subscribers_, [id](const auto& entry) { return entry.first == id; });
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (closed_) return;
    // The drop counter sits behind the queue's lock: read it once a second
    // (by record time), not per record.
    if (msg.time - last_drop_check_ >= kDropReportInterval) {
      last_drop_check_ = msg.time;
      report_drops(msg.time);
    }
    deliver(msg);
  }
  void flush_() override {
    if (!closed_) {
      report_drops(spdlog::log_clock::now());
      for (auto& output : outputs_) output->flush();
    }
    on_flushed_();
  }

 private:
  void report_drops(spdlog::log_clock::time_point at) {
    auto pool = pool_.lock();
    if (!pool) return;
    std::uint64_t dropped = pool->overrun_counter();
    if (dropped <= reported_drops_) return;
    std::string lost = std::to_string(dropped - reported_drops_);
    reported_drops_ = dropped;
    const LogField field{"DROPPED_LOG_MESSAGES", lost};
    std::string payload = encode_log_payload("dropped " + lost + " log messages", {&field, 1});
    deliver(spdlog::details::log_msg(at, spdlog::source_loc{}, kLoggerName, spdlog::level::warn,
                                     payload));
  }
  // Subscribers first: once a line is visible in the output, the log
  // history (logs.tail) has it too.
  void deliver(const spdlog::details::log_msg& msg) {
    if (!subscribers_.empty()) {
      DecodedPayload decoded = decode_log_payload({msg.payload.data(), msg.payload.size()});
      LogRecord record = to_log_record(msg, decoded);
      for (const auto& [id, subscriber] : subscribers_) subscriber(record);
    }
    for (auto& output : outputs_)
      if (output->should_log(msg.level)) output->log(msg);
  }

  std::weak_ptr<spdlog::details::thread_pool> pool_;
  std::function<void()> on_flushed_;
  std::vector<spdlog::sink_ptr> outputs_;
  std::vector<std::pair<LogSubscriberId, LogSink>> subscribers_;
  LogSubscriberId next_subscriber_id_ = 1;
  std::uint64_t reported_drops_ = 0;
  spdlog::log_clock::time_point last_drop_check_{};
  bool closed_ = false;
};

struct Backend {
  std::atomic<LogLevel> level{LogLevel::Info};
  std::atomic<bool> sealed{false};
  std::shared_ptr<spdlog::details::thread_pool> pool;
  std::shared_ptr<Router> router;
  std::shared_ptr<spdlog::async_logger> logger;
  pid_t owner = getpid();

  std::mutex flush_mutex;
  std::condition_variable flushed;
  std::uint64_t flushes_requested = 0;
  std::uint64_t flushes_done = 0;

  Backend() {
    pool = std::make_shared<spdlog::details::thread_pool>(kQueueRecords, 1);
    router = std::make_shared<Router>(pool, [this] {
      std::lock_guard lock(flush_mutex);
      ++flushes_done;
      flushed.notify_all();
    });
    router->set_outputs({stderr_output(LogFormat::Text)});
    // overrun_oldest: a full queue drops its oldest record (counted by the
    // pool) instead of blocking the caller.
    logger = std::make_shared<spdlog::async_logger>(std::string(kLoggerName), router, pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
    logger->set_level(spdlog::level::trace);  // sup::log filters before queueing
  }
};

Backend& backend() {
  // Never destroyed: logging works during exit, from any thread.
  static Backend* instance = [] {
    auto* created = new Backend;
    // What was logged right before exit() (an error, then a return from
    // main) still reaches the outputs. Not in a forked child: the backend
    // thread stayed in the parent.
    std::atexit([] {
      if (getpid() == backend().owner) flush_logs();
    });
    return created;
  }();
  return *instance;
}

}  // namespace

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Trace:
      return spdlog::level::trace;
    case LogLevel::Debug:
      return spdlog::level::debug;
    case LogLevel::Info:
      return spdlog::level::info;
    case LogLevel::Warn:
      return spdlog::level::warn;
    case LogLevel::Error:
      return spdlog::level::err;
    case LogLevel::Critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

LogLevel from_spdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return LogLevel::Trace;
    case spdlog::level::debug:
      return LogLevel::Debug;
    case spdlog::level::warn:
      return LogLevel::Warn;
    case spdlog::level::err:
      return LogLevel::Error;
    case spdlog::level::critical:
      return LogLevel::Critical;
    default:
      return LogLevel::Info;
  }
}

std::string encode_log_payload(std::string_view message, std::span<const LogField> fields) {
  std::size_t size = message.size() + kTrailerSize;
  for (const auto& field : fields)
    size += 2 * sizeof(std::uint32_t) + field.key.size() + field.value.size();
  std::string payload;
  payload.reserve(size);
  payload.append(message);
  for (const auto& field : fields) {
    put_u32(payload, field.key.size());
    payload.append(field.key);
    put_u32(payload, field.value.size());
    payload.append(field.value);
  }
  put_u32(payload, message.size());
  put_u32(payload, fields.size());
  payload.append(kTrailerMagic, sizeof kTrailerMagic);
  return payload;
}

DecodedPayload decode_log_payload(std::string_view payload) {
  DecodedPayload plain{payload, {}};
  if (payload.size() < kTrailerSize) return plain;
  const std::size_t trailer = payload.size() - kTrailerSize;
  if (std::memcmp(payload.data() + payload.size() - sizeof kTrailerMagic, kTrailerMagic,
                  sizeof kTrailerMagic) != 0)
    return plain;
  const std::size_t message_size = get_u32(payload, trailer);
  const std::size_t field_count = get_u32(payload, trailer + sizeof(std::uint32_t));
  if (message_size > trailer) return plain;
  DecodedPayload decoded{payload.substr(0, message_size), {}};
  decoded.fields.reserve(field_count);
  std::size_t at = message_size;
  auto take = [&](std::string_view& out) {
    if (trailer - at < sizeof(std::uint32_t)) return false;
    std::size_t length = get_u32(payload, at);
    at += sizeof(std::uint32_t);
    if (trailer - at < length) return false;
    out = payload.substr(at, length);
    at += length;
    return true;
  };
  for (std::size_t i = 0; i < field_count; ++i) {
    std::string_view key, value;
    if (!take(key) || !take(value)) return plain;
    decoded.fields.push_back({key, std::string(value)});
  }
  return at == trailer ? decoded : plain;
}

LogRecord to_log_record(const spdlog::details::log_msg& msg, const DecodedPayload& decoded) {
  using namespace std::chrono;
  return LogRecord{from_spdlog(msg.level), decoded.message, decoded.fields,
                   duration_cast<nanoseconds>(msg.time.time_since_epoch()).count()};
}

void set_outputs(std::vector<spdlog::sink_ptr> outputs) {
  backend().router->set_outputs(std::move(outputs));
}

void seal() {
  auto& b = backend();
  b.sealed.store(true, std::memory_order_release);
  flush_logs();
  b.router->close();
}

}  // namespace logging

void set_log_sink(LogSink sink) {
  if (sink)
    logging::set_outputs({std::make_shared<logging::CallbackSink>(std::move(sink))});
  else
    logging::set_outputs({logging::stderr_output(logging::LogFormat::Text)});
}

void set_log_level(LogLevel level) {
  logging::backend().level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) {
  return level >= logging::backend().level.load(std::memory_order_relaxed);
}

LogSubscriberId subscribe_logs(LogSink subscriber) {
  return logging::backend().router->subscribe(std::move(subscriber));
}

void unsubscribe_logs(LogSubscriberId id) {
  logging::backend().router->unsubscribe(id);
}

void log(LogLevel level, std::string_view message, std::span<const LogField> fields) {
  auto& b = logging::backend();
  if (level < b.level.load(std::memory_order_relaxed) || b.sealed.load(std::memory_order_acquire))
    return;
  std::string payload = logging::encode_log_payload(message, fields);
  b.logger->log(logging::to_spdlog(level), spdlog::string_view_t(payload.data(), payload.size()));
}

void log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  log(level, message, std::span<const LogField>(fields.begin(), fields.size()));
}

std::uint64_t dropped_log_records() {
  return logging::backend().pool->overrun_counter();
}

bool flush_logs(std::uint32_t timeout_ms) {
  auto& b = logging::backend();
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(b.flush_mutex);
    ticket = ++b.flushes_requested;
  }
  // Flushes complete in queue order and each was queued after its ticket
  // was taken, so the ticket-th completion covers everything logged before
  // this call. Posted outside the lock: with a full queue the post waits
  // for the backend thread, which takes the lock to count a flush.
  b.pool->post_flush(std::shared_ptr<spdlog::async_logger>(b.logger),
                     spdlog::async_overflow_policy::block);
  std::unique_lock lock(b.flush_mutex);
  return b.flushed.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                            [&] { return b.flushes_done >= ticket; });
}

}  // namespace sup
