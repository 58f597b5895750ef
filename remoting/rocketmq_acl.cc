#include "remoting/rocketmq_acl.h"

#include <algorithm>
#include <string_view>
#include <vector>

namespace comet::remoting::rocketmq {

namespace {

constexpr std::string_view kAccessKeyField = "AccessKey";
constexpr std::string_view kSignatureField = "Signature";
constexpr std::string_view kUniqueKeyQueryField = "_UNIQUE_KEY_QUERY";

bool signed_by_client(const Command& cmd, std::string_view key) {
  if (key == kSignatureField) return false;
  return !(key == kUniqueKeyQueryField && cmd.version <= kVersionV4_9_3);
}

}  // namespace

std::string acl1_signed_content(const Command& cmd) {
  // Keys are unique (both header decoders and ExtFields::set keep one value per key, the last),
  // so the content covers exactly the values the translation reads.
  std::vector<const std::pair<std::string, std::string>*> fields;
  fields.reserve(cmd.ext.items.size());
  size_t size = cmd.body.size();
  for (const auto& item : cmd.ext.items) {
    if (!signed_by_client(cmd, item.first)) continue;
    fields.push_back(&item);
    size += item.second.size();
  }
  // Java's TreeMap orders by UTF-16 code unit; byte order of UTF-8 is the same for every key
  // outside the supplementary planes, and RocketMQ's keys are ASCII.
  std::sort(fields.begin(), fields.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  std::string content;
  content.reserve(size);
  for (const auto* field : fields)
    content += field->second;
  content += cmd.body;
  return content;
}

std::shared_ptr<const RequestAuth> acl1_request_auth(const Command& cmd) {
  const std::string* access_key = cmd.ext.find(kAccessKeyField);
  if (access_key == nullptr) return nullptr;
  auto auth = std::make_shared<RequestAuth>();
  auth->scheme = RequestAuth::Scheme::kRocketmqAcl1;
  auth->access_key = *access_key;
  if (const std::string* signature = cmd.ext.find(kSignatureField)) auth->signature = *signature;
  auth->content = acl1_signed_content(cmd);
  return auth;
}

}  // namespace comet::remoting::rocketmq
