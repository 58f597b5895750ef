#include "remoting/rocketmq_message.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "remoting/rocketmq_bytes.h"

namespace comet::remoting::rocketmq {

using detail::BeReader;
using detail::put_be;

namespace {

uint32_t body_crc(std::string_view body) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; bodies are far below 4 GiB (the frame limit), but stay exact.
  const auto* p = reinterpret_cast<const Bytef*>(body.data());
  size_t left = body.size();
  while (left > 0) {
    uInt n = static_cast<uInt>(std::min<size_t>(left, std::numeric_limits<uInt>::max()));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc) & 0x7FFFFFFF;
}

// sysFlag bits 0x10 / 0x20: a 16-byte IPv6 born / store host, which 4.x clients cannot read.
constexpr int32_t kSysFlagBornHostV6 = 0x10;
constexpr int32_t kSysFlagStoreHostV6 = 0x20;

void put_host(std::string& out, HostAddress h) {
  put_be<uint32_t>(out, h.ipv4);
  put_be<int32_t>(out, static_cast<int32_t>(h.port));
}

HostAddress read_host(BeReader& in) {
  HostAddress h;
  h.ipv4 = in.read<uint32_t>();
  h.port = static_cast<uint32_t>(in.read<int32_t>());
  return h;
}

}  // namespace

// ---- The store format ----

size_t store_format_size(const RecordView& r) {
  return kStoreFixedSize + r.body.size() + r.topic.size() + r.properties.size();
}

void append_store_format(const RecordView& r, std::string& out) {
  out.reserve(out.size() + store_format_size(r));
  put_be<int32_t>(out, static_cast<int32_t>(store_format_size(r)));
  put_be<uint32_t>(out, kStoreMagic);
  put_be<uint32_t>(out, body_crc(r.body));
  put_be<int32_t>(out, static_cast<int32_t>(r.queue_id));
  put_be<int32_t>(out, static_cast<int32_t>(r.flags));
  put_be<int64_t>(out, static_cast<int64_t>(r.queue_offset));
  put_be<int64_t>(out, static_cast<int64_t>(r.physical_offset));
  put_be<int32_t>(out, static_cast<int32_t>(r.sys_flag));
  put_be<int64_t>(out, r.born_timestamp_ms);
  put_host(out, r.born_host);
  put_be<int64_t>(out, r.store_timestamp_ms);
  put_host(out, r.store_host);
  put_be<int32_t>(out, static_cast<int32_t>(r.reconsume_times));
  put_be<int64_t>(out, 0);  // preparedTransactionOffset
  put_be<int32_t>(out, static_cast<int32_t>(r.body.size()));
  out.append(r.body);
  // comet's topics are at most 127 bytes and properties at most 32767 (record::validate), so
  // the signed length fields hold them.
  out.push_back(static_cast<char>(r.topic.size()));
  out.append(r.topic);
  put_be<int16_t>(out, static_cast<int16_t>(r.properties.size()));
  out.append(r.properties);
}

std::string encode_store_message(const StoreMessage& m) {
  std::string out;
  size_t size = kStoreFixedSize + m.body.size() + m.topic.size() + m.properties.size();
  out.reserve(size);
  put_be<int32_t>(out, static_cast<int32_t>(size));
  put_be<uint32_t>(out, kStoreMagic);
  put_be<uint32_t>(out, body_crc(m.body));
  put_be<int32_t>(out, m.queue_id);
  put_be<int32_t>(out, m.flag);
  put_be<int64_t>(out, m.queue_offset);
  put_be<int64_t>(out, m.physical_offset);
  put_be<int32_t>(out, m.sys_flag);
  put_be<int64_t>(out, m.born_timestamp);
  put_host(out, m.born_host);
  put_be<int64_t>(out, m.store_timestamp);
  put_host(out, m.store_host);
  put_be<int32_t>(out, m.reconsume_times);
  put_be<int64_t>(out, m.prepared_transaction_offset);
  put_be<int32_t>(out, static_cast<int32_t>(m.body.size()));
  out.append(m.body);
  out.push_back(static_cast<char>(m.topic.size()));
  out.append(m.topic);
  put_be<int16_t>(out, static_cast<int16_t>(m.properties.size()));
  out.append(m.properties);
  return out;
}

namespace {

Result<StoreMessage> decode_one_store_message(BeReader& in, size_t index) {
  auto where = [index](const std::string& what) {
    return Status::corruption("store message " + std::to_string(index) + ": " + what);
  };
  const size_t start_left = in.left();
  StoreMessage m;
  auto total_size = in.read<int32_t>();
  auto magic = in.read<uint32_t>();
  if (!in.ok()) return where("truncated before its magic");
  if (magic != kStoreMagic) return where("bad magic " + std::to_string(magic));
  if (total_size < static_cast<int32_t>(kStoreFixedSize) ||
      static_cast<size_t>(total_size) > start_left)
    return where("totalSize " + std::to_string(total_size) + " with " + std::to_string(start_left) +
                 " bytes left");
  in.read<uint32_t>();  // bodyCRC: no client checks it, and neither do we
  m.queue_id = in.read<int32_t>();
  m.flag = in.read<int32_t>();
  m.queue_offset = in.read<int64_t>();
  m.physical_offset = in.read<int64_t>();
  m.sys_flag = in.read<int32_t>();
  if ((m.sys_flag & (kSysFlagBornHostV6 | kSysFlagStoreHostV6)) != 0)
    return where("IPv6 hosts (sysFlag 0x10/0x20) are not supported");
  m.born_timestamp = in.read<int64_t>();
  m.born_host = read_host(in);
  m.store_timestamp = in.read<int64_t>();
  m.store_host = read_host(in);
  m.reconsume_times = in.read<int32_t>();
  m.prepared_transaction_offset = in.read<int64_t>();
  m.body = in.bytes(in.read<int32_t>());
  m.topic = in.bytes(in.read<int8_t>());
  m.properties = in.bytes(in.read<int16_t>());
  if (!in.ok()) return where("a length runs past the end (or is negative)");
  if (start_left - in.left() != static_cast<size_t>(total_size))
    return where("totalSize " + std::to_string(total_size) + " but its fields take " +
                 std::to_string(start_left - in.left()) + " bytes");
  return m;
}

}  // namespace

Result<std::vector<StoreMessage>> decode_store_messages(std::string_view bytes) {
  std::vector<StoreMessage> out;
  BeReader in(bytes);
  // Each message takes at least kStoreFixedSize bytes, which bounds the loop.
  while (in.left() > 0) {
    COMET_ASSIGN_OR_RETURN(StoreMessage m, decode_one_store_message(in, out.size()));
    out.push_back(m);
  }
  return out;
}

// ---- SEND_BATCH bodies ----

namespace {
// totalSize | magic | bodyCRC | flag | bodyLen, then propsLen after the body.
constexpr size_t kBatchEntryFixed = 4 + 4 + 4 + 4 + 4 + 2;
}  // namespace

Result<std::vector<BatchEntry>> decode_batch(std::string_view body, size_t max_messages) {
  std::vector<BatchEntry> out;
  BeReader in(body);
  while (in.left() > 0) {
    if (out.size() >= max_messages)
      return Status::message_too_large("batch holds more than " + std::to_string(max_messages) +
                                       " messages");
    auto where = [&out](const std::string& what) {
      return Status::corruption("batch entry " + std::to_string(out.size()) + ": " + what);
    };
    const size_t start_left = in.left();
    auto total_size = in.read<int32_t>();
    in.read<int32_t>();  // magic: clients write 0 and Java ignores it
    in.read<int32_t>();  // bodyCRC: likewise
    BatchEntry e;
    e.flag = in.read<int32_t>();
    e.body = in.bytes(in.read<int32_t>());
    e.properties = in.bytes(in.read<int16_t>());
    if (!in.ok()) return where("a length runs past the end (or is negative)");
    if (static_cast<int64_t>(start_left - in.left()) != total_size)
      return where("totalSize " + std::to_string(total_size) + " but its fields take " +
                   std::to_string(start_left - in.left()) + " bytes");
    out.push_back(e);
  }
  if (out.empty()) return Status::invalid_argument("empty batch");
  return out;
}

std::string encode_batch(const std::vector<BatchEntry>& entries) {
  size_t size = 0;
  for (const auto& e : entries)
    size += kBatchEntryFixed + e.body.size() + e.properties.size();
  std::string out;
  out.reserve(size);
  for (const auto& e : entries) {
    put_be<int32_t>(out,
                    static_cast<int32_t>(kBatchEntryFixed + e.body.size() + e.properties.size()));
    put_be<int32_t>(out, 0);
    put_be<int32_t>(out, 0);
    put_be<int32_t>(out, e.flag);
    put_be<int32_t>(out, static_cast<int32_t>(e.body.size()));
    out.append(e.body);
    put_be<int16_t>(out, static_cast<int16_t>(e.properties.size()));
    out.append(e.properties);
  }
  return out;
}

// ---- zlib bodies ----

Result<std::string> inflate_body(std::string_view compressed, size_t max_bytes) {
  if (compressed.size() > std::numeric_limits<uInt>::max())
    return Status::message_too_large("compressed body too large");
  z_stream zs{};
  if (inflateInit(&zs) != Z_OK) return Status::corruption("inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  char chunk[16384];
  int rc = Z_OK;
  // Every pass either produces output (bounded by max_bytes) or ends the stream; a pass that
  // does neither is a truncated stream.
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    size_t produced = sizeof(chunk) - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && produced > 0)) {
      const char* msg = zs.msg != nullptr ? zs.msg : (rc == Z_BUF_ERROR ? "truncated" : "error");
      inflateEnd(&zs);
      return Status::corruption(std::string("compressed body: ") + msg);
    }
    if (out.size() + produced > max_bytes) {
      inflateEnd(&zs);
      return Status::message_too_large("compressed body inflates past " +
                                       std::to_string(max_bytes) + " bytes");
    }
    out.append(chunk, produced);
    if (rc != Z_STREAM_END && produced == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return Status::corruption("compressed body: truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

std::string deflate_body(std::string_view plain) {
  // RocketMQ's producers compress with Deflater at level 5 (compressMsgBodyOverHowmuch).
  uLong bound = compressBound(static_cast<uLong>(plain.size()));
  std::string out(bound, '\0');
  uLongf size = bound;
  int rc =
      compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(plain.data()), static_cast<uLong>(plain.size()), 5);
  if (rc != Z_OK) return {};  // only on out-of-memory: compressBound is always enough
  out.resize(size);
  return out;
}

}  // namespace comet::remoting::rocketmq
