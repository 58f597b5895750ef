// Micro-benchmarks of the RocketMQ 4.x header codec (remoting/rocketmq_codec.h) on the send hot
// path: decoding a typical SEND_MESSAGE_V2 request header (14 extFields, as a Java producer
// sends it) and encoding its answer header; the binary (ROCKETMQ) forms for comparison, and the
// store format a pull answer writes per message. Not part of CI:
//   build/bench/comet-rocketmq-codec-bench
#include <benchmark/benchmark.h>

#include <string>

#include "common/record_codec.h"
#include "remoting/rocketmq_codec.h"
#include "remoting/rocketmq_message.h"

namespace comet::remoting::rocketmq {
namespace {

// A Java 4.9.7 producer's V2 send header: fastjson's field order, serializeTypeCurrentRPC too.
constexpr std::string_view kSendV2Json =
    R"({"code":310,"extFields":{"a":"ProducerGroupName","b":"BenchTopic","c":"TBW102","d":"4",)"
    R"("e":"3","f":"0","g":"1700000000000","h":"0","i":"UNIQ_KEY\u00017F0000010F2A18B4AAC27F)"
    R"(3A0E0000\u0002WAIT\u0001true\u0002TAGS\u0001TagA\u0002","j":"0","k":"false","m":"false",)"
    R"("n":"broker-a"},"flag":0,"language":"JAVA","opaque":123456,)"
    R"("serializeTypeCurrentRPC":"JSON","version":407})";

Command send_answer() {
  Command req;
  req.opaque = 123456;
  Command resp = Command::response_to(req, 0);
  resp.ext.set("msgId", "7F00000100002A9F0000000000123456");
  resp.ext.set("queueId", "3");
  resp.ext.set("queueOffset", "123456");
  resp.ext.set("MSG_REGION", "DefaultRegion");
  resp.ext.set("TRACE_ON", "true");
  return resp;
}

void BM_DecodeJsonSendHeader(benchmark::State& state) {
  for (auto _ : state) {
    auto cmd = decode_json_header(kSendV2Json);
    benchmark::DoNotOptimize(cmd);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kSendV2Json.size()));
}
BENCHMARK(BM_DecodeJsonSendHeader);

void BM_EncodeJsonSendHeader(benchmark::State& state) {
  // The request's header re-encoded: the same 14 fields, the client side's cost.
  const Command cmd = decode_json_header(kSendV2Json).value();
  for (auto _ : state) {
    std::string h = encode_header(cmd);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_EncodeJsonSendHeader);

void BM_EncodeJsonSendAnswerFrameHead(benchmark::State& state) {
  const Command resp = send_answer();
  for (auto _ : state) {
    std::string h = encode_frame_head(resp, 0);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_EncodeJsonSendAnswerFrameHead);

void BM_DecodeBinarySendHeader(benchmark::State& state) {
  Command cmd = decode_json_header(kSendV2Json).value();
  cmd.serialize_type = SerializeType::kRocketmq;
  const std::string header = encode_header(cmd);
  for (auto _ : state) {
    auto back = decode_binary_header(header);
    benchmark::DoNotOptimize(back);
  }
}
BENCHMARK(BM_DecodeBinarySendHeader);

void BM_AppendStoreFormat1KiB(benchmark::State& state) {
  const std::string body(1024, 'x');
  const std::string props = encode_properties({{"TAGS", "TagA"}, {"UNIQ_KEY", "7F000001"}});
  Message m;
  m.topic = "BenchTopic";
  m.body = body;
  m.properties = props;
  std::string rec(record::encoded_size(m), '\0');
  record::encode(m, 1, 4096, 1700000000000, {0x7f000001, 10911},
                 reinterpret_cast<uint8_t*>(rec.data()));
  const RecordView r =
      record::decode(reinterpret_cast<const uint8_t*>(rec.data()), rec.size()).record;
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_store_format(r, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_AppendStoreFormat1KiB);

}  // namespace
}  // namespace comet::remoting::rocketmq

BENCHMARK_MAIN();
