#include "store/checkpoint_store.hpp"

#include <algorithm>
#include <future>

namespace sup::store {

namespace {

// Calls `start(callback)` and waits for the callback's value.
template <class T, class Start>
Expected<T> wait_for_callback(Start&& start) {
  std::promise<Expected<T>> promise;
  auto future = promise.get_future();
  Status started = start([&promise](Expected<T> result) { promise.set_value(std::move(result)); });
  if (!started) return started.error();
  return future.get();
}

}  // namespace

Expected<AppendAck> append_and_wait(CheckpointStore& store, AppendRequest request) {
  return wait_for_callback<AppendAck>(
      [&](AppendCallback done) { return store.append(std::move(request), std::move(done)); });
}

void merge_bad_records(std::vector<BadRecord>& into, std::vector<BadRecord> more) {
  for (BadRecord& bad : more) {
    const bool known = std::any_of(into.begin(), into.end(),
                                   [&](const BadRecord& other) { return other.id == bad.id; });
    if (!known) into.push_back(std::move(bad));
  }
}

Expected<CleanupReport> cleanup_and_wait(CheckpointStore& store, CleanupRequest request) {
  return wait_for_callback<CleanupReport>(
      [&](CleanupCallback done) { return store.cleanup(std::move(request), std::move(done)); });
}

Status put_setting_and_wait(CheckpointStore& store, std::string name, std::string value) {
  return wait_for_callback<void>([&](SettingCallback done) {
    return store.put_setting(std::move(name), std::move(value), std::move(done));
  });
}

}  // namespace sup::store
