#include "http/bearer_tokens.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sup::http {
namespace {

constexpr std::string_view kField = "http.token_file";
constexpr std::size_t kMinTokenChars = 16;

Error token_file_error(std::string message) {
  return make_error(ErrorCode::InvalidConfig, std::move(message), std::string(kField));
}

std::string_view trim(std::string_view text) {
  std::size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// Equal in time that depends only on the lengths.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

Expected<BearerTokens> BearerTokens::parse(std::string_view text) {
  BearerTokens tokens;
  std::size_t line_number = 0;
  while (!text.empty()) {
    std::size_t newline = text.find('\n');
    std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    std::size_t colon = line.find(':');
    std::string where = "line " + std::to_string(line_number);
    if (colon == std::string_view::npos || colon == 0)
      return token_file_error(where + ": expected name:token");
    std::string_view token = trim(line.substr(colon + 1));
    if (token.size() < kMinTokenChars)
      return token_file_error(where + ": the token must have at least " +
                              std::to_string(kMinTokenChars) + " characters");
    tokens.entries_.push_back({std::string(trim(line.substr(0, colon))), std::string(token)});
  }
  if (tokens.entries_.empty()) return token_file_error("holds no token");
  return tokens;
}

Expected<std::string> BearerTokens::check(std::string_view authorization_header) const {
  constexpr std::string_view kScheme = "Bearer ";
  if (authorization_header.substr(0, kScheme.size()) != kScheme)
    return make_error(ErrorCode::PermissionDenied,
                      "this endpoint needs Authorization: Bearer <token> off loopback");
  std::string_view presented = trim(authorization_header.substr(kScheme.size()));
  const Entry* match = nullptr;
  for (const Entry& entry : entries_)
    if (same_secret(entry.token, presented) && match == nullptr) match = &entry;
  if (match == nullptr) return make_error(ErrorCode::PermissionDenied, "unknown bearer token");
  return match->name;
}

Expected<BearerTokens> load_token_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    return token_file_error("cannot read " + path + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return token_file_error(path + " is not a regular file");
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return token_file_error(path + " has mode " + mode +
                            ": group or others may read or write it; chmod 0600 it");
  }
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  if (!file) return token_file_error("cannot read " + path);
  return BearerTokens::parse(text.str());
}

}  // namespace sup::http
