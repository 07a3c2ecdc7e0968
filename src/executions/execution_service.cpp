#include "executions/execution_service.hpp"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.hpp"
#include "dag/execution_core.hpp"
#include "dag/limits.hpp"
#include "dag/parser.hpp"
#include "dag/record_codec.hpp"
#include "dag/states.hpp"
#include "executions/execution_view.hpp"
#include "executions/maintenance.hpp"
#include "process/process_reactor.hpp"
#include "store/lmdb_store.hpp"
#include "sup/log.hpp"

namespace sup::executions {

namespace {

using dag::NodeIndex;
using Clock = std::chrono::steady_clock;

// The store's seq 1 is the ExecutionSubmitted record (spec and params); the
// core's records follow, so core sequence n is store seq n + 1.
constexpr std::uint64_t kSubmittedRecords = 1;

std::string generate_execution_id(std::mt19937_64& random) {
  std::ostringstream id;
  id << "e-" << std::hex << random();
  return id.str();
}

bool write_file(const std::filesystem::path& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out.flush());
}

// What the node wrote to SUP_OUTPUT: nothing, one JSON value within the
// size limit, or an error saying why the attempt fails.
Expected<std::string> read_node_output(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::string();
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::InvalidArgument, "cannot read " + path.string());
  if (size > dag::kMaxNodeOutputBytes)
    return make_error(ErrorCode::InvalidArgument, "result of " + std::to_string(size) +
                                                      " bytes exceeds " +
                                                      std::to_string(dag::kMaxNodeOutputBytes));
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return std::string();
  auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return make_error(ErrorCode::InvalidArgument, "result is not JSON");
  return value.dump();
}

// "<node>.<attempt>.log" in the execution's directory: stdout lines as
// "O <text>", stderr lines as "E <text>", and "D <count>" when lines over
// kMaxAttemptOutputBytes were not kept.
std::string output_file_name(const std::string& node_id, std::uint32_t attempt) {
  return node_id + "." + std::to_string(attempt) + ".log";
}

}  // namespace

struct ExecutionService::Impl {
  struct Attempt {
    std::string execution_id;
    NodeIndex node = 0;
    std::uint64_t epoch = 0;
    std::filesystem::path output;
    pid_t pid = -1;
    bool timed_out = false;
  };

  struct Execution {
    std::string id;
    std::unique_ptr<dag::DagSpec> spec;
    std::optional<dag::ExecutionCore> core;
    std::filesystem::path dir;
    // Published results of COMPLETED nodes (JSON text), for SUP_INPUTS.
    std::unordered_map<NodeIndex, std::string> results;
    // The store refused a record: no further progress until a restart
    // rebuilds the execution from what was committed.
    bool stalled = false;
    // Appends handed to the store and not yet acknowledged: while any is,
    // the execution is not rebuilt (its records would interleave).
    std::size_t in_flight = 0;
    // control() callers, answered once the record with this core sequence
    // is committed.
    std::vector<std::pair<std::uint64_t, std::function<void(Expected<ControlAck>)>>> waiters;
  };

  // Where one running attempt's output goes (reactor thread, under
  // output_mutex).
  struct OutputFile {
    std::string execution_id;
    std::string node_id;
    std::ofstream out;
    std::size_t bytes = 0;
    std::uint64_t dropped_lines = 0;
  };

  explicit Impl(ExecutionServiceOptions opts) : options(std::move(opts)) {
    free_slots = options.max_parallel_nodes;
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    wake.notify_all();
    if (thread.joinable()) thread.join();
    // Members go in reverse order: the reactor (kills running nodes), then
    // the store (commits what is queued; its callbacks post into `queue`).
  }

  // ---- the service thread's event loop ----
  void post(std::function<void()> event) {
    {
      std::lock_guard lock(mutex);
      if (stopping) return;
      queue.push_back(std::move(event));
    }
    wake.notify_one();
  }

  // Only on the service thread (or before it starts).
  void after(std::chrono::milliseconds delay, std::function<void()> event) {
    timers.emplace(Clock::now() + delay, std::move(event));
  }

  void run() {
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (!queue.empty()) {
        auto event = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        event();
        lock.lock();
        continue;
      }
      if (!timers.empty() && timers.begin()->first <= Clock::now()) {
        auto event = std::move(timers.begin()->second);
        timers.erase(timers.begin());
        lock.unlock();
        event();
        lock.lock();
        continue;
      }
      if (timers.empty()) {
        wake.wait(lock);
      } else {
        wake.wait_until(lock, timers.begin()->first);
      }
    }
  }

  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }

  // ---- carrying out effects ----
  void apply(Execution& e, dag::Effects fx) {
    free_slots += fx.slots_freed;
    free_slots -= std::min(free_slots, fx.slots_taken);
    for (const dag::Record& record : fx.records) {
      nlohmann::ordered_json line =
          record.node ? dag::transition_log(e.id, e.spec->nodes[*record.node].id, record.node_from,
                                            record.node_to, record.reason)
                      : dag::transition_log(e.id, record.execution_from, record.execution_to,
                                            record.reason);
      sup::log(LogLevel::Info, line.dump(), {{"EXECUTION_ID", e.id}});
      if (record.node && record.node_to == dag::NodeState::Completed && !record.result.empty())
        e.results[*record.node] = record.result;
      if (record.node && record.node_to == dag::NodeState::Pending) e.results.erase(*record.node);
    }
    if (!fx.records.empty()) checkpoint(e, fx.records);
    for (const dag::StartAttempt& start : fx.starts) start_attempt(e, start);
    for (const dag::StopAttempt& stop : fx.stops) stop_attempt(e.id, stop.node, stop.epoch);
    for (const dag::RetryTimer& timer : fx.timers) {
      after(std::chrono::milliseconds(timer.delay_ms),
            [this, id = e.id, node = timer.node, epoch = timer.epoch] {
              Execution* target = find(id);
              if (target == nullptr || target->stalled) return;
              apply(*target, target->core->on_retry_timer(node, epoch, free_slots));
            });
    }
    if (fx.slots_freed > 0) offer_slots(e.id);
  }

  // Slots freed by one execution go to the others that wait for some.
  void offer_slots(const std::string& except) {
    for (auto& [id, other] : executions) {
      if (free_slots == 0) return;
      if (id == except || other.stalled || !other.core) continue;
      if (!dag::is_unfinished(other.core->state())) continue;
      dag::Effects fx = other.core->on_slots_available(free_slots);
      if (!fx.records.empty() || fx.slots_taken > 0) apply(other, std::move(fx));
    }
  }

  void checkpoint(Execution& e, const std::vector<dag::Record>& records) {
    if (e.stalled) return;
    store::AppendRequest request;
    request.execution_id = e.id;
    request.records.reserve(records.size());
    for (const dag::Record& record : records) {
      request.records.push_back(
          {record.node ? store::RecordKind::NodeTransition : store::RecordKind::ExecutionTransition,
           dag::encode_record_payload(*e.spec, record)});
    }
    dag::ExecutionState state = e.core->state();
    request.status =
        store::ExecutionStatus{std::string(dag::to_string(state)), !dag::is_unfinished(state)};
    request.expected_first_seq = records.front().sequence + kSubmittedRecords;
    std::uint64_t last = records.back().sequence;
    auto transitions = std::make_shared<std::vector<TransitionEvent>>();
    if (options.on_transition) {
      transitions->reserve(records.size());
      for (const dag::Record& record : records) transitions->push_back(transition_event(e, record));
    }
    Status handed = store->append(
        std::move(request), [this, id = e.id, last, state, transitions, count = records.size(),
                             handed_at = Clock::now()](Expected<store::AppendAck> ack) {
          if (ack && options.on_checkpoint_durable)
            options.on_checkpoint_durable(count, Clock::now() - handed_at);
          post([this, id, last, state, transitions, ack = std::move(ack)] {
            on_committed(id, last, state, *transitions, ack);
          });
        });
    if (!handed) return stall(e, handed.error());
    ++e.in_flight;
  }

  static TransitionEvent transition_event(const Execution& e, const dag::Record& record) {
    if (!record.node)
      return {e.id,
              {},
              std::string(dag::to_string(record.execution_from)),
              std::string(dag::to_string(record.execution_to)),
              0,
              record.reason};
    return {e.id,
            e.spec->nodes[*record.node].id,
            std::string(dag::to_string(record.node_from)),
            std::string(dag::to_string(record.node_to)),
            record.attempt,
            record.reason};
  }

  void on_committed(const std::string& id, std::uint64_t last, dag::ExecutionState state,
                    const std::vector<TransitionEvent>& transitions,
                    const Expected<store::AppendAck>& ack) {
    Execution* e = find(id);
    if (e == nullptr) return;
    if (e->in_flight > 0) --e->in_flight;
    if (e->stalled) return;
    if (!ack) return stall(*e, ack.error());
    for (const TransitionEvent& transition : transitions) options.on_transition(transition);
    if (options.on_state_durable)
      options.on_state_durable(id, dag::to_string(state), !dag::is_unfinished(state));
    answer_waiters(*e, last, state);
    apply(*e, e->core->on_durable(last));
  }

  // control() callers whose transition is now committed.
  void answer_waiters(Execution& e, std::uint64_t committed, dag::ExecutionState now) {
    auto due = std::stable_partition(e.waiters.begin(), e.waiters.end(),
                                     [committed](const auto& w) { return w.first > committed; });
    std::vector<std::function<void(Expected<ControlAck>)>> answers;
    for (auto it = due; it != e.waiters.end(); ++it) answers.push_back(std::move(it->second));
    e.waiters.erase(due, e.waiters.end());
    std::string state(dag::to_string(now));
    for (auto& answer : answers) answer(ControlAck{state, true, {}});
  }

  void stall(Execution& e, const Error& error) {
    for (auto& waiter : e.waiters)
      waiter.second(make_error(ErrorCode::FailedPrecondition,
                               "the execution's records were not committed: " + error.describe()));
    e.waiters.clear();
    e.stalled = true;
    sup::log(LogLevel::Error, "execution stalled: its records were not committed",
             {{"EXECUTION_ID", e.id},
              {"ERROR_CODE", std::string(to_string(error.code))},
              {"ERROR", error.describe()}});
  }

  // ---- node attempts ----
  static std::string attempt_key(const std::string& execution_id, const std::string& node_id,
                                 std::uint32_t attempt) {
    return execution_id + "/" + node_id + "/" + std::to_string(attempt);
  }

  void start_attempt(Execution& e, const dag::StartAttempt& start) {
    const dag::NodeSpec& node = e.spec->nodes[start.node];
    std::string key = attempt_key(e.id, node.id, start.attempt);
    std::string stem = node.id + "." + std::to_string(start.attempt);
    Attempt attempt{e.id, start.node, start.epoch, e.dir / (stem + ".output")};
    if (node.run.kind != dag::Action::Kind::Exec) {
      return attempt_failed(key, std::move(attempt), "in-process tasks are not supported yet");
    }
    std::error_code ec;
    std::filesystem::remove(attempt.output, ec);
    nlohmann::json inputs = nlohmann::json::object();
    for (NodeIndex dep : node.deps) {
      auto result = e.results.find(dep);
      if (result != e.results.end())
        inputs[e.spec->nodes[dep].id] = nlohmann::json::parse(result->second);
    }
    std::filesystem::path inputs_path = e.dir / (stem + ".inputs");
    std::filesystem::path params_path = e.dir / "params.json";
    if (!write_file(inputs_path, inputs.dump()) || !write_file(params_path, e.spec->params.dump()))
      return attempt_failed(key, std::move(attempt),
                            "cannot write the node's files in " + e.dir.string());

    sup::ProcessSpec process;
    process.argv = node.run.argv;
    process.shell = node.run.shell;
    process.cwd = node.run.cwd;
    for (const auto& [name, value] : node.run.env) process.env[name] = value;
    for (const auto& [name, value] : e.spec->params.items()) {
      if (value.is_string()) {
        process.env[std::string(dag::kEnvParamPrefix) + name] = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        process.env[std::string(dag::kEnvParamPrefix) + name] = value.dump();
      }
    }
    process.env[std::string(dag::kEnvExecutionId)] = e.id;
    process.env[std::string(dag::kEnvNodeId)] = node.id;
    process.env[std::string(dag::kEnvAttempt)] = std::to_string(start.attempt);
    process.env[std::string(dag::kEnvIdempotencyKey)] = key;
    process.env[std::string(dag::kEnvOutput)] = attempt.output.string();
    process.env[std::string(dag::kEnvInputs)] = inputs_path.string();
    process.env[std::string(dag::kEnvParams)] = params_path.string();

    open_output(key, e.id, node.id, e.dir / output_file_name(node.id, start.attempt));
    Expected<pid_t> pid = reactor->spawn(key, process);
    if (!pid) {
      close_output(key);
      return attempt_failed(key, std::move(attempt), pid.error().describe());
    }
    attempt.pid = *pid;
    attempts[key] = std::move(attempt);
    if (node.timeout_ms > 0) {
      after(std::chrono::milliseconds(node.timeout_ms), [this, key] {
        auto it = attempts.find(key);
        if (it == attempts.end()) return;
        it->second.timed_out = true;
        terminate(key);
      });
    }
  }

  // ---- captured output: one file per attempt, beside its other files ----
  void open_output(const std::string& key, const std::string& execution_id,
                   const std::string& node_id, const std::filesystem::path& path) {
    std::lock_guard lock(output_mutex);
    OutputFile& file = outputs[key];
    file.execution_id = execution_id;
    file.node_id = node_id;
    file.out.open(path, std::ios::binary | std::ios::trunc);
  }

  // Reactor thread.
  void write_output(const std::string& key, process::OutputStream stream, std::string_view line) {
    std::lock_guard lock(output_mutex);
    auto it = outputs.find(key);
    if (it == outputs.end()) return;
    OutputFile& file = it->second;
    if (file.bytes + line.size() + 3 > kMaxAttemptOutputBytes) {
      ++file.dropped_lines;
      return;
    }
    file.bytes += line.size() + 3;
    file.out << (stream == process::OutputStream::Stdout ? "O " : "E ") << line << '\n';
  }

  // Reactor thread (on_exit comes after all of the process's output).
  void close_output(const std::string& key) {
    std::lock_guard lock(output_mutex);
    auto it = outputs.find(key);
    if (it == outputs.end()) return;
    if (it->second.dropped_lines > 0) it->second.out << "D " << it->second.dropped_lines << '\n';
    outputs.erase(it);
  }

  // Which execution and node an attempt's line belongs to, for its log
  // fields.
  std::pair<std::string, std::string> output_owner(const std::string& key) {
    std::lock_guard lock(output_mutex);
    auto it = outputs.find(key);
    if (it == outputs.end()) return {};
    return {it->second.execution_id, it->second.node_id};
  }

  // The attempt could not start: it ends as a failed attempt (retried as
  // the node's retry policy says), after the current event.
  void attempt_failed(const std::string& key, Attempt attempt, const std::string& why) {
    sup::log(LogLevel::Warn, "node attempt could not start",
             {{"EXECUTION_ID", attempt.execution_id}, {"ATTEMPT", key}, {"ERROR", why}});
    post([this, attempt = std::move(attempt)] {
      Execution* e = find(attempt.execution_id);
      if (e == nullptr || e->stalled) return;
      apply(*e, e->core->on_attempt_exit(attempt.node, attempt.epoch,
                                         {dag::AttemptOutcome::Kind::Exited, 127}, uniform(),
                                         free_slots));
    });
  }

  // SIGTERM to the attempt's process group, SIGKILL after the grace period.
  void terminate(const std::string& key) {
    auto it = attempts.find(key);
    if (it == attempts.end()) return;
    (void)reactor->signal_group(it->second.pid, SIGTERM);
    after(options.stop_grace, [this, key, pid = it->second.pid] {
      auto still = attempts.find(key);
      if (still != attempts.end() && still->second.pid == pid)
        (void)reactor->signal_group(pid, SIGKILL);
    });
  }

  void stop_attempt(const std::string& execution_id, NodeIndex node, std::uint64_t epoch) {
    for (const auto& [key, attempt] : attempts) {
      if (attempt.execution_id == execution_id && attempt.node == node && attempt.epoch == epoch)
        return terminate(key);
    }
  }

  void on_exit(const std::string& key, const process::ProcessExit& exit) {
    auto it = attempts.find(key);
    if (it == attempts.end()) return;
    Attempt attempt = std::move(it->second);
    attempts.erase(it);
    Execution* e = find(attempt.execution_id);
    if (e == nullptr || e->stalled) return;
    dag::AttemptOutcome outcome;
    std::string result;
    if (attempt.timed_out) {
      outcome.kind = dag::AttemptOutcome::Kind::TimedOut;
    } else if (exit.signaled) {
      outcome = {dag::AttemptOutcome::Kind::Signaled, exit.status};
    } else if (exit.status != 0) {
      outcome = {dag::AttemptOutcome::Kind::Exited, exit.status};
    } else {
      Expected<std::string> output = read_node_output(attempt.output);
      if (output) {
        result = std::move(*output);
      } else {
        sup::log(LogLevel::Warn, "node result refused: the attempt fails",
                 {{"EXECUTION_ID", attempt.execution_id},
                  {"ATTEMPT", key},
                  {"ERROR", output.error().message}});
        outcome = {dag::AttemptOutcome::Kind::Exited, 0};
      }
    }
    apply(*e, e->core->on_attempt_exit(attempt.node, attempt.epoch, outcome, uniform(), free_slots,
                                       std::move(result)));
  }

  Execution* find(const std::string& id) {
    auto it = executions.find(id);
    return it == executions.end() ? nullptr : &it->second;
  }

  Execution& add_execution(const std::string& id, std::unique_ptr<dag::DagSpec> spec) {
    Execution& e = executions[id];
    e.id = id;
    e.spec = std::move(spec);
    e.dir = options.state_dir / "executions" / id;
    std::error_code ec;
    std::filesystem::create_directories(e.dir, ec);
    return e;
  }

  // ---- submission and resume ----
  void submit(SubmitRequest request, std::function<void(Expected<SubmitAck>)> done) {
    auto spec = dag::parse_dag(request.spec);
    if (!spec) return done(spec.error());
    std::string id = request.execution_id;
    if (id.empty()) {
      id = generate_execution_id(random);
    } else if (Status valid = store::validate_execution_id(id, "execution_id"); !valid) {
      return done(valid.error());
    }
    if (find(id) != nullptr) return done(SubmitAck{id, true});
    // The submitted spec with the submission's params merged in: what a
    // restarted daemon rebuilds the execution from.
    nlohmann::json document = nlohmann::json::parse(request.spec);
    if (!request.params.is_object())
      return done(make_error(dag::kSpecErrorCode, "params must be an object", "params"));
    if (!document.contains("params")) document["params"] = nlohmann::json::object();
    document["params"].update(request.params);
    std::string submitted = document.dump();
    auto merged = dag::parse_dag(submitted);
    if (!merged) return done(merged.error());

    store::AppendRequest append;
    append.execution_id = id;
    append.records = {{store::RecordKind::ExecutionSubmitted, submitted}};
    append.status =
        store::ExecutionStatus{std::string(dag::to_string(dag::ExecutionState::Pending)), false};
    append.create = true;
    auto shared_spec = std::make_shared<dag::DagSpec>(std::move(merged).value());
    Status handed = store->append(std::move(append), [this, id, shared_spec,
                                                      done](Expected<store::AppendAck> ack) {
      post([this, id, shared_spec, done, ack = std::move(ack)] {
        if (!ack) {
          if (ack.error().code == store::errc::kExecutionExists) return done(SubmitAck{id, true});
          return done(ack.error());
        }
        Execution& e = add_execution(id, std::make_unique<dag::DagSpec>(std::move(*shared_spec)));
        e.core.emplace(*e.spec, id);
        done(SubmitAck{id, false});
        if (maintenance_on()) {
          sup::log(LogLevel::Info, "execution queued: maintenance mode is on",
                   {{"EXECUTION_ID", id}});
          return;
        }
        apply(e, e.core->start(free_slots));
      });
    });
    if (!handed) done(handed.error());
  }

  // ---- operator control ----
  void control(const std::string& id, ControlAction action, const std::string& reason,
               std::function<void(Expected<ControlAck>)> done) {
    Execution* e = find(id);
    if (e == nullptr || !e->core) {
      // Not loaded: unknown, or finished before this daemon started.
      auto summary = store->get_execution(id);
      if (!summary) return done(summary.error());
      return done(ControlAck{summary->status.state, false,
                             "the execution is " + summary->status.state + ": nothing to " +
                                 std::string(to_string(action))});
    }
    if (e->stalled)
      return done(make_error(ErrorCode::FailedPrecondition,
                             "the execution is stalled (its records could not be committed); "
                             "a restart of the daemon resumes it from what was committed"));
    dag::Effects fx;
    switch (action) {
      case ControlAction::Pause:
        fx = e->core->pause(reason);
        break;
      case ControlAction::Resume:
        fx = e->core->resume(free_slots);
        break;
      case ControlAction::Cancel:
        fx = e->core->cancel(reason);
        break;
    }
    std::string state(dag::to_string(e->core->state()));
    if (fx.ignored) return done(ControlAck{state, false, fx.ignored_reason});
    if (fx.records.empty()) return done(ControlAck{state, true, {}});
    e->waiters.emplace_back(fx.records.back().sequence, std::move(done));
    apply(*e, std::move(fx));
  }

  // Rebuilds an execution from its committed records and resumes it (a
  // queued one stays queued while maintenance mode is on).
  Status resume_one(const std::string& id, std::string_view why =
                                               "interrupted by a daemon restart; runs again as the "
                                               "next attempt") {
    auto records = store->read_execution(id);
    if (!records) return records.error();
    if (records->empty() || records->front().kind != store::RecordKind::ExecutionSubmitted)
      return make_error(ErrorCode::DataLoss, "first record is not the submitted spec", id + ":1");
    auto spec = dag::parse_dag(records->front().payload);
    if (!spec) return spec.error();
    Execution& e = add_execution(id, std::make_unique<dag::DagSpec>(std::move(spec).value()));
    std::vector<dag::Record> history;
    history.reserve(records->size() - 1);
    for (std::size_t i = 1; i < records->size(); ++i) {
      const store::Record& stored = (*records)[i];
      auto record =
          dag::decode_record_payload(*e.spec, stored.payload, stored.seq - kSubmittedRecords);
      if (!record) {
        executions.erase(id);
        return make_error(record.error().code, record.error().describe(), stored.id().to_string());
      }
      if (record->node && record->node_to == dag::NodeState::Completed && !record->result.empty())
        e.results[*record->node] = record->result;
      history.push_back(std::move(record).value());
    }
    auto core = dag::ExecutionCore::restore(*e.spec, id, history);
    if (!core) {
      executions.erase(id);
      return core.error();
    }
    e.core.emplace(std::move(core).value());
    if (e.core->state() == dag::ExecutionState::Pending && maintenance_on()) return {};
    apply(e, e.core->resume_after_restart(free_slots, uniform(), why));
    return {};
  }

  // ---- maintenance mode ----
  bool maintenance_on() const {
    std::lock_guard lock(maintenance_mutex);
    return maintenance_mode.enabled;
  }

  void publish_maintenance(MaintenanceMode mode) {
    std::lock_guard lock(maintenance_mutex);
    maintenance_mode = std::move(mode);
  }

  // Reads the committed mode at start. A stored mode that fails its checks
  // is never silently "off": the daemon starts in maintenance mode and says why.
  void load_maintenance() {
    auto stored = store->get_setting(kMaintenanceSetting);
    Expected<MaintenanceMode> mode = MaintenanceMode{};
    if (!stored) {
      mode = stored.error();
    } else if (*stored) {
      mode = decode_maintenance(**stored);
    }
    if (!mode) {
      sup::log(LogLevel::Error, "stored maintenance mode unreadable: starting in maintenance mode",
               {{"ERROR", mode.error().describe()}});
      mode = MaintenanceMode{
          true, "the stored maintenance mode failed its checks: " + mode.error().describe(),
          "supervisor", unix_now_nanos()};
    }
    publish_maintenance(*mode);
  }

  void set_maintenance(MaintenanceChange change,
                       std::function<void(Expected<MaintenanceAck>)> done) {
    if (Status valid = check_maintenance_change(change); !valid) return done(valid.error());
    MaintenanceMode before;
    {
      std::lock_guard lock(maintenance_mutex);
      before = maintenance_mode;
    }
    if (before.enabled == change.enabled) return done(MaintenanceAck{before, false, {}});
    MaintenanceMode after{change.enabled, change.reason, change.requested_by, unix_now_nanos()};
    // On: nothing new starts from now on, even before the commit.
    if (after.enabled) publish_maintenance(after);
    Status handed = store->put_setting(
        std::string(kMaintenanceSetting), encode_maintenance(after),
        [this, before, after, done](Status committed) {
          post([this, before, after, done, committed = std::move(committed)] {
            if (!committed) {
              publish_maintenance(before);
              return done(committed.error());
            }
            publish_maintenance(after);
            sup::log(LogLevel::Info, after.enabled ? "maintenance mode on" : "maintenance mode off",
                     {{"REASON", after.reason}, {"REQUESTED_BY", after.requested_by}});
            MaintenanceAck ack{after, true, {}};
            if (!after.enabled) ack.started = start_queued();
            done(std::move(ack));
          });
        });
    if (!handed) {
      publish_maintenance(before);
      done(handed.error());
    }
  }

  // Maintenance mode went off: the executions it queued start.
  std::vector<std::string> start_queued() {
    std::vector<std::string> started;
    for (auto& [id, e] : executions) {
      if (e.stalled || !e.core || e.core->state() != dag::ExecutionState::Pending) continue;
      dag::Effects fx = e.core->start(free_slots);
      if (fx.ignored) continue;
      started.push_back(id);
      apply(e, std::move(fx));
    }
    return started;
  }

  // ---- resume-all ----
  // Stops what the execution runs and rebuilds it from the store.
  Status rebuild(const std::string& id, std::string_view why) {
    if (Execution* e = find(id)) {
      if (e->in_flight > 0)
        return make_error(ErrorCode::FailedPrecondition,
                          "records of it are being committed right now; try again");
      for (auto it = attempts.begin(); it != attempts.end();) {
        if (it->second.execution_id != id) {
          ++it;
          continue;
        }
        (void)reactor->signal_group(it->second.pid, SIGKILL);
        it = attempts.erase(it);  // its exit is ignored
      }
      if (e->core) {
        for (NodeIndex node = 0; node < e->spec->nodes.size(); ++node)
          if (e->core->node_state(node) == dag::NodeState::Running) ++free_slots;
        free_slots = std::min(free_slots, options.max_parallel_nodes);
      }
      executions.erase(id);
    }
    return resume_one(id, why);
  }

  ResumeAllAck resume_stuck(const std::vector<std::pair<std::string, StuckFinding>>& stuck,
                            const std::string& reason) {
    ResumeAllAck ack;
    for (const auto& [id, finding] : stuck) {
      ResumeOutcome outcome{id, finding.reason, false, {}};
      switch (finding.reason) {
        case StuckReason::Maintenance:
          outcome.detail = "queued until maintenance mode is off (supctl maintenance off)";
          break;
        case StuckReason::BreakerOpen:
        case StuckReason::OwnerProcessDead:
          outcome.detail = "not resumable by resume-all";
          break;
        case StuckReason::QueuedTooLong:
        case StuckReason::RunningWithoutProgress: {
          std::string why = "resume-all: " + (reason.empty() ? finding.detail : reason);
          Status rebuilt = rebuild(id, why);
          outcome.resumed = rebuilt.has_value();
          outcome.detail = rebuilt ? "rebuilt from its committed records; running nodes run again "
                                     "as new attempts"
                                   : rebuilt.error().describe();
          break;
        }
      }
      sup::log(outcome.resumed ? LogLevel::Info : LogLevel::Warn, "resume-all",
               {{"EXECUTION_ID", id},
                {"STUCK_REASON", std::string(to_string(finding.reason))},
                {"DETAIL", outcome.detail}});
      ack.executions.push_back(std::move(outcome));
    }
    return ack;
  }

  // ---- retry --from ----
  void retry(const RetryRequest& request, std::function<void(Expected<RetryAck>)> done) {
    Execution* e = find(request.execution_id);
    if (e == nullptr || !e->core) {
      // Finished before this daemon started (or never resumed): load it.
      auto summary = store->get_execution(request.execution_id);
      if (!summary) return done(summary.error());
      executions.erase(request.execution_id);
      if (Status loaded = resume_one(request.execution_id); !loaded) return done(loaded.error());
      e = find(request.execution_id);
      if (e == nullptr || !e->core)
        return done(make_error(ErrorCode::Internal, "the execution could not be loaded"));
    }
    if (e->stalled)
      return done(make_error(ErrorCode::FailedPrecondition,
                             "the execution is stalled (its records could not be committed); "
                             "resume-all or a restart rebuilds it first"));
    auto node = std::find_if(e->spec->nodes.begin(), e->spec->nodes.end(),
                             [&](const dag::NodeSpec& n) { return n.id == request.from_node; });
    if (node == e->spec->nodes.end())
      return done(make_error(
          ErrorCode::NotFound,
          "execution \"" + e->id + "\" has no node \"" + request.from_node + "\"", "node_id"));
    dag::Effects fx = e->core->retry_from(static_cast<NodeIndex>(node - e->spec->nodes.begin()),
                                          request.reason, free_slots);
    if (fx.ignored) return done(make_error(ErrorCode::FailedPrecondition, fx.ignored_reason));
    std::vector<std::string> reset;
    for (const dag::Record& record : fx.records)
      if (record.node && record.node_to == dag::NodeState::Pending)
        reset.push_back(e->spec->nodes[*record.node].id);
    e->waiters.emplace_back(fx.records.back().sequence, [done, reset](Expected<ControlAck> ack) {
      if (!ack) return done(ack.error());
      done(RetryAck{ack->state, reset});
    });
    apply(*e, std::move(fx));
  }

  Status resume_unfinished() {
    auto list = store->list_executions({.finished = store::ExecutionFilter::Finished::Unfinished});
    if (!list) return list.error();
    for (const store::BadRecord& bad : list->bad) {
      ++report.failed;
      sup::log(LogLevel::Error, "execution not resumed: bad summary",
               {{"EXECUTION_ID", bad.execution_id}, {"ERROR", bad.reason}});
    }
    for (const store::ExecutionSummary& summary : list->executions) {
      Status resumed = resume_one(summary.execution_id);
      if (resumed) {
        ++report.resumed;
      } else {
        ++report.failed;
        sup::log(LogLevel::Error, "execution not resumed",
                 {{"EXECUTION_ID", summary.execution_id}, {"ERROR", resumed.error().describe()}});
      }
    }
    return {};
  }

  ExecutionServiceOptions options;
  std::mt19937_64 random{std::random_device{}()};
  ResumeReport report;
  std::chrono::nanoseconds resume_took{0};

  // Declared before the store and the reactor: their callbacks post here
  // until they are destroyed.
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<std::function<void()>> queue;
  bool stopping = false;

  // Service thread only.
  std::multimap<Clock::time_point, std::function<void()>> timers;
  std::map<std::string, Execution> executions;
  std::unordered_map<std::string, Attempt> attempts;  // by attempt key
  std::uint32_t free_slots = 0;

  // Written on the service thread (and at start), read from any.
  mutable std::mutex maintenance_mutex;
  MaintenanceMode maintenance_mode;

  std::mutex output_mutex;
  std::unordered_map<std::string, OutputFile> outputs;  // by attempt key

  std::unique_ptr<store::LmdbCheckpointStore> store;
  std::unique_ptr<process::ProcessReactor> reactor;
  std::thread thread;
};

ExecutionService::ExecutionService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ExecutionService::~ExecutionService() = default;

Expected<std::unique_ptr<ExecutionService>> ExecutionService::start(
    ExecutionServiceOptions options) {
  if (options.state_dir.empty())
    return make_error(ErrorCode::InvalidArgument, "state_dir is required", "state_dir");
  if (options.max_parallel_nodes == 0)
    return make_error(ErrorCode::InvalidArgument, "must be at least 1",
                      "executions.max_parallel_nodes");
  if (options.store_path.empty()) options.store_path = options.state_dir / "store";
  auto impl = std::make_unique<Impl>(std::move(options));
  Impl* raw = impl.get();

  auto store = store::LmdbCheckpointStore::open({.path = raw->options.store_path,
                                                 .max_bytes = raw->options.store_max_bytes,
                                                 .on_commit = raw->options.on_store_commit});
  if (!store) return store.error();
  raw->store = std::move(store).value();

  // Kills the leftovers of a crashed predecessor's node processes before
  // anything runs again.
  auto reactor = process::ProcessReactor::start(
      {.on_line =
           [raw](const std::string& key, pid_t, process::OutputStream stream,
                 std::string_view line) {
             raw->write_output(key, stream, line);
             auto [execution_id, node_id] = raw->output_owner(key);
             sup::log(LogLevel::Info, line,
                      {{"EXECUTION_ID", execution_id},
                       {"NODE_ID", node_id},
                       {"ATTEMPT", key},
                       {"STREAM", stream == process::OutputStream::Stdout ? "stdout" : "stderr"}});
           },
       .on_dropped =
           [](const std::string& key, pid_t, std::uint64_t lines) {
             sup::log(LogLevel::Warn, "node output dropped",
                      {{"ATTEMPT", key}, {"LINES", std::to_string(lines)}});
           },
       .on_exit =
           [raw](const std::string& key, const process::ProcessExit& exit) {
             raw->close_output(key);
             raw->post([raw, key, exit] { raw->on_exit(key, exit); });
           }},
      {.output_limit = {},
       .record_dir = (raw->options.state_dir / "execution-processes").string()});
  if (!reactor) return reactor.error();
  raw->reactor = std::move(reactor).value();

  raw->load_maintenance();
  // Before the thread runs: every event this posts waits in the queue.
  auto resume_started = Clock::now();
  if (Status resumed = raw->resume_unfinished(); !resumed) return resumed.error();
  raw->resume_took = Clock::now() - resume_started;
  raw->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<ExecutionService>(new ExecutionService(std::move(impl)));
}

void ExecutionService::submit(SubmitRequest request,
                              std::function<void(Expected<SubmitAck>)> done) {
  Impl* impl = impl_.get();
  impl->post([impl, request = std::move(request), done = std::move(done)]() mutable {
    impl->submit(std::move(request), std::move(done));
  });
}

Expected<ExecutionInfo> ExecutionService::get(std::string_view execution_id) const {
  auto summary = impl_->store->get_execution(execution_id);
  if (!summary) return summary.error();
  return ExecutionInfo{summary->execution_id, summary->status.state, summary->status.finished};
}

Expected<ExecutionView> ExecutionService::describe(std::string_view execution_id) const {
  auto records = impl_->store->read_execution(execution_id);
  if (!records) return records.error();
  if (records->empty())
    return make_error(ErrorCode::NotFound, "no execution \"" + std::string(execution_id) + "\"",
                      "execution_id");
  auto view = fold_history(execution_id, *records);
  if (view) view->stuck = assess_stuck(*view, unix_now_nanos(), stuck_policy());
  return view;
}

Expected<std::vector<ExecutionInfo>> ExecutionService::list(const ListFilter& filter) const {
  bool only_stuck = filter.state && *filter.state == kStuckListing;
  store::ExecutionFilter query{.finished = only_stuck ? store::ExecutionFilter::Finished::Unfinished
                                                      : store::ExecutionFilter::Finished::Any,
                               .state = only_stuck ? std::nullopt : filter.state,
                               .limit = only_stuck ? 0 : filter.limit};
  auto listed = impl_->store->list_executions(query);
  if (!listed) return listed.error();
  for (const store::BadRecord& bad : listed->bad)
    sup::log(LogLevel::Error, "execution summary refused: not listed",
             {{"EXECUTION_ID", bad.execution_id}, {"RECORD_ID", bad.id}, {"ERROR", bad.reason}});
  StuckPolicy policy = stuck_policy();
  std::int64_t now = unix_now_nanos();
  std::vector<ExecutionInfo> out;
  out.reserve(listed->executions.size());
  for (const store::ExecutionSummary& summary : listed->executions) {
    ExecutionInfo info{summary.execution_id, summary.status.state, summary.status.finished,
                       summary.created_at_ns, summary.updated_at_ns};
    if (!summary.status.finished) {
      auto records = impl_->store->read_execution(summary.execution_id);
      auto view = records ? fold_history(summary.execution_id, *records)
                          : Expected<ExecutionView>(records.error());
      if (view) {
        info.stuck = assess_stuck(*view, now, policy);
      } else {
        sup::log(LogLevel::Error, "execution history unreadable: not assessed for STUCK",
                 {{"EXECUTION_ID", summary.execution_id}, {"ERROR", view.error().describe()}});
      }
    }
    if (only_stuck && !info.stuck) continue;
    out.push_back(std::move(info));
    if (only_stuck && filter.limit != 0 && out.size() == filter.limit) break;
  }
  return out;
}

StuckPolicy ExecutionService::stuck_policy() const {
  return {.stuck_after_ms = impl_->options.stuck_after_ms,
          .stop_grace_ms = static_cast<std::uint64_t>(impl_->options.stop_grace.count()),
          .maintenance = impl_->maintenance_on()};
}

void ExecutionService::set_maintenance(MaintenanceChange change,
                                       std::function<void(Expected<MaintenanceAck>)> done) {
  Impl* impl = impl_.get();
  impl->post([impl, change = std::move(change), done = std::move(done)]() mutable {
    impl->set_maintenance(std::move(change), std::move(done));
  });
}

MaintenanceMode ExecutionService::maintenance() const {
  std::lock_guard lock(impl_->maintenance_mutex);
  return impl_->maintenance_mode;
}

void ExecutionService::resume_all(std::string reason,
                                  std::function<void(Expected<ResumeAllAck>)> done) {
  auto stuck = list({.state = std::string(kStuckListing)});
  if (!stuck) return done(stuck.error());
  std::vector<std::pair<std::string, StuckFinding>> found;
  for (ExecutionInfo& info : *stuck) found.emplace_back(info.execution_id, *info.stuck);
  Impl* impl = impl_.get();
  impl->post([impl, found = std::move(found), reason = std::move(reason),
              done = std::move(done)]() mutable { done(impl->resume_stuck(found, reason)); });
}

void ExecutionService::retry(RetryRequest request, std::function<void(Expected<RetryAck>)> done) {
  Impl* impl = impl_.get();
  impl->post([impl, request = std::move(request), done = std::move(done)]() mutable {
    impl->retry(request, std::move(done));
  });
}

void ExecutionService::control(std::string execution_id, ControlAction action, std::string reason,
                               std::function<void(Expected<ControlAck>)> done) {
  Impl* impl = impl_.get();
  impl->post(
      [impl, id = std::move(execution_id), action, reason = std::move(reason),
       done = std::move(done)]() mutable { impl->control(id, action, reason, std::move(done)); });
}

Expected<NodeOutput> ExecutionService::node_output(std::string_view execution_id,
                                                   std::string_view node_id,
                                                   std::size_t max_lines) const {
  auto view = describe(execution_id);
  if (!view) return view.error();
  auto node = std::find_if(view->nodes.begin(), view->nodes.end(),
                           [&](const NodeView& n) { return n.node_id == node_id; });
  if (node == view->nodes.end())
    return make_error(ErrorCode::NotFound,
                      "execution \"" + std::string(execution_id) + "\" has no node \"" +
                          std::string(node_id) + "\"",
                      "node_id");
  NodeOutput output;
  std::deque<OutputLine> newest;
  std::filesystem::path dir = impl_->options.state_dir / "executions" / std::string(execution_id);
  for (std::uint32_t attempt = 1; attempt <= node->attempt; ++attempt) {
    std::ifstream in(dir / output_file_name(node->node_id, attempt), std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (line.size() < 2) continue;
      if (line[0] == 'D') {
        output.truncated = true;
        continue;
      }
      newest.push_back({attempt, line[0] == 'E', line.substr(2)});
      if (newest.size() > max_lines) {
        newest.pop_front();
        output.truncated = true;
      }
    }
  }
  output.lines.assign(std::make_move_iterator(newest.begin()),
                      std::make_move_iterator(newest.end()));
  return output;
}

std::string_view to_string(ControlAction action) {
  switch (action) {
    case ControlAction::Pause:
      return "pause";
    case ControlAction::Resume:
      return "resume";
    case ControlAction::Cancel:
      return "cancel";
  }
  return "unknown";
}

const ResumeReport& ExecutionService::resume_report() const {
  return impl_->report;
}

std::chrono::nanoseconds ExecutionService::resume_duration() const {
  return impl_->resume_took;
}

Expected<StoreUsage> ExecutionService::store_usage() const {
  auto space = impl_->store->space();
  if (!space) return space.error();
  auto list = impl_->store->list_executions({});
  if (!list) return list.error();
  store::StoreStats stats = impl_->store->stats();
  StoreUsage usage{.map_bytes = space->map_bytes,
                   .used_bytes = space->used_bytes,
                   .free_pages = space->free_pages,
                   .commits = stats.commits,
                   .appends_failed = stats.appends_failed,
                   .executions_by_state = {},
                   .bad_summaries = list->bad.size()};
  for (const store::ExecutionSummary& summary : list->executions)
    ++usage.executions_by_state[summary.status.state];
  return usage;
}

void ExecutionService::count_nodes(
    std::function<void(std::map<std::string, std::uint64_t>)> done) const {
  Impl* impl = impl_.get();
  impl->post([impl, done = std::move(done)] {
    std::map<std::string, std::uint64_t> counts;
    for (const auto& [id, e] : impl->executions) {
      if (!e.core || !dag::is_unfinished(e.core->state())) continue;
      for (NodeIndex node = 0; node < e.spec->nodes.size(); ++node)
        ++counts[std::string(dag::to_string(e.core->node_state(node)))];
    }
    done(std::move(counts));
  });
}

Expected<std::vector<ExecutionInfo>> ExecutionService::list_summaries(std::string_view state,
                                                                      std::size_t limit) const {
  store::ExecutionFilter filter;
  if (!state.empty()) filter.state = std::string(state);
  filter.limit = limit;
  auto list = impl_->store->list_executions(filter);
  if (!list) return list.error();
  std::vector<ExecutionInfo> out;
  out.reserve(list->executions.size());
  for (const store::ExecutionSummary& summary : list->executions)
    out.push_back({summary.execution_id, summary.status.state, summary.status.finished});
  return out;
}

Expected<RecentValidation> ExecutionService::validate_recent(std::size_t executions) const {
  auto list = impl_->store->list_executions({});
  if (!list) return list.error();
  std::vector<const store::ExecutionSummary*> newest;
  for (const store::ExecutionSummary& summary : list->executions) newest.push_back(&summary);
  std::size_t keep = std::min(executions, newest.size());
  std::partial_sort(
      newest.begin(), newest.begin() + static_cast<std::ptrdiff_t>(keep), newest.end(),
      [](const auto* a, const auto* b) { return a->updated_at_ns > b->updated_at_ns; });
  store::ScanScope scope;
  for (std::size_t i = 0; i < keep; ++i) scope.execution_ids.push_back(newest[i]->execution_id);
  RecentValidation result;
  for (const store::BadRecord& bad : list->bad) result.bad.push_back(bad.id + ": " + bad.reason);
  if (scope.execution_ids.empty()) return result;
  auto report = impl_->store->validate(scope);
  if (!report) return report.error();
  result.executions_checked = report->executions_checked;
  result.records_checked = report->records_checked;
  for (const store::BadRecord& bad : report->bad) result.bad.push_back(bad.id + ": " + bad.reason);
  return result;
}

Expected<SubmitAck> submit_and_wait(ExecutionService& service, SubmitRequest request) {
  std::promise<Expected<SubmitAck>> promise;
  auto future = promise.get_future();
  service.submit(std::move(request),
                 [&promise](Expected<SubmitAck> ack) { promise.set_value(std::move(ack)); });
  return future.get();
}

}  // namespace sup::executions
