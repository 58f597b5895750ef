#include "common/open_files_limit.h"

#include <sys/resource.h>

#include <cerrno>
#include <fstream>

#include "common/logging.h"

namespace comet {
namespace {

// With an unlimited hard limit the kernel still refuses a soft limit above fs.nr_open.
uint64_t kernel_open_files_max() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t n = 0;
  if (in >> n && n > 0) return n;
  return uint64_t{1} << 20;  // the kernel's default nr_open
}

}  // namespace

Result<OpenFilesLimit> raise_open_files_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return Status::from_errno("getrlimit", errno);
  OpenFilesLimit out;
  out.soft_before = lim.rlim_cur;
  out.hard = lim.rlim_max == RLIM_INFINITY ? kernel_open_files_max() : lim.rlim_max;
  out.soft = lim.rlim_cur;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur >= out.hard) return out;
  lim.rlim_cur = out.hard;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    return Status::from_errno("setrlimit(RLIMIT_NOFILE, " + std::to_string(out.hard) + ")", errno);
  }
  out.soft = out.hard;
  return out;
}

uint64_t open_files_soft_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  return lim.rlim_cur;
}

std::string describe(const OpenFilesLimit& limit) {
  std::string out = "descriptor limit (RLIMIT_NOFILE): soft ";
  if (limit.soft == limit.soft_before) {
    out += std::to_string(limit.soft) + ", hard " + std::to_string(limit.hard);
    if (limit.soft < limit.hard) out += " (not raised)";
    return out;
  }
  return out + std::to_string(limit.soft_before) + " raised to " + std::to_string(limit.soft) +
         ", the hard limit";
}

void raise_and_log_open_files_limit(const std::string& logger_name) {
  auto raised = raise_open_files_limit();
  if (!raised.is_ok()) {
    logger(logger_name)
        ->warn("cannot raise the descriptor limit: {}; at most {} descriptors",
               raised.status().to_string(), open_files_soft_limit());
    return;
  }
  logger(logger_name)->info("{}", describe(*raised));
}

}  // namespace comet
