// comet-broker [-c broker.properties] [key=value ...]: runs one broker until SIGTERM/SIGINT.
// Prints "comet-broker ready on <host:port>" on stdout once serving.
#include <cstdio>
#include <iostream>
#include <string>

#include <asio.hpp>

#include "broker/broker_controller.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  using namespace comet;
  Properties props;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-c" && i + 1 < argc) {
      auto file = Properties::load_file(argv[++i]);
      if (!file.is_ok()) {
        std::cerr << "comet-broker: " << file.status().to_string() << "\n";
        return 2;
      }
      for (const auto& [k, v] : file->values())
        props.set(k, v);
    } else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: comet-broker [-c broker.properties] [key=value ...]\n";
      return 0;
    } else if (auto eq = arg.find('='); eq != std::string::npos && eq > 0) {
      props.set(arg.substr(0, eq), arg.substr(eq + 1));
    } else {
      std::cerr << "comet-broker: unexpected argument '" << arg << "'\n";
      return 2;
    }
  }
  auto config = broker::BrokerConfig::from_properties(props);
  if (!config.is_ok()) {
    std::cerr << "comet-broker: bad configuration: " << config.status().to_string() << "\n";
    return 2;
  }
  auto broker = broker::BrokerController::create(*config);
  if (!broker.is_ok()) {
    std::cerr << "comet-broker: " << broker.status().to_string() << "\n";
    return 1;
  }
  Status s = (*broker)->start();
  if (!s.is_ok()) {
    std::cerr << "comet-broker: " << s.to_string() << "\n";
    return 1;
  }
  std::printf("comet-broker ready on %s\n", (*broker)->address().c_str());
  std::fflush(stdout);

  asio::io_context signals_io;
  asio::signal_set signals(signals_io, SIGINT, SIGTERM);
  signals.async_wait(
      [&](std::error_code, int sig) { logger("broker")->info("signal {}: shutting down", sig); });
  signals_io.run();
  (*broker)->shutdown();
  return 0;
}
