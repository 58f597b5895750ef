// The comet-admin commands, named and lettered as in RocketMQ's mqadmin. run() takes one command
// line (without the program name), talks to the cluster through an AdminClient, and writes an
// aligned table, or with --json one JSON document, to `out`. Failures are one line each on `err`:
// "<command>: <what>: <why>". Exit codes: 0 success, 1 an operation failed (what could be done
// is still printed), 2 a usage error (unknown command or option, missing or malformed option),
// followed by the usage text on `err`.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace comet::admin {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kDefaultNamesrvAddr = "127.0.0.1:9876";

// $COMET_NAMESRV_ADDR, else kDefaultNamesrvAddr.
std::string default_namesrv_addr();

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const std::string& default_namesrv = default_namesrv_addr());

// The list of commands, and the options of one (empty when there is no such command).
std::string usage();
std::string command_usage(std::string_view command);

}  // namespace comet::admin
