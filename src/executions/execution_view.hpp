// What an execution looks like from its durable history: its state, and per
// node the state, attempt, last reason and published result, as the
// records committed so far say. Pure (no store, no threads): the service
// reads the records, this folds them, so `executions.get` shows exactly
// what a restarted daemon would resume from.
//
//   auto records = store.read_execution("e-17");
//   Expected<ExecutionView> view = fold_history("e-17", *records);
//   // view->nodes[0].state == "COMPLETED", view->nodes[0].attempt == 1
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "executions/execution_types.hpp"
#include "store/record.hpp"
#include "sup/error.hpp"

namespace sup::executions {

// `records` from seq 1 (the submitted spec) in order. DataLoss naming the
// record when one does not decode against the spec.
Expected<ExecutionView> fold_history(std::string_view execution_id,
                                     std::span<const store::Record> records);

}  // namespace sup::executions
