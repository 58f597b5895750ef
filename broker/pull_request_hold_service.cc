#include "broker/pull_request_hold_service.h"

#include <algorithm>

namespace comet::broker {

PullRequestHoldService::PullRequestHoldService(asio::io_context& io, MaxOffsetFn max_offset)
    : strand_(asio::make_strand(io)), max_offset_(std::move(max_offset)) {}

void PullRequestHoldService::hold(std::string topic, uint32_t queue_id, uint64_t offset,
                                  std::chrono::milliseconds timeout, Retry retry) {
  asio::post(strand_, [this, topic = std::move(topic), queue_id, offset, timeout,
                       retry = std::move(retry)]() mutable {
    watch(topic, queue_id);
    // A message may have arrived between the empty pull and now: then answer at once.
    if (max_offset_(topic, queue_id) > offset) {
      unwatch(topic, queue_id, 1);
      retry();
      return;
    }
    const HeldPulls::Ticket ticket = index_.add(std::move(topic), queue_id, offset);
    auto timer = std::make_unique<asio::steady_timer>(strand_);
    timer->expires_after(timeout);
    timer->async_wait([this, ticket](std::error_code ec) {
      if (!ec) expire(ticket);  // else cancelled: an arrival retried it
    });
    waiting_.emplace(ticket, Waiting{std::move(timer), std::move(retry)});
    held_count_.fetch_add(1, std::memory_order_relaxed);
  });
}

void PullRequestHoldService::watch(const std::string& topic, uint32_t queue_id) {
  std::unique_lock lock(watched_mu_);
  auto it = watched_.find(commitlog::TopicQueueRef{topic, queue_id});
  if (it == watched_.end())
    it = watched_.emplace(commitlog::TopicQueueKey{topic, queue_id}, 0).first;
  ++it->second;
}

void PullRequestHoldService::unwatch(std::string_view topic, uint32_t queue_id, size_t pulls) {
  if (pulls == 0) return;
  std::unique_lock lock(watched_mu_);
  auto it = watched_.find(commitlog::TopicQueueRef{topic, queue_id});
  if (it == watched_.end()) return;
  it->second -= std::min(it->second, pulls);
  if (it->second == 0) watched_.erase(it);
}

bool PullRequestHoldService::watched(std::string_view topic, uint32_t queue_id) const {
  std::shared_lock lock(watched_mu_);
  return watched_.contains(commitlog::TopicQueueRef{topic, queue_id});
}

void PullRequestHoldService::expire(HeldPulls::Ticket ticket) {
  // An arrival may have taken it after the timer fired but before this ran.
  if (auto queue = index_.take(ticket)) {
    unwatch(queue->topic, queue->queue_id, 1);
    retry(ticket);
  }
}

void PullRequestHoldService::retry(HeldPulls::Ticket ticket) {
  auto node = waiting_.extract(ticket);
  if (node.empty()) return;
  held_count_.fetch_sub(1, std::memory_order_relaxed);
  node.mapped().timer->cancel();
  node.mapped().retry();
}

void PullRequestHoldService::notify_arrival(std::string_view topic, uint32_t queue_id,
                                            uint64_t max_offset) {
  if (!watched(topic, queue_id)) return;
  asio::post(strand_, [this, topic = std::string(topic), queue_id, max_offset] {
    const auto ready = index_.take_ready(topic, queue_id, max_offset);
    unwatch(topic, queue_id, ready.size());
    for (HeldPulls::Ticket ticket : ready)
      retry(ticket);
  });
}

void PullRequestHoldService::wake_all() {
  asio::post(strand_, [this] {
    {
      std::unique_lock lock(watched_mu_);
      watched_.clear();
    }
    for (HeldPulls::Ticket ticket : index_.take_all())
      retry(ticket);
  });
}

}  // namespace comet::broker
