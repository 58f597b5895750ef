// Long polling: a pull that finds nothing new is held until a message arrives on its queue
// (woken by the store's dispatcher through notify_arrival) or its suspend time runs out, then
// retried once. Everything runs on one strand; a timer per held pull bounds the wait. No polling.
// Which pulls wait where is HeldPulls' index: an arrival costs the pulls on its own queue. The
// dispatcher reports every queue a batch of messages touched; only a queue with a pull held (or
// being held) costs a post to the strand, the others one shared-locked lookup (a producer over
// 10,000 topics with nobody waiting would otherwise post once a message).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <asio.hpp>

#include "broker/held_pulls.h"

namespace comet::broker {

class PullRequestHoldService {
 public:
  // Re-runs the pull and answers the client; `suspend_allowed` is false on the last try.
  using Retry = std::function<void()>;
  using MaxOffsetFn = std::function<uint64_t(std::string_view topic, uint32_t queue_id)>;

  PullRequestHoldService(asio::io_context& io, MaxOffsetFn max_offset);

  // Holds a pull of (topic, queue) at `offset` until the queue's max offset passes it or
  // `timeout` elapses, then calls `retry` once on the service's strand.
  void hold(std::string topic, uint32_t queue_id, uint64_t offset,
            std::chrono::milliseconds timeout, Retry retry);
  // Called (from any thread) when messages were indexed up to `max_offset`.
  void notify_arrival(std::string_view topic, uint32_t queue_id, uint64_t max_offset);
  // Retries every held pull now (broker shutdown).
  void wake_all();
  size_t held() const { return held_count_.load(std::memory_order_relaxed); }

 private:
  struct Waiting {
    std::unique_ptr<asio::steady_timer> timer;  // the suspend time
    Retry retry;
  };
  // The gate notify_arrival reads: watch before a pull's max offset is checked, unwatch once it
  // left the index. A dispatcher that finds no watch read its queue's max offset after the
  // watch's check would see it (both go through watched_mu_), so no arrival is lost.
  void watch(const std::string& topic, uint32_t queue_id);
  void unwatch(std::string_view topic, uint32_t queue_id, size_t pulls);
  bool watched(std::string_view topic, uint32_t queue_id) const;
  void expire(HeldPulls::Ticket ticket);
  // Takes the pull of `ticket` out of waiting_, stops its timer and retries it.
  void retry(HeldPulls::Ticket ticket);

  asio::strand<asio::io_context::executor_type> strand_;
  MaxOffsetFn max_offset_;
  HeldPulls index_;                                         // strand only
  std::unordered_map<HeldPulls::Ticket, Waiting> waiting_;  // strand only
  std::atomic<size_t> held_count_{0};
  mutable std::shared_mutex watched_mu_;
  commitlog::TopicQueueMap<size_t> watched_;  // pulls held or being held, by queue; written on
                                              // the strand
};

}  // namespace comet::broker
