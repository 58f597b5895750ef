#include "remoting/rocketmq_message.h"

namespace comet::remoting::rocketmq {
namespace {
Status message_unimplemented() {
  return Status::unsupported("rocketmq message: not implemented");
}
}  // namespace

size_t store_format_size(const RecordView& r) {
  return kStoreFixedSize + r.body.size() + r.topic.size() + r.properties.size();
}
void append_store_format(const RecordView&, std::string&) {}
Result<std::vector<StoreMessage>> decode_store_messages(std::string_view) {
  return message_unimplemented();
}
std::string encode_store_message(const StoreMessage&) {
  return {};
}
Result<std::vector<BatchEntry>> decode_batch(std::string_view, size_t) {
  return message_unimplemented();
}
std::string encode_batch(const std::vector<BatchEntry>&) {
  return {};
}
Result<std::string> inflate_body(std::string_view, size_t) {
  return message_unimplemented();
}
std::string deflate_body(std::string_view) {
  return {};
}

}  // namespace comet::remoting::rocketmq
