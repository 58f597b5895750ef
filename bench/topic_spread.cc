#include "bench/topic_spread.h"

#include <mutex>

#include "admin/admin_client.h"
#include "bench/bench_security.h"
#include "bench/window.h"

namespace comet::bench {

TopicSet TopicSet::spread(const std::string& prefix, int count) {
  if (count <= 1) return TopicSet(prefix);
  std::vector<std::string> names;
  names.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i)
    names.push_back(prefix + "-" + std::to_string(i));
  return TopicSet(std::move(names));
}

Status create_topics(const std::string& namesrv, const std::vector<std::string>& masters,
                     const TopicSet& topics, int queues, int inflight,
                     std::chrono::milliseconds timeout) {
  admin::AdminClient admin(bench_admin_config(namesrv), timeout);
  Window window(inflight);
  std::mutex mu;
  Status first_error;
  for (const auto& addr : masters) {
    for (const auto& name : topics.names()) {
      {
        std::lock_guard lock(mu);
        if (!first_error.is_ok()) break;
      }
      protocol::TopicConfigT config;
      config.topic_name = name;
      config.read_queue_nums = config.write_queue_nums = queues;
      config.perm = 6;
      window.acquire();
      admin.update_topic_async(addr, config, [&, name](Status s) {
        if (!s.is_ok()) {
          std::lock_guard lock(mu);
          if (first_error.is_ok()) {
            first_error = Status(s.code(), "creating " + name + " on " + addr + ": " + s.message());
          }
        }
        window.release();
      });
    }
  }
  window.drain();
  return first_error;
}

}  // namespace comet::bench
