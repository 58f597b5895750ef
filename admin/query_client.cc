// AdminClient's lookups of stored messages (QUERY_MESSAGE, VIEW_MESSAGE_BY_ID): the answers carry
// the records as a pull does, decoded and CRC-checked by the consumer's decoder.
#include "admin/admin_client.h"

namespace comet::admin {

using remoting::RemotingCommand;
using remoting::RequestCode;

Result<AdminClient::LookupAnswer> AdminClient::lookup(const std::string& broker_addr,
                                                      const std::string& broker_name,
                                                      RemotingCommand req) {
  COMET_ASSIGN_OR_RETURN(auto resp, call(broker_addr, std::move(req)));
  LookupAnswer answer;
  answer.code = resp.response_code();
  if (answer.code != ResponseCode::SUCCESS) {
    answer.status = status_from_response(resp);
    return answer;
  }
  auto decoded = client::decode_messages(resp.body.to_string(), broker_name);
  if (!decoded.is_ok()) {
    answer.status = Status(decoded.status().code(),
                           "answer of " + broker_addr + ": " + decoded.status().message());
    return answer;
  }
  answer.messages = std::move(decoded).value();
  return answer;
}

Result<AdminClient::LookupAnswer> AdminClient::query_messages(
    const std::string& broker_addr, const std::string& broker_name,
    const protocol::QueryMessageRequestT& query) {
  auto req = RemotingCommand::request(RequestCode::QUERY_MESSAGE);
  req.set_ext(query);
  return lookup(broker_addr, broker_name, std::move(req));
}

Result<AdminClient::LookupAnswer> AdminClient::view_message(const std::string& broker_addr,
                                                            const std::string& broker_name,
                                                            int64_t physical_offset) {
  auto req = RemotingCommand::request(RequestCode::VIEW_MESSAGE_BY_ID);
  protocol::ViewMessageRequestT ext;
  ext.offset = physical_offset;
  req.set_ext(std::move(ext));
  return lookup(broker_addr, broker_name, std::move(req));
}

}  // namespace comet::admin
