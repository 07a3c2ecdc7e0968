// Error codes of the durable store: names for sup::ErrorCode values, used
// by every backend (several names share a code; the message tells them apart).
// docs/state-store.md ("Failure modes") says what each means for a caller.
#pragma once

#include <string>

#include "sup/error.hpp"

namespace sup::store::errc {

// Bad input: an invalid execution id, checkpoint id, option or oversized payload.
inline constexpr ErrorCode kInvalidArgument = ErrorCode::InvalidArgument;
// The store could not be opened (path, permissions, LMDB error).
inline constexpr ErrorCode kOpenFailed = ErrorCode::IoError;
// This process already has the store at that path open (LMDB forbids a second open).
inline constexpr ErrorCode kAlreadyOpen = ErrorCode::FailedPrecondition;
// The store (or a record) was written by a newer format version.
inline constexpr ErrorCode kVersionUnsupported = ErrorCode::Unsupported;
// No room: the map reached `max_bytes`, or the disk is full. Nothing was
// written; the same append succeeds once space exists.
inline constexpr ErrorCode kStoreFull = ErrorCode::StoreFull;
// Any other LMDB or file-system failure; nothing of the failed operation was written.
inline constexpr ErrorCode kIo = ErrorCode::IoError;
// The store is closing or closed.
inline constexpr ErrorCode kClosed = ErrorCode::Unavailable;
// A create-append for an execution id that already exists (idempotent submit).
inline constexpr ErrorCode kExecutionExists = ErrorCode::AlreadyExists;
// The append's expected_first_seq is not the execution's next seq.
inline constexpr ErrorCode kSeqConflict = ErrorCode::FailedPrecondition;
// No such execution.
inline constexpr ErrorCode kExecutionUnknown = ErrorCode::NotFound;
// A record or summary failed its checksum or structure check; the error's
// field_path is the first bad id, the message names all of them.
inline constexpr ErrorCode kRecordCorrupt = ErrorCode::DataLoss;

}  // namespace sup::store::errc
