#include "dag/scheduler.hpp"

#include <algorithm>
#include <limits>

namespace sup::dag {
namespace {

// [risk weight: 3 bits][critical path: 29 bits][~index: 32 bits], so that
// comparing keys compares risk, then path length, then earlier declaration.
std::uint64_t order_key(Risk risk, std::uint32_t critical_path, NodeIndex index) {
  constexpr std::uint32_t kPathMask = (1U << 29) - 1;
  return (std::uint64_t{risk_weight(risk)} << 61) |
         (std::uint64_t{std::min(critical_path, kPathMask)} << 32) |
         (std::numeric_limits<std::uint32_t>::max() - index);
}

NodeIndex index_of(std::uint64_t key) {
  return std::numeric_limits<std::uint32_t>::max() - static_cast<std::uint32_t>(key);
}

}  // namespace

std::vector<std::uint32_t> critical_path_lengths(const DagSpec& spec) {
  std::vector<std::uint32_t> length(spec.nodes.size(), 1);
  for (auto it = spec.topological_order.rbegin(); it != spec.topological_order.rend(); ++it) {
    for (NodeIndex dependent : spec.nodes[*it].dependents)
      length[*it] = std::max(length[*it], length[dependent] + 1);
  }
  return length;
}

ReadyScheduler::ReadyScheduler(const DagSpec& spec) : spec_(spec) {
  std::vector<std::uint32_t> paths = critical_path_lengths(spec);
  priority_.resize(spec.nodes.size());
  deps_left_.resize(spec.nodes.size());
  for (NodeIndex i = 0; i < spec.nodes.size(); ++i) {
    priority_[i] = order_key(spec.nodes[i].risk, paths[i], i);
    deps_left_[i] = static_cast<std::uint32_t>(spec.nodes[i].deps.size());
  }
}

void ReadyScheduler::queue(NodeIndex node) {
  ready_.push_back(priority_[node]);
  std::push_heap(ready_.begin(), ready_.end());
}

void ReadyScheduler::start(std::vector<NodeIndex>& became_ready) {
  for (NodeIndex i = 0; i < spec_.nodes.size(); ++i) {
    if (deps_left_[i] != 0) continue;
    became_ready.push_back(i);
    queue(i);
  }
}

void ReadyScheduler::restore(std::span<const NodeState> states,
                             std::vector<NodeIndex>& became_ready) {
  ready_.clear();
  running_ = 0;
  for (NodeIndex i = 0; i < spec_.nodes.size(); ++i) {
    deps_left_[i] = static_cast<std::uint32_t>(
        std::count_if(spec_.nodes[i].deps.begin(), spec_.nodes[i].deps.end(),
                      [&](NodeIndex dep) { return states[dep] != NodeState::Completed; }));
  }
  for (NodeIndex i = 0; i < spec_.nodes.size(); ++i) {
    if (states[i] == NodeState::Ready) {
      queue(i);
    } else if (states[i] == NodeState::Running) {
      ++running_;
    } else if (states[i] == NodeState::Pending && deps_left_[i] == 0) {
      became_ready.push_back(i);
      queue(i);
    }
  }
}

void ReadyScheduler::node_completed(NodeIndex node, std::vector<NodeIndex>& became_ready) {
  for (NodeIndex dependent : spec_.nodes[node].dependents) {
    if (--deps_left_[dependent] != 0) continue;
    became_ready.push_back(dependent);
    queue(dependent);
  }
}

void ReadyScheduler::make_ready(NodeIndex node) {
  queue(node);
}

void ReadyScheduler::attempt_ended() {
  if (running_ > 0) --running_;
}

void ReadyScheduler::select(std::uint32_t global_free_slots, std::vector<NodeIndex>& to_start) {
  std::uint32_t own_free = spec_.max_parallel > running_ ? spec_.max_parallel - running_ : 0;
  std::size_t count = std::min<std::size_t>({own_free, global_free_slots, ready_.size()});
  for (std::size_t k = 0; k < count; ++k) {
    std::pop_heap(ready_.begin(), ready_.end());
    to_start.push_back(index_of(ready_.back()));
    ready_.pop_back();
  }
  running_ += static_cast<std::uint32_t>(count);
}

}  // namespace sup::dag
