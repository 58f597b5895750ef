#include "remoting/rocketmq_json.h"

namespace comet::remoting::rocketmq {
namespace {
Status json_unimplemented() {
  return Status::unsupported("rocketmq json: not implemented");
}
}  // namespace

Result<HeartbeatJson> parse_heartbeat(std::string_view) {
  return json_unimplemented();
}
std::string encode_heartbeat(const HeartbeatJson&) {
  return {};
}
Result<LockBatchJson> parse_lock_batch(std::string_view) {
  return json_unimplemented();
}
std::string encode_lock_batch(const LockBatchJson&) {
  return {};
}
Result<std::vector<MessageQueueRef>> parse_lock_ok(std::string_view) {
  return json_unimplemented();
}
std::string encode_lock_ok(const std::vector<MessageQueueRef>&) {
  return {};
}
std::string encode_route(const RouteJson&, bool) {
  return {};
}
Result<RouteJson> parse_route(std::string_view) {
  return json_unimplemented();
}
std::string encode_cluster_info(const ClusterJson&, bool) {
  return {};
}
std::string encode_consumer_id_list(const std::vector<std::string>&) {
  return {};
}
Result<std::vector<std::string>> parse_consumer_id_list(std::string_view) {
  return json_unimplemented();
}

}  // namespace comet::remoting::rocketmq
