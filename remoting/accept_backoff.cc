#include "remoting/accept_backoff.h"

#include <algorithm>
#include <cerrno>

namespace comet::remoting {

bool AcceptBackoff::out_of_resources(std::error_code ec) {
  if (ec.category() != std::system_category()) return false;
  const int e = ec.value();
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

AcceptBackoff::Step AcceptBackoff::on_failure(std::error_code ec, Clock::time_point now) {
  Step step;
  if (out_of_resources(ec)) {
    wait_ = wait_.count() == 0 ? kFirstWait : std::min(wait_ * 2, kMaxWait);
    step.wait = wait_;
  }
  ++unlogged_;
  if (!logged_at_ || now - *logged_at_ >= kLogInterval) {
    step.log = true;
    step.failures = unlogged_;
    unlogged_ = 0;
    logged_at_ = now;
  }
  return step;
}

}  // namespace comet::remoting
