// orderly_member_main: a member of an orderly consumer group for orderly_process_test, which
// kills it with SIGKILL to show that its queue locks outlive it until the broker's lease lapses.
// It consumes `topic` from the first offset with an orderly listener that sleeps `sleep_ms` per
// message, and appends one line per message to `record_file`, flushed at once (a kill loses
// none):
//   <queue id> <body> <enter ns> <exit ns>
// (steady clock: CLOCK_MONOTONIC, shared by every process of the machine). It prints "member
// ready" once started, and "progress <n>" after every 100th message. It exits by itself after
// two minutes.
//
//   orderly_member_main <namesrvAddr> <group> <topic> <clientId> <record_file> <sleep_ms>
//                       <lock_renew_ms> <lock_live_ms>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "consumer/push_consumer.h"

namespace {

using Clock = std::chrono::steady_clock;

bool parse_ms(const char* text, int& out) {
  const std::string s = text;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0 && out <= 600000;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  int sleep_ms = 0, renew_ms = 0, live_ms = 0;
  if (argc != 9 || !parse_ms(argv[6], sleep_ms) || !parse_ms(argv[7], renew_ms) ||
      !parse_ms(argv[8], live_ms)) {
    std::fprintf(stderr,
                 "usage: orderly_member_main <namesrvAddr> <group> <topic> <clientId> "
                 "<record_file> <sleep_ms> <lock_renew_ms> <lock_live_ms>\n");
    return 2;
  }
  std::FILE* records = std::fopen(argv[5], "a");
  if (records == nullptr) {
    std::perror(argv[5]);
    return 2;
  }
  comet::client::ClientConfig config;
  config.namesrv_addr = argv[1];
  config.client_id = argv[4];
  config.heartbeat_interval = std::chrono::milliseconds(1000);
  config.poll_name_server_interval = std::chrono::milliseconds(1000);
  comet::client::PushConsumer consumer(argv[2], config);
  if (auto s = consumer.subscribe(argv[3], "*"); !s.is_ok()) {
    std::fprintf(stderr, "subscribe: %s\n", s.to_string().c_str());
    return 1;
  }
  consumer.set_consume_from_where(comet::client::ConsumeFromWhere::kFirstOffset);
  consumer.set_rebalance_interval(std::chrono::milliseconds(300));
  consumer.set_persist_offset_interval(std::chrono::milliseconds(200));
  consumer.set_lock_renew_interval(std::chrono::milliseconds(renew_ms));
  consumer.set_lock_max_live_time(std::chrono::milliseconds(live_ms));
  std::mutex mu;
  uint64_t consumed = 0;
  consumer.register_message_listener_orderly(
      [&](const std::vector<comet::client::MessageExt>& msgs) {
        for (const auto& m : msgs) {
          const int64_t enter = now_ns();
          std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
          const int64_t exit = now_ns();
          std::lock_guard lock(mu);
          std::fprintf(records, "%u %s %lld %lld\n", m.queue_id, m.body.c_str(),
                       static_cast<long long>(enter), static_cast<long long>(exit));
          std::fflush(records);
          if (++consumed % 100 == 0) {
            std::printf("progress %llu\n", static_cast<unsigned long long>(consumed));
            std::fflush(stdout);
          }
        }
        return comet::client::ConsumeOrderlyStatus::kSuccess;
      });
  if (auto s = consumer.start(); !s.is_ok()) {
    std::fprintf(stderr, "start: %s\n", s.to_string().c_str());
    return 1;
  }
  std::printf("member ready\n");
  std::fflush(stdout);
  // Until the test kills it; bounded all the same.
  std::condition_variable never;
  std::unique_lock lock(mu);
  never.wait_for(lock, std::chrono::minutes(2), [] { return false; });
  lock.unlock();
  consumer.shutdown();
  std::fclose(records);
  return 0;
}
