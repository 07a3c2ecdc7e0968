#include "store/content_hash.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>
#include <memory>

#include "store/store_error.hpp"

namespace sup::store {
namespace {

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using DigestContext = std::unique_ptr<EVP_MD_CTX, DigestContextFree>;

// SHA-256 fed piece by piece; OpenSSL only fails here on allocation.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
      throw std::bad_alloc();
  }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(context_.get(), data, size); }
  std::string finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hash(kSha256Prefix);
    for (unsigned int i = 0; i < length; ++i) {
      hash += kHex[digest[i] >> 4];
      hash += kHex[digest[i] & 0xf];
    }
    return hash;
  }

 private:
  DigestContext context_;
};

}  // namespace

std::string sha256_of(std::string_view bytes) {
  Sha256 sha;
  sha.update(bytes.data(), bytes.size());
  return sha.finish();
}

Expected<std::string> sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::kIo, "cannot read " + path.string());
  Sha256 sha;
  std::array<char, 1 << 16> chunk{};
  while (in) {
    in.read(chunk.data(), chunk.size());
    sha.update(chunk.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) return make_error(errc::kIo, "error reading " + path.string());
  return sha.finish();
}

bool is_content_hash(std::string_view hash) {
  if (!hash.starts_with(kSha256Prefix) || hash.size() != kSha256Prefix.size() + 64) return false;
  for (char c : hash.substr(kSha256Prefix.size()))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string_view content_hash_hex(std::string_view hash) {
  return hash.substr(kSha256Prefix.size());
}

}  // namespace sup::store
