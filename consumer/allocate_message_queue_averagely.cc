#include "consumer/allocate_message_queue_averagely.h"

#include <algorithm>

namespace comet::client {

std::vector<MessageQueue> AllocateMessageQueueAveragely::allocate(
    const std::string& current_cid, std::vector<MessageQueue> mq_all,
    std::vector<std::string> cid_all) {
  std::sort(mq_all.begin(), mq_all.end());
  mq_all.erase(std::unique(mq_all.begin(), mq_all.end()), mq_all.end());
  std::sort(cid_all.begin(), cid_all.end());
  cid_all.erase(std::unique(cid_all.begin(), cid_all.end()), cid_all.end());
  auto it = std::find(cid_all.begin(), cid_all.end(), current_cid);
  if (it == cid_all.end() || mq_all.empty()) return {};

  const size_t index = static_cast<size_t>(it - cid_all.begin());
  const size_t queues = mq_all.size();
  const size_t consumers = cid_all.size();
  const size_t mod = queues % consumers;
  const size_t average =
      queues <= consumers ? 1
                          : (mod > 0 && index < mod ? queues / consumers + 1 : queues / consumers);
  const size_t start = mod > 0 && index < mod ? index * average : index * average + mod;
  if (start >= queues) return {};
  const size_t range = std::min(average, queues - start);
  return {mq_all.begin() + static_cast<std::ptrdiff_t>(start),
          mq_all.begin() + static_cast<std::ptrdiff_t>(start + range)};
}

}  // namespace comet::client
