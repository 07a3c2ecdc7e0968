#include "executions/execution_view.hpp"

#include "dag/execution_core.hpp"
#include "dag/parser.hpp"
#include "dag/record_codec.hpp"
#include "dag/states.hpp"

namespace sup::executions {

Expected<ExecutionView> fold_history(std::string_view execution_id,
                                     std::span<const store::Record> records) {
  if (records.empty() || records.front().kind != store::RecordKind::ExecutionSubmitted)
    return make_error(ErrorCode::DataLoss, "first record is not the submitted spec",
                      std::string(execution_id) + ":1");
  auto spec = dag::parse_dag(records.front().payload);
  if (!spec)
    return make_error(ErrorCode::DataLoss,
                      "submitted spec does not parse: " + spec.error().describe(),
                      std::string(execution_id) + ":1");
  ExecutionView view;
  view.execution_id = std::string(execution_id);
  view.name = spec->name;
  view.submitted_at_ns = view.updated_at_ns = records.front().timestamp_ns;
  view.records = records.size();
  view.nodes.reserve(spec->nodes.size());
  for (const dag::NodeSpec& node : spec->nodes) {
    NodeView& added =
        view.nodes.emplace_back(NodeView{.node_id = node.id, .timeout_ms = node.timeout_ms});
    for (dag::NodeIndex dep : node.deps) added.deps.push_back(spec->nodes[dep].id);
  }
  // The store's seq 1 is the spec; the core's record n is seq n + 1.
  for (const store::Record& stored : records.subspan(1)) {
    auto record = dag::decode_record_payload(*spec, stored.payload, stored.seq - 1);
    if (!record)
      return make_error(ErrorCode::DataLoss, record.error().describe(), stored.id().to_string());
    view.updated_at_ns = stored.timestamp_ns;
    if (!record->node) {
      view.state = std::string(dag::to_string(record->execution_to));
      view.finished = !dag::is_unfinished(record->execution_to);
      view.reason = record->reason;
      continue;
    }
    NodeView& node = view.nodes[*record->node];
    node.state = std::string(dag::to_string(record->node_to));
    if (record->attempt > 0) node.attempt = record->attempt;
    node.reason = record->reason;
    node.updated_at_ns = stored.timestamp_ns;
    if (record->node_to == dag::NodeState::Completed) node.result = record->result;
    if (record->node_to == dag::NodeState::Pending) node.result.clear();  // reset: runs again
  }
  return view;
}

}  // namespace sup::executions
