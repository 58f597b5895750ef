// comet-namesrv [-c file.properties] [key=value ...]: runs a name server until SIGTERM/SIGINT.
// key=value arguments override the file. Prints "comet-namesrv ready on <host>:<port>" on
// stdout once listening; a bad configuration exits with code 2, a failed start with code 1.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <asio.hpp>

#include "common/logging.h"
#include "common/open_files_limit.h"
#include "common/properties.h"
#include "namesrv/namesrv_config.h"
#include "namesrv/namesrv_controller.h"

namespace {

constexpr int kExitStartFailed = 1;
constexpr int kExitBadConfig = 2;

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: comet-namesrv [-c file.properties] [key=value ...]\n"
               "Runs a name server until SIGTERM or SIGINT. key=value arguments override the "
               "file's\nkeys; an unknown key is ignored with a warning. Keys (key=default):\n%s",
               comet::namesrv::NamesrvConfig::keys_help().c_str());
}

comet::Result<comet::Properties> load_properties(int argc, char** argv) {
  std::string file;
  comet::Properties overrides;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-c") {
      if (i + 1 >= argc) return comet::Status::invalid_argument("-c needs a file name");
      file = argv[++i];
      continue;
    }
    auto eq = arg.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return comet::Status::invalid_argument("unexpected argument '" + std::string(arg) +
                                             "' (expected key=value)");
    }
    overrides.set(std::string(arg.substr(0, eq)), std::string(arg.substr(eq + 1)));
  }
  comet::Properties props;
  if (!file.empty()) {
    auto loaded = comet::Properties::load_file(file);
    if (!loaded.is_ok()) return loaded.status();
    props = std::move(loaded).value();
  }
  for (const auto& [k, v] : overrides.values())
    props.set(k, v);
  return props;
}

}  // namespace

int main(int argc, char** argv) {
  // A peer or a pipe that goes away must cost a write its EPIPE, not the process (as in
  // comet-broker's main).
  std::signal(SIGPIPE, SIG_IGN);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    }
  }
  auto log = comet::logger("namesrv");
  auto props = load_properties(argc, argv);
  if (!props.is_ok()) {
    std::fprintf(stderr, "comet-namesrv: %s\n", props.status().message().c_str());
    usage(stderr);
    return kExitBadConfig;
  }
  auto config = comet::namesrv::NamesrvConfig::from_properties(*props);
  if (!config.is_ok()) {
    std::fprintf(stderr, "comet-namesrv: bad configuration: %s\n",
                 config.status().message().c_str());
    return kExitBadConfig;
  }
  for (const std::string& key :
       comet::unknown_config_keys(comet::namesrv::NamesrvConfig::keys(), *props)) {
    log->warn("ignoring unknown configuration key '{}'", key);
  }

  comet::raise_and_log_open_files_limit("namesrv");  // a connection per broker and client

  // Installed before the server starts, so a signal sent right after the ready line is seen.
  asio::io_context main_io;
  asio::signal_set signals(main_io, SIGINT, SIGTERM);
  signals.async_wait([log](std::error_code ec, int sig) {
    if (!ec) log->info("received signal {}, shutting down", sig);
  });

  comet::namesrv::NamesrvController controller(*config);
  // An expiry is rare and worth a line beside the ready line: scripts and tests wait on it.
  controller.set_expiry_listener([](const std::vector<std::string>& removed) {
    for (const auto& addr : removed)
      std::printf("comet-namesrv broker expired: %s\n", addr.c_str());
    std::fflush(stdout);
  });
  if (auto st = controller.start(); !st.is_ok()) {
    std::fprintf(stderr, "comet-namesrv: cannot start: %s\n", st.message().c_str());
    return kExitStartFailed;
  }
  std::string host = config->bind_address;
  if (host == "0.0.0.0" || host == "::") {
    host = "127.0.0.1";
  } else if (host.find(':') != std::string::npos) {
    host = "[" + host + "]";
  }
  std::printf("comet-namesrv ready on %s:%u\n", host.c_str(),
              static_cast<unsigned>(controller.port()));
  std::fflush(stdout);

  main_io.run();
  controller.stop();
  return 0;
}
