// `state` answers shared by every client asking at the same moment.
//
// A 10,000-child state is a long call into the control loop and ~4 MB of
// JSON. Fifty clients asking at once used to cost fifty snapshots, queued in
// the control loop ahead of everybody's health checks and commands, and
// fifty encodings. Here a request that arrives while a snapshot is being
// taken waits for the next one, and each snapshot answers every request
// that was waiting when it began: at most one state snapshot is in the
// control loop at a time, each is encoded once, and no client is answered
// with a snapshot older than its request.
//
// Encoding once: the reply is encoded for a stand-in request id and then
// re-addressed to each waiting request (ReaddressableLine), so this holds
// whatever the answer's shape; a reply the stand-in cannot be found in
// exactly once is not shared (each waiter is dispatched on its own).
//
//   auto answers = std::make_shared<SharedAnswers>(
//       [backend](const ipc::Request& r, const ipc::Peer& p) { return
//       backend->dispatcher.dispatch(r, p); }, snapshot_lane.poster());
//   answers->ask(std::move(request), peer, [](ipc::Reply reply) { ... });  // any thread
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dashboard_relay/worker_pool.hpp"
#include "ipc/dispatcher.hpp"
#include "ipc/protocol.hpp"

namespace sup::relay {

// A reply line encoded for a stand-in request id, cut around it, so that it
// can be addressed to any request id without being encoded again.
//
//   auto cut = ReaddressableLine::cut(R"({"request_id":"STAND-IN","ok":true})" "\n", "STAND-IN");
//   cut->for_request("r7");  // {"request_id":"r7","ok":true}\n
class ReaddressableLine {
 public:
  // `stand_in` must need no JSON escaping. nullopt unless it occurs in
  // `line` exactly once, as a whole JSON string.
  static std::optional<ReaddressableLine> cut(std::string line, std::string_view stand_in);
  std::string for_request(std::string_view request_id) const;

 private:
  ReaddressableLine(std::string line, std::size_t quoted_begin, std::size_t quoted_end)
      : line_(std::move(line)), quoted_begin_(quoted_begin), quoted_end_(quoted_end) {}
  std::string line_;
  std::size_t quoted_begin_;  // the stand-in with its quotes: [begin, end)
  std::size_t quoted_end_;
};

class SharedAnswers {
 public:
  using Dispatch = std::function<ipc::Reply(const ipc::Request&, const ipc::Peer&)>;
  using Answer = std::function<void(ipc::Reply)>;

  // `dispatch` answers one request (the Dispatcher); rounds run on `lane`.
  SharedAnswers(Dispatch dispatch, WorkerPool::Poster lane);
  ~SharedAnswers();
  SharedAnswers(const SharedAnswers&) = delete;
  SharedAnswers& operator=(const SharedAnswers&) = delete;

  // For requests whose answer depends on nothing but their method, params
  // and the runtime's state (`state`). `answer` is called once, from the
  // lane's thread (never when the lane shuts down first).
  void ask(ipc::Request request, ipc::Peer peer, Answer answer);

  // Requests answered, and the rounds (dispatches) that answered them.
  struct Counts {
    std::size_t answered = 0;
    std::size_t dispatched = 0;
  };
  Counts counts() const;

 private:
  struct Rounds;
  std::shared_ptr<Rounds> rounds_;
};

}  // namespace sup::relay
