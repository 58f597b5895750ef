#include "remoting/remoting_command.h"

#include <cstring>
#include <vector>

#include "remoting/request_signature.h"

namespace comet::remoting {

size_t Body::size() const {
  size_t n = owned.size();
  for (const auto& [_, len] : views)
    n += len;
  return n;
}

std::string Body::to_string() const {
  std::string out = owned;
  for (const auto& [p, len] : views)
    out.append(reinterpret_cast<const char*>(p), len);
  return out;
}

RemotingCommand RemotingCommand::request(RequestCode code) {
  RemotingCommand c;
  c.header.code = static_cast<int32_t>(code);
  return c;
}

RemotingCommand RemotingCommand::response_to(const RemotingCommand& req, ResponseCode code,
                                             std::string remark) {
  RemotingCommand c;
  c.header.code = static_cast<int32_t>(code);
  c.header.opaque = req.opaque();
  c.header.flags = kFlagResponse;
  c.header.remark = std::move(remark);
  return c;
}

std::string encode_frame_head(const RemotingCommand& cmd, size_t body_size) {
  // One builder per thread, cleared and reused: its buffer survives, saving an allocation per
  // frame.
  thread_local flatbuffers::FlatBufferBuilder fbb(512);
  fbb.Clear();
  fbb.Finish(protocol::Header::Pack(fbb, &cmd.header), protocol::HeaderIdentifier());
  const uint32_t header_len = fbb.GetSize();
  const uint32_t total = static_cast<uint32_t>(4 + header_len + body_size);
  std::string out(kFramePrefixSize + header_len, '\0');
  std::memcpy(out.data(), &total, 4);
  std::memcpy(out.data() + 4, &header_len, 4);
  std::memcpy(out.data() + kFramePrefixSize, fbb.GetBufferPointer(), header_len);
  return out;
}

std::string encode_frame(const RemotingCommand& cmd) {
  std::string out = encode_frame_head(cmd, cmd.body.size());
  out += cmd.body.to_string();
  return out;
}

Result<FramePrefix> decode_prefix(const uint8_t* p, uint32_t max_frame_bytes) {
  FramePrefix f;
  std::memcpy(&f.total_length, p, 4);
  std::memcpy(&f.header_length, p + 4, 4);
  if (f.total_length > max_frame_bytes) {
    return Status::message_too_large("frame of " + std::to_string(f.total_length) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(max_frame_bytes));
  }
  if (f.header_length == 0 || f.total_length < 4 || f.header_length > f.total_length - 4) {
    return Status::corruption("frame header length " + std::to_string(f.header_length) +
                              " does not fit frame length " + std::to_string(f.total_length));
  }
  return f;
}

namespace {

// What a signed request's header says, and the digest its signature must be an HMAC of.
std::shared_ptr<const RequestAuth> read_request_auth(const protocol::RequestSignature& sig,
                                                     std::string_view header,
                                                     std::string_view body) {
  auto auth = std::make_shared<RequestAuth>();
  if (sig.access_key() != nullptr) auth->access_key = sig.access_key()->str();
  if (sig.signature() == nullptr && sig.nonce() == nullptr && sig.timestamp_ms() == 0) {
    // The access key alone: it leans on the connection's verified signer (no digest to make).
    auth->scheme = RequestAuth::Scheme::kCometSession;
    return auth;
  }
  auth->scheme = RequestAuth::Scheme::kCometHmacSha256;
  auth->timestamp_ms = sig.timestamp_ms();
  if (sig.nonce() != nullptr) {
    auth->nonce.assign(reinterpret_cast<const char*>(sig.nonce()->data()), sig.nonce()->size());
  }
  size_t offset = header.size(), len = 0;
  if (sig.signature() != nullptr) {
    const auto* bytes = sig.signature()->data();
    auth->signature.assign(reinterpret_cast<const char*>(bytes), sig.signature()->size());
    offset = static_cast<size_t>(reinterpret_cast<const char*>(bytes) - header.data());
    len = sig.signature()->size();
  }
  auth->digest = signed_frame_digest(header, offset, len, body);
  return auth;
}

}  // namespace

Result<RemotingCommand> decode_frame_rest(const FramePrefix& prefix, const uint8_t* p) {
  const uint8_t* header = p;
  // FlatBuffers reads fields in place and needs them aligned; a frame can start anywhere in a
  // read buffer, so a misaligned header is first copied to aligned scratch space.
  thread_local std::vector<uint64_t> scratch;
  if (reinterpret_cast<uintptr_t>(header) % alignof(uint64_t) != 0) {
    scratch.resize((prefix.header_length + 7) / 8);
    std::memcpy(scratch.data(), header, prefix.header_length);
    header = reinterpret_cast<const uint8_t*>(scratch.data());
  }
  if (prefix.header_length < 8 || !protocol::HeaderBufferHasIdentifier(header)) {
    return Status::corruption("frame header lacks comet's file identifier CMT1");
  }
  flatbuffers::Verifier verifier(header, prefix.header_length);
  if (!protocol::VerifyHeaderBuffer(verifier)) {
    return Status::corruption("frame header fails FlatBuffers verification");
  }
  RemotingCommand cmd;
  const protocol::Header* h = protocol::GetHeader(header);
  h->UnPackTo(&cmd.header);
  if (cmd.header.ext.type != protocol::Ext::NONE && cmd.header.ext.value == nullptr) {
    // The verifier lets a union name a type without a table; such a header could not even be
    // encoded again (found by tests/fuzz/frame_fuzzer).
    return Status::corruption("frame header names an extension of type " +
                              std::string(protocol::EnumNameExt(cmd.header.ext.type)) +
                              " but holds none");
  }
  const size_t body_len = prefix.rest() - prefix.header_length;
  cmd.body.owned.assign(reinterpret_cast<const char*>(p + prefix.header_length), body_len);
  if (h->auth() != nullptr) {
    cmd.header.auth.reset();
    if (!cmd.is_response()) {
      cmd.auth = read_request_auth(
          *h->auth(), std::string_view(reinterpret_cast<const char*>(header), prefix.header_length),
          cmd.body.owned);
    }
  }
  return cmd;
}

Result<RemotingCommand> decode_frame(std::string_view frame, uint32_t max_frame_bytes) {
  if (frame.size() < kFramePrefixSize) return Status::corruption("frame shorter than its prefix");
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  COMET_ASSIGN_OR_RETURN(FramePrefix prefix, decode_prefix(p, max_frame_bytes));
  if (frame.size() - 4 != prefix.total_length) {
    return Status::corruption("frame length field says " + std::to_string(prefix.total_length) +
                              ", have " + std::to_string(frame.size() - 4));
  }
  return decode_frame_rest(prefix, p + kFramePrefixSize);
}

std::string_view request_code_name(int32_t code) {
  const char* n = protocol::EnumNameRequestCode(static_cast<protocol::RequestCode>(code));
  return n && *n ? n : "UNKNOWN";
}

std::string_view response_code_name(int32_t code) {
  const char* n = protocol::EnumNameResponseCode(static_cast<protocol::ResponseCode>(code));
  return n && *n ? n : "UNKNOWN";
}

}  // namespace comet::remoting
