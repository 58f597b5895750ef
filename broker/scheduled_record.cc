#include "broker/scheduled_record.h"

#include <charconv>

namespace comet::broker {

Result<Message> real_message_of(const RecordView& r, std::string_view kind,
                                std::initializer_list<std::string_view> drop,
                                std::string& properties) {
  const std::string_view topic = find_property(r.properties, kPropertyRealTopic);
  const std::string_view qid = find_property(r.properties, kPropertyRealQueueId);
  uint32_t queue = 0;
  const auto [end, ec] = std::from_chars(qid.data(), qid.data() + qid.size(), queue);
  if (!record::valid_topic_name(topic) || qid.empty() || ec != std::errc() ||
      end != qid.data() + qid.size()) {
    return Status::corruption(std::string(kind) + " record at offset " +
                              std::to_string(r.physical_offset) + " names no real topic and queue");
  }
  properties = without_properties(r.properties, drop);
  Message m = record::message_of(r);
  m.topic = topic;
  m.queue_id = queue;
  m.properties = properties;
  return m;
}

}  // namespace comet::broker
