// The y/N question before a dangerous command (remove, quarantine, kill,
// shutdown-tree).
//
// --yes answers it up front. Without --yes, a person at a terminal is asked;
// a script (stdin not a terminal) is refused rather than left hanging or
// allowed to do damage by default.
//
//   switch (confirm("Remove child 'ingest'?", yes, isatty(0), std::cin, std::cerr)) {
//     case Confirmation::Confirmed: ...
//     case Confirmation::Declined: return ExitCode::NotDone;
//     case Confirmation::NeedsFlag: return ExitCode::Usage;
//   }
#pragma once

#include <iosfwd>
#include <string_view>

namespace sup::cli {

enum class Confirmation : unsigned char { Confirmed, Declined, NeedsFlag };

// Asks `question` on `prompt` and reads one line of `answer`; only "y" or
// "yes" (any case) confirms. End of input declines.
Confirmation confirm(std::string_view question, bool yes, bool interactive, std::istream& answer,
                     std::ostream& prompt);

}  // namespace sup::cli
