// What each request on the broker's client port needs under access control (docs/security.md):
// the broker's permission table, read by its AclGate. Every code the broker serves is listed;
// anything else is admin-only.
#pragma once

#include <cstdint>
#include <vector>

#include "remoting/access_validator.h"
#include "remoting/remoting_command.h"

namespace comet::broker {

remoting::RequiredAccess broker_required_access(const remoting::RemotingCommand& cmd);

// The codes broker_required_access() lists as admin-only (tests loop over them).
const std::vector<remoting::RequestCode>& broker_admin_only_codes();

}  // namespace comet::broker
