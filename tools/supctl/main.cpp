// supctl: the operator's command line for the `supervisor` daemon (docs/supctl.md).
#include <unistd.h>

#include <iostream>

#include "supctl/cli_app.hpp"
#include "supctl/terminal.hpp"

int main(int argc, char** argv) {
  sup::cli::Io io{std::cout, std::cerr, std::cin, ::isatty(STDIN_FILENO) != 0, {}, {}};
  if (auto size = sup::cli::terminal_size(STDOUT_FILENO)) {
    io.out_columns = size->columns;
    io.out_rows = size->rows;
  }
  return sup::cli::run_supctl(argc, argv, io);
}
