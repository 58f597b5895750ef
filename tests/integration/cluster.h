// A local comet cluster for integration tests: a real comet-namesrv and comet-broker processes on
// 127.0.0.1 (ports chosen by the servers, read from their ready lines), stores in a temporary
// directory, plus helpers that speak the protocol directly with a RemotingClient.
#pragma once

#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/record_codec.h"
#include "integration/process.h"
#include "producer/client_config.h"
#include "remoting/remoting_client.h"
#include "unit/test_util.h"

namespace comet::testing {

using remoting::RemotingCommand;
using remoting::RequestCode;
using remoting::ResponseCode;
using namespace std::chrono_literals;

class LocalCluster {
 public:
  explicit LocalCluster(const std::string& root) : root_(root) {}

  // Starts the name server; extra "key=value" settings (access control, TLS) win.
  Status start_namesrv(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {COMET_NAMESRV_BIN, "listenPort=0", "bindAddress=127.0.0.1"};
    for (auto& e : extra)
      argv.push_back(std::move(e));
    COMET_ASSIGN_OR_RETURN(namesrv_, ChildProcess::spawn(argv, root_ + "/namesrv.log"));
    COMET_ASSIGN_OR_RETURN(std::string line, namesrv_->wait_for_line("ready on", 20s));
    namesrv_addr_ = ChildProcess::address_in(line);
    return Status::ok();
  }

  // Stops the name server (SIGTERM) and starts it again on the same port, empty: the brokers
  // keep its address and must register again.
  Status restart_namesrv(std::vector<std::string> extra = {}) {
    const std::string port = namesrv_addr_.substr(namesrv_addr_.rfind(':') + 1);
    namesrv_->stop();
    namesrv_.reset();
    extra.insert(extra.begin(), "listenPort=" + port);
    return start_namesrv(std::move(extra));
  }

  // Starts broker `name` (its store under root/name); extra "key=value" settings win. Without
  // start_namesrv() first, brokers run without a name server.
  Result<std::string> start_broker(const std::string& name, std::vector<std::string> extra = {}) {
    return start_broker_as(name, name, std::move(extra));
  }
  // Broker process `key` (store under root/key) of broker group `broker_name`: the members of
  // a master/slave group share the name.
  Result<std::string> start_broker_as(const std::string& key, const std::string& broker_name,
                                      std::vector<std::string> extra = {}) {
    const std::string name = key;
    std::vector<std::string> argv = {COMET_BROKER_BIN,
                                     "listenPort=0",
                                     "haListenPort=0",
                                     "bindAddress=127.0.0.1",
                                     "brokerName=" + broker_name,
                                     "storePathRootDir=" + root_ + "/" + name,
                                     "mappedFileSizeCommitLog=67108864",
                                     "heartbeatIntervalMs=300"};
    if (!namesrv_addr_.empty()) argv.push_back("namesrvAddr=" + namesrv_addr_);
    for (auto& e : extra)
      argv.push_back(std::move(e));
    COMET_ASSIGN_OR_RETURN(auto proc, ChildProcess::spawn(argv, root_ + "/" + name + ".log"));
    COMET_ASSIGN_OR_RETURN(std::string line, proc->wait_for_line("ready on", 30s));
    std::string addr = ChildProcess::address_in(line);
    brokers_[name] = std::move(proc);
    return addr;
  }

  ChildProcess* broker(const std::string& name) { return brokers_.at(name).get(); }
  ChildProcess* namesrv() { return namesrv_.get(); }

  // Prints the last `lines` lines of each process's log (its stderr): for a failed test, whose
  // directory is gone once it ends, and for CI, which keeps no files.
  void print_log_tails(size_t lines = 40) const {
    std::vector<std::pair<std::string, std::string>> logs;
    if (namesrv_) logs.emplace_back("namesrv", namesrv_->log_path());
    for (const auto& [name, proc] : brokers_)
      logs.emplace_back(name, proc->log_path());
    for (const auto& [name, path] : logs) {
      std::ifstream in(path);
      std::deque<std::string> tail;
      for (std::string line; std::getline(in, line);) {
        if (tail.size() == lines) tail.pop_front();
        tail.push_back(std::move(line));
      }
      std::printf("---- last %zu lines of %s (%s)\n", tail.size(), name.c_str(), path.c_str());
      for (const auto& line : tail)
        std::printf("%s\n", line.c_str());
    }
    std::fflush(stdout);
  }
  const std::string& namesrv_addr() const { return namesrv_addr_; }
  // A client of this cluster's name server that notices brokers and routes change within a
  // second (heartbeats and route polls every second), as the process tests want.
  client::ClientConfig client_config(const std::string& client_id) const {
    client::ClientConfig c;
    c.namesrv_addr = namesrv_addr_;
    c.client_id = client_id;
    c.heartbeat_interval = std::chrono::milliseconds(1000);
    c.poll_name_server_interval = std::chrono::milliseconds(1000);
    return c;
  }
  remoting::RemotingClient& client() { return client_; }

 private:
  std::string root_;
  std::unique_ptr<ChildProcess> namesrv_;
  std::string namesrv_addr_;
  std::map<std::string, std::unique_ptr<ChildProcess>> brokers_;
  remoting::RemotingClient client_;
};

// The body of a SEND_MESSAGE: records as the producer encodes them, each with the (encoded)
// properties `props`.
inline std::string encode_records_with_properties(const std::string& topic,
                                                  const std::vector<std::string>& bodies,
                                                  const std::string& props) {
  std::string out;
  for (const auto& b : bodies) {
    Message m;
    m.topic = topic;
    m.body = b;
    m.properties = props;
    m.born_timestamp_ms = 1;
    size_t at = out.size();
    out.resize(at + record::encoded_size(m));
    record::encode(m, 0, 0, 0, {}, reinterpret_cast<uint8_t*>(out.data() + at));
  }
  return out;
}

inline std::string encode_records(const std::string& topic, const std::vector<std::string>& bodies,
                                  const std::string& tags = "") {
  return encode_records_with_properties(topic, bodies,
                                        tags.empty() ? "" : encode_properties({{"TAGS", tags}}));
}

inline RemotingCommand send_request(const std::string& topic, int32_t queue,
                                    const std::vector<std::string>& bodies,
                                    const std::string& tags = "") {
  auto req = RemotingCommand::request(RequestCode::SEND_MESSAGE);
  protocol::SendMessageRequestT ext;
  ext.producer_group = "test-producer";
  ext.topic = topic;
  ext.queue_id = queue;
  ext.batch = bodies.size() > 1;
  req.set_ext(std::move(ext));
  req.body.owned = encode_records(topic, bodies, tags);
  return req;
}

inline RemotingCommand pull_request(const std::string& topic, int32_t queue, int64_t offset,
                                    int32_t max = 32, int64_t suspend_ms = 0,
                                    const std::string& subscription = "*") {
  auto req = RemotingCommand::request(RequestCode::PULL_MESSAGE);
  protocol::PullMessageRequestT ext;
  ext.consumer_group = "test-consumer";
  ext.topic = topic;
  ext.queue_id = queue;
  ext.queue_offset = offset;
  ext.max_msg_nums = max;
  ext.suspend_timeout_millis = suspend_ms;
  ext.commit_offset = -1;
  ext.subscription = subscription;
  req.set_ext(std::move(ext));
  return req;
}

inline RemotingCommand update_topic_request(const std::string& topic, int32_t queues) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_AND_CREATE_TOPIC);
  protocol::UpdateTopicRequestT ext;
  ext.config = std::make_unique<protocol::TopicConfigT>();
  ext.config->topic_name = topic;
  ext.config->read_queue_nums = queues;
  ext.config->write_queue_nums = queues;
  ext.config->perm = 6;
  req.set_ext(std::move(ext));
  return req;
}

// PROMOTE_SLAVE as comet-admin promoteSlave sends it: the new epoch is at least `min_epoch`;
// an empty role keeps the group's master role.
inline RemotingCommand promote_slave_request(int64_t min_epoch, const std::string& role = "") {
  auto req = RemotingCommand::request(RequestCode::PROMOTE_SLAVE);
  protocol::PromoteSlaveRequestT ext;
  ext.epoch = min_epoch;
  ext.role = role;
  req.set_ext(std::move(ext));
  return req;
}

// UPDATE_CONSUMER_OFFSET and QUERY_CONSUMER_OFFSET, as a consumer sends them.
inline RemotingCommand commit_offset_request(const std::string& group, const std::string& topic,
                                             int32_t queue, int64_t offset) {
  auto req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue;
  ext.commit_offset = offset;
  req.set_ext(std::move(ext));
  return req;
}

inline RemotingCommand query_offset_request(const std::string& group, const std::string& topic,
                                            int32_t queue) {
  auto req = RemotingCommand::request(RequestCode::QUERY_CONSUMER_OFFSET);
  protocol::ConsumerOffsetRequestT ext;
  ext.consumer_group = group;
  ext.topic = topic;
  ext.queue_id = queue;
  req.set_ext(std::move(ext));
  return req;
}

// Bodies of the records in a pull response (each record's CRC checked).
inline std::vector<std::string> bodies_of(const RemotingCommand& resp) {
  std::vector<std::string> out;
  std::string body = resp.body.to_string();
  const auto* p = reinterpret_cast<const uint8_t*>(body.data());
  for (size_t pos = 0; pos < body.size();) {
    auto d = record::decode(p + pos, body.size() - pos, true);
    EXPECT_EQ(d.outcome, record::Outcome::kRecord) << d.reason;
    if (d.outcome != record::Outcome::kRecord) break;
    out.emplace_back(d.record.body);
    pos += d.size;
  }
  return out;
}

}  // namespace comet::testing
