#include "broker/send_deadlines.h"

#include <deque>
#include <mutex>
#include <vector>

namespace comet::broker {

struct SendDeadlines::State {
  explicit State(asio::io_context& io) : strand(asio::make_strand(io)), timer(strand) {}

  struct Entry {
    Clock::time_point deadline;
    std::shared_ptr<Expirable> send;
  };

  // Drops answered sends from the front; moves those past their deadline to `expired`.
  void pop_front_locked(Clock::time_point now, std::vector<std::shared_ptr<Expirable>>* expired) {
    while (!queue.empty()) {
      Entry& e = queue.front();
      if (!e.send->finished()) {
        if (expired == nullptr || e.deadline > now) return;
        expired->push_back(std::move(e.send));
      }
      queue.pop_front();
    }
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::steady_timer timer;  // used on `strand` only
  mutable std::mutex mu;
  std::deque<Entry> queue;
  bool armed = false;  // a timer wait, or the post that starts one, is pending
};

SendDeadlines::SendDeadlines(asio::io_context& io) : state_(std::make_shared<State>(io)) {}

SendDeadlines::~SendDeadlines() {
  // Nothing is added after this; a pending wait finds the queue empty and stops.
  std::lock_guard lock(state_->mu);
  state_->queue.clear();
}

void SendDeadlines::add(Clock::time_point deadline, std::shared_ptr<Expirable> send) {
  std::lock_guard lock(state_->mu);
  state_->pop_front_locked(deadline, nullptr);
  state_->queue.push_back({deadline, std::move(send)});
  if (state_->armed) return;
  state_->armed = true;
  asio::post(state_->strand, [state = state_] { on_timer(state); });
}

size_t SendDeadlines::size() const {
  std::lock_guard lock(state_->mu);
  return state_->queue.size();
}

void SendDeadlines::on_timer(const std::shared_ptr<State>& state) {
  std::vector<std::shared_ptr<Expirable>> expired;
  {
    std::lock_guard lock(state->mu);
    state->pop_front_locked(Clock::now(), &expired);
    if (state->queue.empty()) {
      state->armed = false;
    } else {
      state->timer.expires_at(state->queue.front().deadline);
      state->timer.async_wait([state](std::error_code ec) {
        if (!ec) on_timer(state);
      });
    }
  }
  for (auto& send : expired)
    send->expire();
}

}  // namespace comet::broker
