// A broker with thousands of topics costs what its data holds, not what its queues could hold
// (issue 25): a real comet-namesrv and comet-broker, 3,000 topics of 8 queues, a few messages in
// every queue; then the store's ConsumeQueue disk, the broker's descriptors and mappings are held
// to bounds that scale with the queues holding data, before and after a clean restart, and every
// queue still holds what it was sent.
//
// The bounds (kCq*, kFd*, kMap*) are what a sparse ConsumeQueue with a bounded cache of mappings
// (maxMappedConsumeQueueFiles, set low here so the bound bites) allows. The sends come in two
// stages and the bounds are checked after the first (64 queues): a store that allocates a whole
// ConsumeQueue file per queue fails there, before it could fill the disk with 24,000 of them.
#include <gtest/gtest.h>

#include <semaphore>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/process_usage.h"
#include "integration/cluster.h"
#include "integration/process.h"
#include "unit/test_util.h"

namespace comet::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kTopics = 3000;
constexpr int kQueuesPerTopic = 8;
constexpr int kQueues = kTopics * kQueuesPerTopic;
constexpr int kMessagesPerQueue = 2;
constexpr int kFirstStageQueues = 64;
constexpr int kInflight = 64;
constexpr int kSampleEvery = 37;  // the queues read back: every 37th (649 of them)

// What the footprint may be: ConsumeQueue disk per queue holding data (a few 4 KiB blocks) plus
// a fixed allowance; descriptors and mappings above the idle broker.
constexpr int kMaxMappedCqFiles = 512;
constexpr uint64_t kCqBytesPerQueueWithData = 16 * 1024;
constexpr uint64_t kCqSlackBytes = 1024 * 1024;
constexpr int64_t kFdSlack = 64;
constexpr int64_t kMapSlack = 256;
// RssFile after the restart may exceed the one before by the pages a restart itself reads that
// the running broker had not (its own binary's and libraries' pages come back alike).
constexpr int64_t kRssFileSlackKib = 4 * 1024;

std::string topic_of(int queue) {
  return "ManyTopics-" + std::to_string(queue / kQueuesPerTopic);
}
int32_t queue_id_of(int queue) {
  return queue % kQueuesPerTopic;
}
std::string body_of(int queue, int k) {
  return "queue " + std::to_string(queue) + " message " + std::to_string(k);
}

RemotingCommand max_offset_request(const std::string& topic, int32_t queue_id) {
  auto req = RemotingCommand::request(RequestCode::GET_MAX_OFFSET);
  protocol::QueueOffsetRequestT q;
  q.topic = topic;
  q.queue_id = queue_id;
  req.set_ext(std::move(q));
  return req;
}

class ManyTopicsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.start_namesrv().is_ok());
    start_broker();
  }
  void TearDown() override {
    if (HasFailure()) cluster_.print_log_tails();
  }

  void start_broker() {
    auto addr = cluster_.start_broker(
        "broker-a", {"maxMappedConsumeQueueFiles=" + std::to_string(kMaxMappedCqFiles)});
    ASSERT_TRUE(addr.is_ok()) << addr.status().to_string();
    addr_ = *addr;
  }
  pid_t broker_pid() { return cluster_.broker("broker-a")->pid(); }
  std::string consume_queue_dir() const { return dir_.path() + "/broker-a/consumequeue"; }

  // Requests first..last-1 (made by `request`), kInflight at a time; `check` judges each answer
  // on an I/O thread and returns what was wrong ("" when nothing). Returns the first complaint.
  std::string run_in_flight(
      int first, int last, std::chrono::milliseconds timeout,
      const std::function<RemotingCommand(int)>& request,
      const std::function<std::string(int, Result<RemotingCommand>&)>& check) {
    std::counting_semaphore<kInflight> slots(kInflight);
    std::mutex mu;
    std::string complaint;
    for (int i = first; i < last; ++i) {
      slots.acquire();
      cluster_.client().invoke_async(addr_, request(i), timeout, [&, i](Result<RemotingCommand> r) {
        std::string wrong = check(i, r);
        if (!wrong.empty()) {
          std::lock_guard lock(mu);
          if (complaint.empty()) complaint = std::move(wrong);
        }
        slots.release();
      });
    }
    for (int k = 0; k < kInflight; ++k)
      slots.acquire();
    return complaint;
  }

  static std::string unless_success(const char* what, int i, Result<RemotingCommand>& r) {
    if (!r.is_ok())
      return std::string(what) + " " + std::to_string(i) + ": " + r.status().to_string();
    if (r->response_code() != ResponseCode::SUCCESS) {
      return std::string(what) + " " + std::to_string(i) + ": " + r->remark();
    }
    return "";
  }

  void create_topics() {
    const auto start = std::chrono::steady_clock::now();
    const std::string wrong = run_in_flight(
        0, kTopics, 60s,
        [](int t) { return update_topic_request(topic_of(t * kQueuesPerTopic), kQueuesPerTopic); },
        [](int t, Result<RemotingCommand>& r) { return unless_success("creating topic", t, r); });
    ASSERT_EQ(wrong, "");
    std::printf("created %d topics in %.1f s\n", kTopics,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  // kMessagesPerQueue messages (one batch) to each queue in [first, last); returns once the last
  // queue's are indexed (the dispatcher indexes in log order, so every earlier queue's are too).
  void send_to_queues(int first, int last) {
    const std::string wrong = run_in_flight(
        first, last, 30s,
        [](int q) {
          std::vector<std::string> bodies;
          for (int k = 0; k < kMessagesPerQueue; ++k)
            bodies.push_back(body_of(q, k));
          return send_request(topic_of(q), queue_id_of(q), bodies);
        },
        [](int q, Result<RemotingCommand>& r) { return unless_success("send to queue", q, r); });
    ASSERT_EQ(wrong, "");
    auto pulled = cluster_.client().invoke(
        addr_, pull_request(topic_of(last - 1), queue_id_of(last - 1), 0, 32, 10000), 15s);
    ASSERT_TRUE(pulled.is_ok()) << pulled.status().to_string();
    ASSERT_EQ(pulled->response_code(), ResponseCode::SUCCESS) << pulled->remark();
  }

  // Every queue in the sample holds exactly its messages, in order.
  void read_sample_back() {
    for (int q = 0; q < kQueues; q += kSampleEvery) {
      auto r = cluster_.client().invoke(addr_, pull_request(topic_of(q), queue_id_of(q), 0), 10s);
      ASSERT_TRUE(r.is_ok()) << "queue " << q << ": " << r.status().to_string();
      ASSERT_EQ(r->response_code(), ResponseCode::SUCCESS) << "queue " << q << ": " << r->remark();
      const auto bodies = bodies_of(*r);
      ASSERT_EQ(bodies.size(), static_cast<size_t>(kMessagesPerQueue)) << "queue " << q;
      for (int k = 0; k < kMessagesPerQueue; ++k)
        EXPECT_EQ(bodies[static_cast<size_t>(k)], body_of(q, k)) << "queue " << q;
    }
  }

  // The max offset of every queue.
  std::vector<int64_t> max_offsets() {
    std::vector<int64_t> out(kQueues, -1);
    const std::string wrong = run_in_flight(
        0, kQueues, 10s, [](int q) { return max_offset_request(topic_of(q), queue_id_of(q)); },
        [&out](int q, Result<RemotingCommand>& r) {
          const auto* ext = r.is_ok() ? r->ext<protocol::QueueOffsetResponseT>() : nullptr;
          if (ext == nullptr) return "max offset of queue " + std::to_string(q) + ": no answer";
          out[static_cast<size_t>(q)] = ext->offset;
          return std::string();
        });
    EXPECT_EQ(wrong, "");
    return out;
  }

  // The store's ConsumeQueue disk against what `queues_with_data` may take.
  void expect_consume_queue_disk(const std::string& when, int queues_with_data) {
    const uint64_t bound =
        static_cast<uint64_t>(queues_with_data) * kCqBytesPerQueueWithData + kCqSlackBytes;
    const uint64_t used = disk_bytes_under(consume_queue_dir());
    std::printf("%s: consumequeue/ holds %llu KiB for %d queues with data (bound %llu KiB)\n",
                when.c_str(), static_cast<unsigned long long>(used / 1024), queues_with_data,
                static_cast<unsigned long long>(bound / 1024));
    ASSERT_LE(used, bound) << when << ": ConsumeQueue files cost more than their data";
  }

  // The running broker's descriptors and mappings against the idle broker's.
  void expect_footprint(const std::string& when, const ProcessUsage& idle) {
    const ProcessUsage now = read_process_usage(broker_pid());
    std::printf(
        "%s: RssAnon %lld KiB, RssFile %lld KiB, %lld fds (idle %lld), %lld mappings "
        "(idle %lld)\n",
        when.c_str(), static_cast<long long>(now.rss_anon_kib),
        static_cast<long long>(now.rss_file_kib), static_cast<long long>(now.open_fds),
        static_cast<long long>(idle.open_fds), static_cast<long long>(now.mappings),
        static_cast<long long>(idle.mappings));
    EXPECT_LE(now.open_fds, idle.open_fds + kFdSlack)
        << when << ": ConsumeQueue files are kept open";
    EXPECT_LE(now.mappings, idle.mappings + kMaxMappedCqFiles + kMapSlack)
        << when << ": more ConsumeQueue files mapped than maxMappedConsumeQueueFiles";
  }

  TempDir dir_;
  LocalCluster cluster_{dir_.path()};
  std::string addr_;
};

TEST_F(ManyTopicsTest, ConsumeQueuesCostWhatTheyHoldBeforeAndAfterARestart) {
  const auto start = std::chrono::steady_clock::now();
  const ProcessUsage idle = read_process_usage(broker_pid());
  ASSERT_NO_FATAL_FAILURE(create_topics());

  // A first stage: a store that allocates whole ConsumeQueue files fails here, having used a few
  // hundred MB rather than the 144 GB that 24,000 such files would take.
  ASSERT_NO_FATAL_FAILURE(send_to_queues(0, kFirstStageQueues));
  ASSERT_NO_FATAL_FAILURE(expect_consume_queue_disk("first 64 queues", kFirstStageQueues));
  ASSERT_NO_FATAL_FAILURE(send_to_queues(kFirstStageQueues, kQueues));
  ASSERT_NO_FATAL_FAILURE(expect_consume_queue_disk("every queue", kQueues));
  expect_footprint("every queue", idle);
  ASSERT_NO_FATAL_FAILURE(read_sample_back());
  const std::vector<int64_t> before = max_offsets();
  for (int q = 0; q < kQueues; ++q)
    ASSERT_EQ(before[static_cast<size_t>(q)], kMessagesPerQueue) << "queue " << q;
  const int64_t rss_file_before = read_process_usage(broker_pid()).rss_file_kib;

  // A clean stop flushes every unit: the store at rest is what the bound is about.
  cluster_.broker("broker-a")->stop(60s);
  ASSERT_NO_FATAL_FAILURE(expect_consume_queue_disk("at rest", kQueues));
  ASSERT_NO_FATAL_FAILURE(start_broker());
  const ProcessUsage restarted = read_process_usage(broker_pid());
  expect_footprint("after the restart", idle);
  EXPECT_LE(restarted.rss_file_kib, rss_file_before + kRssFileSlackKib)
      << "recovery faulted in pages the running broker had not";
  EXPECT_EQ(max_offsets(), before);
  ASSERT_NO_FATAL_FAILURE(read_sample_back());
  ASSERT_NO_FATAL_FAILURE(expect_consume_queue_disk("after the restart", kQueues));
  std::printf("took %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace comet::testing
