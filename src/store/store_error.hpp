// Error codes of the durable store: one definition, used by every backend.
// docs/state-store.md ("Failure modes") says what each means for a caller.
#pragma once

#include <string>

#include "sup/error.hpp"

namespace sup::store::errc {

// Bad input: an invalid execution id, checkpoint id, option or oversized payload.
inline constexpr const char* kInvalidArgument = "store_invalid_argument";
// The store could not be opened (path, permissions, LMDB error).
inline constexpr const char* kOpenFailed = "store_open_failed";
// This process already has the store at that path open (LMDB forbids a second open).
inline constexpr const char* kAlreadyOpen = "store_already_open";
// The store (or a record) was written by a newer format version.
inline constexpr const char* kVersionUnsupported = "store_version_unsupported";
// No room: the map reached `max_bytes`, or the disk is full. Nothing was
// written; the same append succeeds once space exists.
inline constexpr const char* kStoreFull = "store_full";
// Any other LMDB or file-system failure; nothing of the failed operation was written.
inline constexpr const char* kIo = "store_io_error";
// The store is closing or closed.
inline constexpr const char* kClosed = "store_closed";
// A create-append for an execution id that already exists (idempotent submit).
inline constexpr const char* kExecutionExists = "execution_exists";
// The append's expected_first_seq is not the execution's next seq.
inline constexpr const char* kSeqConflict = "seq_conflict";
// No such execution.
inline constexpr const char* kExecutionUnknown = "execution_unknown";
// A record or summary failed its checksum or structure check; the error's
// field_path is the first bad id, the message names all of them.
inline constexpr const char* kRecordCorrupt = "record_corrupt";

}  // namespace sup::store::errc
