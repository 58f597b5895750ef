// What each request to the name server needs under access control (docs/security.md):
// registrations and broker heartbeats come from brokers signing with the cluster credential; route
// and cluster reads need any valid account; anything else is admin-only.
#pragma once

#include "remoting/access_validator.h"
#include "remoting/remoting_command.h"

namespace comet::namesrv {

remoting::RequiredAccess namesrv_required_access(const remoting::RemotingCommand& cmd);

}  // namespace comet::namesrv
