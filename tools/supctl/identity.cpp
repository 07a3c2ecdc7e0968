#include "supctl/identity.hpp"

#include <pwd.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace sup::cli {

std::string default_socket_path() {
  const char* from_env = std::getenv("SUPERVISOR_SOCKET");
  return from_env && *from_env ? from_env : kDefaultSocketPath;
}

std::string default_requested_by() {
  std::string user;
  if (const char* from_env = std::getenv("USER"); from_env && *from_env) {
    user = from_env;
  } else if (const passwd* entry = ::getpwuid(::getuid()); entry && entry->pw_name) {
    user = entry->pw_name;
  }
  if (user.empty()) return "supctl:" + std::to_string(::getuid());
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') return user + "@" + host;
  return user;
}

std::string random_command_id() {
  std::random_device entropy;
  std::string id;
  for (int word = 0; word < 4; ++word) {
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08x", static_cast<unsigned>(entropy()));
    id += hex;
  }
  return id;
}

}  // namespace sup::cli
