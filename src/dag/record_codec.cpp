#include "dag/record_codec.hpp"

#include <nlohmann/json.hpp>

namespace sup::dag {

namespace {

Error history_error(std::string message, std::string field) {
  return make_error(kRecordPayloadErrorCode, std::move(message), std::move(field));
}

template <class State, class FromString>
Expected<State> read_state(const nlohmann::json& doc, const char* key, FromString from_string) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return history_error("missing state", key);
  auto state = from_string(it->template get_ref<const std::string&>());
  if (!state) return history_error("unknown state " + it->dump(), key);
  return *state;
}

}  // namespace

std::string encode_record_payload(const DagSpec& spec, const Record& record) {
  nlohmann::json doc = nlohmann::json::object();
  if (record.node) {
    doc["node"] = spec.nodes[*record.node].id;
    doc["from"] = to_string(record.node_from);
    doc["to"] = to_string(record.node_to);
    doc["attempt"] = record.attempt;
    doc["epoch"] = record.epoch;
  } else {
    doc["from"] = to_string(record.execution_from);
    doc["to"] = to_string(record.execution_to);
  }
  doc["reason"] = record.reason;
  // The result was validated as one JSON value when the node published it.
  if (!record.result.empty())
    doc["result"] = nlohmann::json::parse(record.result, nullptr, /*allow_exceptions=*/false);
  return doc.dump();
}

Expected<Record> decode_record_payload(const DagSpec& spec, std::string_view payload,
                                       std::uint64_t sequence) {
  nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return history_error("payload is not a JSON object", "$");
  Record record;
  record.sequence = sequence;
  if (auto reason = doc.find("reason"); reason != doc.end() && reason->is_string())
    record.reason = reason->get<std::string>();
  auto node = doc.find("node");
  if (node == doc.end()) {
    auto from = read_state<ExecutionState>(doc, "from", execution_state_from_string);
    if (!from) return from.error();
    auto to = read_state<ExecutionState>(doc, "to", execution_state_from_string);
    if (!to) return to.error();
    record.execution_from = *from;
    record.execution_to = *to;
    return record;
  }
  if (!node->is_string()) return history_error("node is not a string", "node");
  auto index = spec.find(node->get_ref<const std::string&>());
  if (!index) return history_error("no node " + node->dump() + " in the spec", "node");
  record.node = *index;
  auto from = read_state<NodeState>(doc, "from", node_state_from_string);
  if (!from) return from.error();
  auto to = read_state<NodeState>(doc, "to", node_state_from_string);
  if (!to) return to.error();
  record.node_from = *from;
  record.node_to = *to;
  auto attempt = doc.find("attempt");
  auto epoch = doc.find("epoch");
  if (attempt == doc.end() || !attempt->is_number_unsigned() ||
      attempt->get<std::uint64_t>() > UINT32_MAX)
    return history_error("missing attempt", "attempt");
  if (epoch == doc.end() || !epoch->is_number_unsigned())
    return history_error("missing epoch", "epoch");
  record.attempt = attempt->get<std::uint32_t>();
  record.epoch = epoch->get<std::uint64_t>();
  if (auto result = doc.find("result"); result != doc.end()) record.result = result->dump();
  return record;
}

}  // namespace sup::dag
