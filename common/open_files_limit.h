// The descriptor limit of a server: a broker or name server holds a descriptor per client
// connection (and the broker more for its store), so the 1,024 that most shells give as the soft
// RLIMIT_NOFILE caps it at about a thousand clients, while the hard limit (1,048,576 on systemd
// machines) is what the administrator allows. Both binaries raise the soft limit to the hard one
// at start, as Go's runtime, nginx and RocketMQ's start scripts do, and log the figure. The
// process's code never uses select(), whose FD_SETSIZE is the reason the default is low.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace comet {

struct OpenFilesLimit {
  uint64_t soft_before = 0;  // the soft limit the process started with
  uint64_t soft = 0;         // the soft limit now
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (capped at the kernel's fs.nr_open when the
// hard limit is unlimited); a limit already there is left alone.
Result<OpenFilesLimit> raise_open_files_limit();
// The soft RLIMIT_NOFILE now (0 when it cannot be read).
uint64_t open_files_soft_limit();
// "descriptor limit (RLIMIT_NOFILE): soft 1024 raised to 1048576, the hard limit"
std::string describe(const OpenFilesLimit& limit);
// Raises the limit and logs the outcome on `logger_name`'s logger (a failure is a warning: the
// server still runs, with fewer connections).
void raise_and_log_open_files_limit(const std::string& logger_name);

}  // namespace comet
