// libFuzzer target: bytes offered as a checkpoint export archive (what
// `supctl checkpoint import` reads from an operator's backup or another
// machine) through the checked unpacking, and as a manifest through its
// decoder. Whatever the input: an error with a code, or a manifest that
// encodes and decodes back to itself; nothing is written outside the
// scratch directory.
// Build and run: see docs/state-store.md, "Fuzzing".
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "store/export_archive.hpp"
#include "store/export_manifest.hpp"

namespace {

namespace fs = std::filesystem;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_manifest(const sup::Expected<sup::store::ExportManifest>& manifest) {
  if (!manifest) return;
  auto again = sup::store::decode_manifest(sup::store::encode_manifest(*manifest));
  require(again && *again == *manifest);
}

const fs::path& scratch_root() {
  static const fs::path root = [] {
    char pattern[] = "/tmp/export-archive-fuzz-XXXXXX";
    require(::mkdtemp(pattern) != nullptr);
    return fs::path(pattern);
  }();
  return root;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check_manifest(sup::store::decode_manifest(bytes));

  const fs::path into = scratch_root() / "unpacked";
  check_manifest(sup::store::unpack_export_archive_bytes(bytes, into));
  // Only members the manifest allows were written, all under `into`.
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(into, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), into).string();
    require(sup::store::is_export_member(name));
  }
  fs::remove_all(into, ec);
  return 0;
}
