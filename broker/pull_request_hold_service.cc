#include "broker/pull_request_hold_service.h"

namespace comet::broker {

PullRequestHoldService::PullRequestHoldService(asio::io_context& io, MaxOffsetFn max_offset)
    : strand_(asio::make_strand(io)), max_offset_(std::move(max_offset)) {}

void PullRequestHoldService::hold(std::string topic, uint32_t queue_id, uint64_t offset,
                                  std::chrono::milliseconds timeout, Retry retry) {
  asio::post(strand_, [this, topic = std::move(topic), queue_id, offset, timeout,
                       retry = std::move(retry)]() mutable {
    // A message may have arrived between the empty pull and now: then answer at once.
    if (max_offset_(topic, queue_id) > offset) {
      retry();
      return;
    }
    auto h = std::make_shared<Held>(
        Held{offset, std::make_shared<asio::steady_timer>(strand_), std::move(retry)});
    h->timer->expires_after(timeout);
    commitlog::TopicQueueKey key{std::move(topic), queue_id};
    h->timer->async_wait([this, key, weak = std::weak_ptr<Held>(h)](std::error_code ec) {
      if (ec) return;  // woken by an arrival
      auto h = weak.lock();
      if (!h) return;
      auto it = held_.find(key);
      if (it == held_.end()) return;
      auto& list = it->second;
      auto pos = std::find(list.begin(), list.end(), h);
      if (pos == list.end()) return;
      list.erase(pos);
      if (list.empty()) held_.erase(it);
      held_count_.fetch_sub(1, std::memory_order_relaxed);
      h->retry();
    });
    held_[key].push_back(std::move(h));
    held_count_.fetch_add(1, std::memory_order_relaxed);
  });
}

void PullRequestHoldService::notify_arrival(std::string_view topic, uint32_t queue_id,
                                            uint64_t max_offset) {
  asio::post(strand_, [this, key = commitlog::TopicQueueKey{std::string(topic), queue_id},
                       max_offset] { fire(key, max_offset); });
}

void PullRequestHoldService::fire(const commitlog::TopicQueueKey& key, uint64_t max_offset) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  std::vector<std::shared_ptr<Held>> ready;
  auto& list = it->second;
  for (auto h = list.begin(); h != list.end();) {
    if (max_offset > (*h)->offset) {
      ready.push_back(std::move(*h));
      h = list.erase(h);
    } else {
      ++h;
    }
  }
  if (list.empty()) held_.erase(it);
  held_count_.fetch_sub(ready.size(), std::memory_order_relaxed);
  for (auto& h : ready) {
    h->timer->cancel();
    h->retry();
  }
}

void PullRequestHoldService::wake_all() {
  asio::post(strand_, [this] {
    auto all = std::move(held_);
    held_.clear();
    for (auto& [_, list] : all) {
      held_count_.fetch_sub(list.size(), std::memory_order_relaxed);
      for (auto& h : list) {
        h->timer->cancel();
        h->retry();
      }
    }
  });
}

}  // namespace comet::broker
