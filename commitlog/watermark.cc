#include "commitlog/watermark.h"

#include <condition_variable>
#include <memory>
#include <vector>

namespace comet::commitlog {

size_t Watermark::advance(uint64_t offset) {
  std::vector<Callback> ready;
  {
    std::lock_guard lock(mu_);
    if (offset <= offset_.load(std::memory_order_relaxed)) return 0;
    offset_.store(offset, std::memory_order_release);
    auto end = waiters_.upper_bound(offset);
    for (auto it = waiters_.begin(); it != end; ++it)
      ready.push_back(std::move(it->second));
    waiters_.erase(waiters_.begin(), end);
  }
  for (auto& cb : ready)
    cb(Status::ok());
  return ready.size();
}

void Watermark::reset(uint64_t offset) {
  std::lock_guard lock(mu_);
  offset_.store(offset, std::memory_order_release);
}

void Watermark::fail_all(const Status& status, bool sticky) {
  std::multimap<uint64_t, Callback> failed;
  {
    std::lock_guard lock(mu_);
    failed.swap(waiters_);
    if (sticky) sticky_error_ = status;
  }
  for (auto& [_, cb] : failed)
    cb(status);
}

void Watermark::on_reach(uint64_t offset, Callback cb) {
  std::function<void()> hook;
  {
    std::unique_lock lock(mu_);
    if (!sticky_error_.is_ok()) {
      Status s = sticky_error_;
      lock.unlock();
      cb(s);
      return;
    }
    if (offset <= offset_.load(std::memory_order_relaxed)) {
      lock.unlock();
      cb(Status::ok());
      return;
    }
    waiters_.emplace(offset, std::move(cb));
    hook = waiter_added_hook_;
  }
  if (hook) hook();
}

Status Watermark::wait(uint64_t offset, std::chrono::milliseconds timeout) {
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Status status;
  };
  auto state = std::make_shared<State>();
  on_reach(offset, [state](Status s) {
    std::lock_guard lock(state->mu);
    state->done = true;
    state->status = std::move(s);
    state->cv.notify_one();
  });
  std::unique_lock lock(state->mu);
  if (!state->cv.wait_for(lock, timeout, [&] { return state->done; })) {
    return Status::timeout("offset " + std::to_string(offset) + " not reached in " +
                           std::to_string(timeout.count()) + " ms");
  }
  return state->status;
}

size_t Watermark::pending() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

uint64_t Watermark::lowest_waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.empty() ? UINT64_MAX : waiters_.begin()->first;
}

void Watermark::set_waiter_added_hook(std::function<void()> hook) {
  std::lock_guard lock(mu_);
  waiter_added_hook_ = std::move(hook);
}

}  // namespace comet::commitlog
