// PULL_MESSAGE, VIEW_MESSAGE_BY_ID and QUERY_MESSAGE: their answers carry CommitLog records,
// which RocketMQ clients read in the store format (remoting/rocketmq_message.h).
#include <string>

#include "remoting/rocketmq_message.h"
#include "remoting/rocketmq_translate.h"

namespace comet::remoting::rocketmq::translate {

namespace {

// PullSysFlag bits.
constexpr int64_t kPullCommitOffset = 0x1;
constexpr int64_t kPullSuspend = 0x2;
constexpr int64_t kPullSubscription = 0x4;

}  // namespace

ToNativeResult pull_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::PullMessageRequestT ext;
  auto queue_id = req.ext.get_int("queueId");
  if (!queue_id.is_ok()) return refuse(queue_id.status());
  auto offset = req.ext.get_int("queueOffset");
  if (!offset.is_ok()) return refuse(offset.status());
  const int64_t sys_flag = req.ext.get_int_or("sysFlag", 0);
  ext.consumer_group = std::string(req.ext.get("consumerGroup"));
  ext.topic = std::string(req.ext.get("topic"));
  ext.queue_id = static_cast<int32_t>(*queue_id);
  ext.queue_offset = *offset;
  ext.max_msg_nums = static_cast<int32_t>(req.ext.get_int_or("maxMsgNums", 32));
  ext.commit_offset =
      (sys_flag & kPullCommitOffset) != 0 ? req.ext.get_int_or("commitOffset", -1) : -1;
  ext.suspend_timeout_millis =
      (sys_flag & kPullSuspend) != 0 ? req.ext.get_int_or("suspendTimeoutMillis", 0) : 0;
  if ((sys_flag & kPullSubscription) != 0) {
    ext.subscription = std::string(req.ext.get("subscription"));
  } else {
    ext.use_group_subscription = true;
  }
  RemotingCommand native = native_request(req, protocol::RequestCode::PULL_MESSAGE);
  native.set_ext(std::move(ext));
  return native;
}

void pull_to_rocketmq(const RemotingCommand& native, const PendingAnswer&, Command& out) {
  if (const auto* r = native.ext<protocol::PullMessageResponseT>()) {
    out.ext.set("suggestWhichBrokerId", std::to_string(r->suggest_which_broker_id));
    out.ext.set("nextBeginOffset", std::to_string(r->next_begin_offset));
    out.ext.set("minOffset", std::to_string(r->min_offset));
    out.ext.set("maxOffset", std::to_string(r->max_offset));
  }
  append_records_as_store_format(native.body, out.body);
}

ToNativeResult view_to_native(const Command& req, const Context&, PendingAnswer&) {
  auto offset = req.ext.get_int("offset");
  if (!offset.is_ok()) return refuse(offset.status());
  protocol::ViewMessageRequestT ext;
  ext.offset = *offset;
  RemotingCommand native = native_request(req, protocol::RequestCode::VIEW_MESSAGE_BY_ID);
  native.set_ext(std::move(ext));
  return native;
}

ToNativeResult query_to_native(const Command& req, const Context&, PendingAnswer&) {
  protocol::QueryMessageRequestT ext;
  ext.topic = std::string(req.ext.get("topic"));
  ext.key = std::string(req.ext.get("key"));
  ext.max_num = static_cast<int32_t>(req.ext.get_int_or("maxNum", 32));
  ext.begin_timestamp = req.ext.get_int_or("beginTimestamp", 0);
  ext.end_timestamp = req.ext.get_int_or("endTimestamp", 0);
  ext.unique_key = req.ext.get_bool_or("_UNIQUE_KEY_QUERY", false);
  RemotingCommand native = native_request(req, protocol::RequestCode::QUERY_MESSAGE);
  native.set_ext(std::move(ext));
  return native;
}

void messages_to_rocketmq(const RemotingCommand& native, const PendingAnswer&, Command& out) {
  if (const auto* r = native.ext<protocol::QueryMessageResponseT>()) {
    out.ext.set("indexLastUpdateTimestamp", std::to_string(r->index_last_update_timestamp));
    out.ext.set("indexLastUpdatePhyoffset", std::to_string(r->index_last_update_phyoffset));
  }
  append_records_as_store_format(native.body, out.body);
}

}  // namespace comet::remoting::rocketmq::translate
