#include "broker/scheduled_record.h"

#include "common/whole_number.h"

namespace comet::broker {

Result<Message> real_message_of(const RecordView& r, std::string_view kind,
                                std::initializer_list<std::string_view> drop,
                                std::string& properties) {
  const std::string_view topic = find_property(r.properties, kPropertyRealTopic);
  const std::string_view qid = find_property(r.properties, kPropertyRealQueueId);
  const std::optional<uint32_t> queue = parse_whole_number<uint32_t>(qid);
  if (!record::valid_topic_name(topic) || !queue) {
    return Status::corruption(std::string(kind) + " record at offset " +
                              std::to_string(r.physical_offset) + " names no real topic and queue");
  }
  properties = without_properties(r.properties, drop);
  Message m = record::message_of(r);
  m.topic = topic;
  m.queue_id = *queue;
  m.properties = properties;
  return m;
}

}  // namespace comet::broker
