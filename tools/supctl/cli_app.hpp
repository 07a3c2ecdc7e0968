// supctl's command line: the global options, the subcommands, and usage
// errors as exit code 2. main() is a one-liner over `run_supctl`, so tests
// drive the whole CLI with their own streams against a fake daemon.
//
//   std::ostringstream out, err;
//   std::istringstream in;
//   const char* argv[] = {"supctl", "--socket", path, "state"};
//   int code = run_supctl(4, argv, {out, err, in});
#pragma once

#include "supctl/command_context.hpp"

namespace sup::cli {

// Parses the arguments, runs the command, and returns the exit code
// (docs/supctl.md lists them).
int run_supctl(int argc, const char* const* argv, Io io);

}  // namespace sup::cli
