#include "remoting/accept_backoff.h"

#include <algorithm>
#include <cerrno>

#include <asio/error.hpp>

namespace comet::remoting {

bool AcceptBackoff::out_of_resources(std::error_code ec) {
  // Asio reports errno values in a category of its own ("asio.system"), which this Asio (1.22)
  // does not map to std::errc conditions: compare the values of the errno categories.
  const auto& category = ec.category();
  if (category != asio::system_category() && category != std::system_category() &&
      category != std::generic_category()) {
    return false;
  }
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
