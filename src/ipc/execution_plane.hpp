// What the socket's `executions.*` methods need from the daemon, as an
// interface (like ControlPlane for the tree): the daemon plugs in the
// adapter over its ExecutionService (src/daemon/execution_plane_adapter.hpp),
// tests a fake.
//
// Nothing here may block on slow work: submit and control answer through
// `done` (on another thread, once the record is committed); the reads
// (list, describe, node_output) read the store or the output files and run
// in the socket's snapshot lane.
//
//   plane.control("e-17", ControlAction::Pause, meta, [](Expected<ControlAck> ack) { ... });
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "executions/execution_types.hpp"
#include "sup/command.hpp"
#include "sup/error.hpp"

namespace sup::ipc {

class ExecutionPlane {
 public:
  virtual ~ExecutionPlane() = default;

  // `meta` is audited with the outcome, as every command is.
  virtual void submit(executions::SubmitRequest request, CommandMeta meta,
                      std::function<void(Expected<executions::SubmitAck>)> done) = 0;
  virtual void control(std::string execution_id, executions::ControlAction action, CommandMeta meta,
                       std::function<void(Expected<executions::ControlAck>)> done) = 0;
  virtual void retry(executions::RetryRequest request, CommandMeta meta,
                     std::function<void(Expected<executions::RetryAck>)> done) = 0;
  // Reads the STUCK listing on the calling thread (the snapshot lane).
  virtual void resume_all(CommandMeta meta,
                          std::function<void(Expected<executions::ResumeAllAck>)> done) = 0;
  virtual void set_maintenance(bool enabled, CommandMeta meta,
                               std::function<void(Expected<executions::MaintenanceAck>)> done) = 0;
  // As committed; cheap (health and state show it).
  virtual executions::MaintenanceMode maintenance() = 0;

  virtual Expected<std::vector<executions::ExecutionInfo>> list(
      const executions::ListFilter& filter) = 0;
  virtual Expected<executions::ExecutionView> describe(std::string_view execution_id) = 0;
  virtual Expected<executions::NodeOutput> node_output(std::string_view execution_id,
                                                       std::string_view node_id,
                                                       std::size_t max_lines) = 0;
};

}  // namespace sup::ipc
