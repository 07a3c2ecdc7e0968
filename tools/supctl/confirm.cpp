#include "supctl/confirm.hpp"

#include <algorithm>
#include <cctype>
#include <istream>
#include <ostream>
#include <string>

namespace sup::cli {

Confirmation confirm(std::string_view question, bool yes, bool interactive, std::istream& answer,
                     std::ostream& prompt) {
  if (yes) return Confirmation::Confirmed;
  if (!interactive) return Confirmation::NeedsFlag;
  prompt << question << " [y/N] " << std::flush;
  std::string reply;
  if (!std::getline(answer, reply)) {
    prompt << "\n";
    return Confirmation::Declined;
  }
  const auto blank = [](unsigned char c) { return std::isspace(c) != 0; };
  reply.erase(reply.begin(), std::find_if_not(reply.begin(), reply.end(), blank));
  reply.erase(std::find_if_not(reply.rbegin(), reply.rend(), blank).base(), reply.end());
  std::transform(reply.begin(), reply.end(), reply.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return reply == "y" || reply == "yes" ? Confirmation::Confirmed : Confirmation::Declined;
}

}  // namespace sup::cli
