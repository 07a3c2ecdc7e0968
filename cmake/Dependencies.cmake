# Every dependency comes from a Debian package (tools/setup installs them),
# and each is required because the code uses it:
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)  # parsing: config, requests, supctl (writing: src/json)
find_package(spdlog REQUIRED)              # logging: src/common, src/daemon (journald sink)
find_package(fmt REQUIRED)                 # spdlog's formatting, the drills' messages
find_package(doctest REQUIRED)             # tests/unit, tests/integration
find_package(CLI11 REQUIRED)               # supervisor, supctl, bench command lines
find_package(Boost 1.74 REQUIRED)          # Asio: the relay's socket server
find_package(prometheus-cpp CONFIG REQUIRED)  # the metrics endpoint (HTTP/metrics issue)
pkg_check_modules(LMDB REQUIRED IMPORTED_TARGET lmdb)  # src/store: checkpoints, executions
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)  # checkpoint export archives
find_package(OpenSSL REQUIRED COMPONENTS Crypto)  # SHA-256 of artifacts and export members
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)  # sd_notify, journald
# oneTBB is not required: only bench/execution_bench looks for it (as a peer).

# CAF core (the actors); caf_io is not used: the relay serves its socket with Asio.
# libcaf-dev ships no CMake package nor pkg-config file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIB caf_core REQUIRED)
add_library(caf::core UNKNOWN IMPORTED)
set_target_properties(caf::core PROPERTIES
  IMPORTED_LOCATION ${CAF_CORE_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
  INTERFACE_LINK_LIBRARIES Threads::Threads)
