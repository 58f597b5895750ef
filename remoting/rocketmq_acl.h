// RocketMQ ACL 1.0 on a RocketMQ connection (docs/architecture.md, "RocketMQ protocol"): what a
// signed RocketMQ request claims, as the RequestAuth the request gate checks. I/O-free.
//
// A client with an access key adds the extFields AccessKey and Signature (Base64
// HmacSHA1(secretKey, content)), and sometimes SecurityToken and OnsChannel. The content is what
// RocketMQ's PlainAccessResource.parse and AclUtils.combineRequestContent make of the request as
// received: every extField value but Signature's, in ascending key order, concatenated, then the
// body bytes. Requests from clients up to 4.9.3 leave _UNIQUE_KEY_QUERY out (those clients added
// it after signing).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "remoting/request_auth.h"
#include "remoting/rocketmq_codec.h"

namespace comet::remoting::rocketmq {

// RocketMQ's MQVersion ordinal of 4.9.3: the last client version whose signature skips
// _UNIQUE_KEY_QUERY.
constexpr int32_t kVersionV4_9_3 = 399;

// The bytes a RocketMQ request's signature covers.
std::string acl1_signed_content(const Command& cmd);

// The signature `cmd` carries, or null when it has no AccessKey extField (an unsigned request:
// the gate decides, nothing is copied). An AccessKey without a Signature gets an empty signature,
// which no secret matches.
std::shared_ptr<const RequestAuth> acl1_request_auth(const Command& cmd);

}  // namespace comet::remoting::rocketmq
