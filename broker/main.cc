// comet-broker [-c broker.properties] [key=value ...]: runs one broker until SIGTERM/SIGINT.
// Prints "comet-broker ready on <host:port>" on stdout once serving; --help lists every key with
// its default.
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include <asio.hpp>

#include "broker/broker_controller.h"
#include "common/logging.h"
#include "common/open_files_limit.h"

namespace {

void print_usage() {
  std::cout << "usage: comet-broker [-c broker.properties] [key=value ...]\n"
               "Runs one broker until SIGTERM or SIGINT. key=value arguments override the file's\n"
               "keys; an unknown key is ignored with a warning. Keys (key=default):\n"
            << comet::broker::BrokerConfig::keys_help();
}

// A page of a mapped store file that cannot be read (an I/O error under a CommitLog or
// ConsumeQueue mapping) raises SIGBUS in the thread that touched it. Going on would mean serving
// bytes nobody can vouch for: the broker says why on stderr (its log) and dies of the signal
// (SA_RESETHAND: returning re-runs the faulting access under the default action, so the exit
// status and a core dump still show SIGBUS). Async-signal-safe: write(2) only.
void on_sigbus(int, siginfo_t* info, void*) {
  char line[192] = "critical [broker] SIGBUS reading mapped memory at 0x";
  size_t n = sizeof("critical [broker] SIGBUS reading mapped memory at 0x") - 1;
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int shift = static_cast<int>(sizeof(addr) * 8) - 4; shift >= 0; shift -= 4)
    line[n++] = "0123456789abcdef"[(addr >> shift) & 0xf];
  constexpr std::string_view kWhy =
      ": a store file could not be read (I/O error); stopping rather than serve wrong data\n";
  for (char c : kWhy)
    line[n++] = c;
  if (::write(STDERR_FILENO, line, n) < 0) return;  // nowhere left to say it
}

void stop_on_unreadable_mapping() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace comet;
  // A peer or a pipe that goes away must cost a write its EPIPE, not the process: every socket
  // write asks MSG_NOSIGNAL, but stdout (the "ready" and role lines) is a pipe to whoever
  // started the broker.
  std::signal(SIGPIPE, SIG_IGN);
  stop_on_unreadable_mapping();
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "-h" || std::string_view(argv[i]) == "--help") {
      print_usage();
      return 0;
    }
  }
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
    } else if (auto eq = arg.find('='); eq != std::string::npos && eq > 0) {
      props.set(arg.substr(0, eq), arg.substr(eq + 1));
    } else {
      std::cerr << "comet-broker: unexpected argument '" << arg << "'\n";
      return 2;
    }
  }
  for (const std::string& key : unknown_config_keys(broker::BrokerConfig::keys(), props)) {
    logger("broker")->warn("ignoring unknown configuration key '{}'", key);
  }
  auto config = broker::BrokerConfig::from_properties(props);
  if (!config.is_ok()) {
    std::cerr << "comet-broker: bad configuration: " << config.status().to_string() << "\n";
    return 2;
  }
  // Before the store opens its files and clients connect: each holds a descriptor.
  raise_and_log_open_files_limit("broker");
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
