// txn_producer_main: a transactional producer that dies between its half messages and their ends,
// for transaction_process_test. It sends `count` half messages "<prefix>-<i>" to `topic` as
// producer group `group`, each from its own thread; each thread's execute_local_transaction
// prints "half stored: <body>" and then blocks forever, so no END_TRANSACTION is ever sent. The
// test waits for the lines and kills the process with SIGKILL. Checks that reach it before then
// are answered UNKNOW. A failed send prints "send failed: ..." and exits with status 1.
//
//   txn_producer_main <namesrvAddr> <group> <topic> <count> <clientId> <prefix>
#include <any>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "producer/transaction_producer.h"

namespace {

using comet::client::LocalTransactionState;

// Serialises the lines the threads print, each flushed at once: the test reads them through a
// pipe.
void print_line(const std::string& line) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

class BlockingListener : public comet::client::TransactionListener {
 public:
  LocalTransactionState execute_local_transaction(const comet::client::ProducerMessage& msg,
                                                  const std::any&) override {
    print_line("half stored: " + msg.body);
    // Forever: the process is killed while its local transactions are "running".
    std::unique_lock lock(mu_);
    never_.wait(lock, [] { return false; });
    return LocalTransactionState::kUnknow;
  }
  LocalTransactionState check_local_transaction(const comet::client::MessageExt&) override {
    return LocalTransactionState::kUnknow;
  }

 private:
  std::mutex mu_;
  std::condition_variable never_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: txn_producer_main <namesrvAddr> <group> <topic> <count> <clientId> "
                 "<prefix>\n");
    return 2;
  }
  const std::string topic = argv[3];
  const std::string count_text = argv[4];
  const std::string prefix = argv[6];
  int count = 0;
  auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc() || end != count_text.data() + count_text.size() || count <= 0 ||
      count > 1000) {
    std::fprintf(stderr, "count must be 1..1000, not '%s'\n", count_text.c_str());
    return 2;
  }
  comet::client::ClientConfig config;
  config.namesrv_addr = argv[1];
  config.client_id = argv[5];
  config.heartbeat_interval = std::chrono::milliseconds(1000);
  config.poll_name_server_interval = std::chrono::milliseconds(1000);
  comet::client::TransactionProducer producer(argv[2], config,
                                              std::make_shared<BlockingListener>());
  if (auto s = producer.start(); !s.is_ok()) {
    std::fprintf(stderr, "start: %s\n", s.to_string().c_str());
    return 1;
  }
  std::vector<std::thread> senders;
  for (int i = 0; i < count; ++i) {
    senders.emplace_back([&producer, &topic, &prefix, i] {
      comet::client::ProducerMessage m;
      m.topic = topic;
      m.body = prefix + "-" + std::to_string(i);
      auto r = producer.send_in_transaction(m);
      // Only a failed send gets here: a stored one blocks in execute_local_transaction.
      print_line("send failed: " + m.body + ": " + r.status().to_string());
      std::_Exit(1);
    });
  }
  for (auto& t : senders)
    t.join();
  return 0;
}
