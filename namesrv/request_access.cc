#include "namesrv/request_access.h"

namespace comet::namesrv {

using remoting::RequestCode;
using remoting::RequiredAccess;

RequiredAccess namesrv_required_access(const remoting::RemotingCommand& cmd) {
  switch (static_cast<RequestCode>(cmd.code())) {
    case RequestCode::REGISTER_BROKER:
    case RequestCode::BROKER_HEARTBEAT:
    case RequestCode::UNREGISTER_BROKER:
      return RequiredAccess::cluster_only();
    case RequestCode::GET_ROUTEINFO_BY_TOPIC:
    case RequestCode::GET_BROKER_CLUSTER_INFO:
      return RequiredAccess::any_account();
    default:
      return RequiredAccess::admin();
  }
}

}  // namespace comet::namesrv
