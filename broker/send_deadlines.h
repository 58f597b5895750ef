// SendDeadlines: the timeouts of sends waiting for a flush, a slave's ack or a DLedger quorum.
// Every such send waits at most syncFlushTimeout, so deadlines come in the order sends arrive
// and one FIFO with one timer serves them all. A per-send Asio timer would cost a strand, a
// timer-queue insert and two posts to the I/O threads for every message, where this costs a
// push under a mutex. Finished sends leave from the front as later ones arrive; the timer only
// fires when the oldest send still waiting reaches its deadline.
#pragma once

#include <chrono>
#include <memory>

// After a standard header: Asio's config tests libstdc++'s macros (_GLIBCXX_HAVE_ALIGNED_ALLOC),
// and a file that includes Asio before any of them compiles another aligned_new/aligned_delete
// pair than the rest of the program (ASan: alloc-dealloc-mismatch).
#include <asio.hpp>

namespace comet::broker {

// What SendDeadlines times out.
class Expirable {
 public:
  virtual ~Expirable() = default;
  // True once the send has answered (then it is never expired).
  virtual bool finished() const = 0;
  // The deadline passed first: answer with the timeout. Runs on the queue's strand.
  virtual void expire() = 0;
};

class SendDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  explicit SendDeadlines(asio::io_context& io);
  // Held sends are dropped without being expired; a pending timer wait ends harmlessly.
  ~SendDeadlines();

  // `deadline` must not be earlier than that of the send added before it (a fixed timeout).
  void add(Clock::time_point deadline, std::shared_ptr<Expirable> send);
  // Sends held: waiting ones, and finished ones not yet dropped from the front.
  size_t size() const;

 private:
  // Shared with the timer's handlers, which may outlive this object on a running io_context.
  struct State;
  static void on_timer(const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;
};

}  // namespace comet::broker
