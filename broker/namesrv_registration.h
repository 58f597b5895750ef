// NamesrvRegistration: what the broker sends one name server each heartbeat interval (RocketMQ's
// BrokerController.needRegister, as a state machine without I/O). The broker sends its whole
// topic table (REGISTER_BROKER) only when the name server may not hold it at the current data
// version; otherwise a small BROKER_HEARTBEAT that names the version the name server accepted.
//
// - Nothing accepted yet (start, a failed request, a role change, a fenced registration): full.
// - The table changed since the version the name server accepted: full.
// - Else a heartbeat. When its answer says the name server does not hold that table (it
//   restarted, or expired the broker), the broker forgets the version and registers fully at once.
// Not thread-safe: the broker keeps one per name server under its lock.
#pragma once

#include <optional>

#include "broker/data_version.h"

namespace comet::broker {

enum class RegistrationKind {
  kFull,       // REGISTER_BROKER with every topic
  kHeartbeat,  // BROKER_HEARTBEAT: identity, role, epoch and data version only
};

class NamesrvRegistration {
 public:
  // What to send now, the broker's table being at `current`.
  RegistrationKind next(const DataVersion& current) const {
    return accepted_ == current ? RegistrationKind::kHeartbeat : RegistrationKind::kFull;
  }
  // The name server answered a full registration of the table at `sent`. A fenced broker was
  // not registered: its next request is full again.
  void on_full_answered(const DataVersion& sent, bool fenced) {
    if (fenced) {
      accepted_.reset();
    } else {
      accepted_ = sent;
    }
  }
  // The name server answered a heartbeat; `full_needed`: it does not hold the table.
  void on_heartbeat_answered(bool full_needed) {
    if (full_needed) accepted_.reset();
  }
  // No answer or an error, or the broker's role changed: register fully next time.
  void forget() { accepted_.reset(); }

  // The version the name server holds, as far as the broker knows; what a heartbeat carries.
  const std::optional<DataVersion>& accepted() const { return accepted_; }

 private:
  std::optional<DataVersion> accepted_;
};

}  // namespace comet::broker
