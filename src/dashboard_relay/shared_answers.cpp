#include "dashboard_relay/shared_answers.hpp"

#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "json/json_writer.hpp"

namespace sup::relay {

std::optional<ReaddressableLine> ReaddressableLine::cut(std::string line,
                                                        std::string_view stand_in) {
  std::string quoted = "\"" + std::string(stand_in) + "\"";
  std::size_t begin = line.find(quoted);
  if (begin == std::string::npos || line.find(quoted, begin + 1) != std::string::npos)
    return std::nullopt;
  return ReaddressableLine(std::move(line), begin, begin + quoted.size());
}

std::string ReaddressableLine::for_request(std::string_view request_id) const {
  JsonWriter writer;
  writer.value(request_id);
  std::string quoted_id = writer.take();
  std::string addressed;
  addressed.reserve(line_.size() - (quoted_end_ - quoted_begin_) + quoted_id.size());
  addressed.append(line_, 0, quoted_begin_).append(quoted_id).append(line_, quoted_end_);
  return addressed;
}

namespace {

std::string make_stand_in() {
  std::random_device random;
  std::uniform_int_distribution<std::uint64_t> bits;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits(random)));
  return std::string("sup-shared-answer-") + hex;
}

struct Waiter {
  ipc::Request request;
  ipc::Peer peer;
  SharedAnswers::Answer answer;
};

}  // namespace

struct SharedAnswers::Rounds {
  Rounds(Dispatch dispatch_fn, WorkerPool::Poster lane_poster)
      : dispatch(std::move(dispatch_fn)), lane(std::move(lane_poster)), stand_in(make_stand_in()) {}

  // Serves rounds until nobody waits: each takes every request waiting
  // when it begins.
  void run() {
    while (true) {
      std::vector<Waiter> round;
      {
        std::lock_guard lock(mutex);
        if (waiting.empty()) {
          running = false;
          return;
        }
        round.swap(waiting);
      }
      serve(std::move(round));
    }
  }

  void serve(std::vector<Waiter> round) {
    // Requests answered alike: same method, params and asking uid.
    std::map<std::tuple<std::string_view, std::string, std::uint32_t>, std::vector<Waiter*>> alike;
    for (Waiter& waiter : round)
      alike[{waiter.request.method->name, waiter.request.params.dump(), waiter.peer.uid}].push_back(
          &waiter);
    for (auto& [key, waiters] : alike) {
      const Waiter& first = *waiters.front();
      ipc::Request stand_in_request{stand_in, first.request.method, first.request.params};
      ipc::Reply reply = dispatch(stand_in_request, first.peer);
      count(waiters.size(), 1);
      std::optional<ReaddressableLine> shared;
      if (!reply.subscribe_events_after && !reply.follow_logs)
        shared = ReaddressableLine::cut(std::move(reply.line), stand_in);
      if (!shared) {  // not shareable: each on its own
        count(0, waiters.size());
        for (Waiter* waiter : waiters) waiter->answer(dispatch(waiter->request, waiter->peer));
        continue;
      }
      for (Waiter* waiter : waiters)
        waiter->answer(ipc::Reply(shared->for_request(waiter->request.request_id)));
    }
  }

  void count(std::size_t answered, std::size_t dispatched) {
    std::lock_guard lock(mutex);
    counts.answered += answered;
    counts.dispatched += dispatched;
  }

  const Dispatch dispatch;
  const WorkerPool::Poster lane;
  const std::string stand_in;

  mutable std::mutex mutex;
  std::vector<Waiter> waiting;
  bool running = false;  // a run() is queued or serving
  Counts counts;
};

SharedAnswers::SharedAnswers(Dispatch dispatch, WorkerPool::Poster lane)
    : rounds_(std::make_shared<Rounds>(std::move(dispatch), std::move(lane))) {}

SharedAnswers::~SharedAnswers() = default;

void SharedAnswers::ask(ipc::Request request, ipc::Peer peer, Answer answer) {
  {
    std::lock_guard lock(rounds_->mutex);
    rounds_->waiting.push_back({std::move(request), peer, std::move(answer)});
    if (std::exchange(rounds_->running, true)) return;
  }
  rounds_->lane.post([rounds = rounds_] { rounds->run(); });
}

SharedAnswers::Counts SharedAnswers::counts() const {
  std::lock_guard lock(rounds_->mutex);
  return rounds_->counts;
}

}  // namespace sup::relay
