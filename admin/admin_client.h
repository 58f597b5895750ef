// AdminClient: the blocking, typed requests behind comet-admin, one per wire request, each bounded
// by the client's timeout. A failure is a Status whose message is either the transport failure
// ("cannot connect to ...", "no response from ... within N ms") or "<RESPONSE_CODE>: <remark>" as
// the server answered. Name-server requests try each configured name server in turn until one
// answers. decode_records() turns a pull response body into messages, checking every CRC.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/record_codec.h"
#include "common/status.h"
#include "remoting/remoting_client.h"

namespace comet::admin {

namespace protocol = ::comet::protocol;
using remoting::ResponseCode;

// "a;b" → {"a", "b"} (RocketMQ's namesrvAddr list), blanks dropped.
std::vector<std::string> split_namesrv_addrs(std::string_view list);

struct SendResult {
  std::string send_status;  // SEND_OK, FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE
  protocol::SendMessageResponseT response;
};

struct PullResult {
  ResponseCode code = ResponseCode::SUCCESS;  // SUCCESS or one of the PULL_* outcomes
  protocol::PullMessageResponseT response;
  std::string body;  // CommitLog records (SUCCESS only)
};

struct OutgoingMessage {
  std::string topic;
  std::string body;
  std::string tags;
  std::string keys;
};

class AdminClient {
 public:
  AdminClient(std::vector<std::string> namesrv_addrs, std::chrono::milliseconds timeout);

  Result<protocol::ClusterInfoT> cluster_info();
  Result<protocol::TopicRouteDataT> route(const std::string& topic);

  Status update_topic(const std::string& broker_addr, const protocol::TopicConfigT& config);
  Status delete_topic(const std::string& broker_addr, const std::string& topic);
  Result<std::vector<protocol::TopicConfigT>> topic_configs(const std::string& broker_addr);
  Result<int64_t> min_offset(const std::string& broker_addr, const std::string& topic,
                             int32_t queue_id);
  Result<int64_t> max_offset(const std::string& broker_addr, const std::string& topic,
                             int32_t queue_id);
  // nullopt when the group has committed nothing for the queue (QUERY_NOT_FOUND).
  Result<std::optional<int64_t>> consumer_offset(const std::string& broker_addr,
                                                 const std::string& group, const std::string& topic,
                                                 int32_t queue_id);
  Status update_consumer_offset(const std::string& broker_addr, const std::string& group,
                                const std::string& topic, int32_t queue_id, int64_t offset);
  Result<std::vector<std::string>> consumer_list(const std::string& broker_addr,
                                                 const std::string& group);
  Result<std::vector<std::pair<std::string, std::string>>> runtime_info(
      const std::string& broker_addr);

  Result<protocol::HaStatusT> ha_status(const std::string& broker_addr);
  // Makes the slave at `broker_addr` the master of a new epoch (>= min_epoch); `role` empty:
  // the role its master had. Returns the broker's description of what it did.
  Result<std::string> promote_slave(const std::string& broker_addr, int64_t min_epoch,
                                    const std::string& role);

  // DLedger: the member's view of its Raft group.
  Result<protocol::DLedgerStatusT> dledger_status(const std::string& broker_addr);
  // DLedger: asks the leader at `broker_addr` to hand leadership to member `target_id`; returns
  // once the target leads.
  Result<std::string> transfer_leader(const std::string& broker_addr, const std::string& target_id);

  // One record; queue_id -1 lets the broker pick.
  Result<SendResult> send(const std::string& broker_addr, const OutgoingMessage& msg,
                          int32_t queue_id);
  // Errors are only the answers that are not pull outcomes (TOPIC_NOT_EXIST, BAD_REQUEST, ...).
  Result<PullResult> pull(const std::string& broker_addr, const protocol::PullMessageRequestT& req);

  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Result<remoting::RemotingCommand> call(const std::string& addr, remoting::RemotingCommand req,
                                         std::chrono::milliseconds timeout);
  Result<remoting::RemotingCommand> call(const std::string& addr, remoting::RemotingCommand req) {
    return call(addr, std::move(req), timeout_);
  }
  Result<remoting::RemotingCommand> call_namesrv(const remoting::RemotingCommand& req);
  Result<int64_t> queue_offset(const std::string& broker_addr, const std::string& topic,
                               int32_t queue_id, bool max);

  std::vector<std::string> namesrv_addrs_;
  std::chrono::milliseconds timeout_;
  remoting::RemotingClient client_;
};

// A Status for a server's error answer: "<RESPONSE_CODE>: <remark>".
Status status_from_response(const remoting::RemotingCommand& resp);

struct DecodedMessage {
  RecordView record;  // views into the decoded body
  std::string_view tags;
  std::string_view keys;
};

struct DecodedRecords {
  std::vector<DecodedMessage> messages;
  // Set when a record fails its checks (CRC, magic, lengths); decoding stops there.
  std::optional<std::string> corruption;
  size_t corrupt_at = 0;  // byte position of the bad record in the body
};

// Decodes the records of a pull response body, verifying each CRC. The views point into `body`.
DecodedRecords decode_records(std::string_view body);

}  // namespace comet::admin
