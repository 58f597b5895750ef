#include "broker/replication.h"

#include <cstdio>

namespace comet::broker {

void announce(const std::string& line) {
  std::printf("comet-broker %s\n", line.c_str());
  std::fflush(stdout);
}

uint64_t store_read_bound(commitlog::MessageStore& store) {
  return store.commit_bounded() ? store.committed().get() : store.commit_log().max_offset();
}

}  // namespace comet::broker
