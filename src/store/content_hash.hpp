// SHA-256 content hashes: how artifact blobs are named under the state dir
// (`artifacts/<hex>`) and how an export archive's files are checked. The
// hash of a blob is its name, so a blob is stored once however many
// snapshots name it, and a damaged blob is found by hashing it again.
//
//   auto hash = sup::store::sha256_file(path);   // "sha256:<64 hex digits>"
//   if (!hash) return hash.error();
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "sup/error.hpp"

namespace sup::store {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// "sha256:<64 lowercase hex digits>" of the bytes.
std::string sha256_of(std::string_view bytes);
// The same of a file's content, read in chunks (io_error naming the path).
Expected<std::string> sha256_file(const std::filesystem::path& path);
// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool is_content_hash(std::string_view hash);
// The hex digits of a content hash (is_content_hash must hold).
std::string_view content_hash_hex(std::string_view hash);

}  // namespace sup::store
