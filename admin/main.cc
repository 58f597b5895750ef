// comet-admin <command> [options]: operations CLI for a comet cluster (see `comet-admin help`).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "admin/commands.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  // Library logs would mix into the tool's output; COMET_LOG_LEVEL brings them back.
  if (std::getenv("COMET_LOG_LEVEL") == nullptr) comet::set_log_level("off");
  std::vector<std::string> args(argv + 1, argv + argc);
  const int rc = comet::admin::run(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
