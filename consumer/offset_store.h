// OffsetStore: where a consumer group's progress lives, as RocketMQ's OffsetStore. An offset is
// the next queue offset to consume. Clustering groups keep it on the broker the queue is read
// from (RemoteBrokerOffsetStore); broadcasting consumers each keep their own in a local file
// (LocalFileOffsetStore), rewritten whole through a temporary file and a rename, so a crash leaves
// the old file or the new one. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "consumer/consumer_api.h"
#include "producer/topic_route.h"

namespace comet::client {

class OffsetStore {
 public:
  virtual ~OffsetStore() = default;
  // The stored offset, nullopt when there is none.
  virtual Result<std::optional<uint64_t>> read(const MessageQueue& mq) = 0;
  // Records `offset`; with `sync`, returns once it is stored (remote: the broker answered; local:
  // the file is written). Without, a remote commit is sent and not waited for, a local one waits
  // for flush().
  virtual Status commit(const MessageQueue& mq, uint64_t offset, bool sync) = 0;
  virtual Status flush() = 0;
};

class RemoteBrokerOffsetStore final : public OffsetStore {
 public:
  explicit RemoteBrokerOffsetStore(std::shared_ptr<ConsumerApi> api) : api_(std::move(api)) {}

  Result<std::optional<uint64_t>> read(const MessageQueue& mq) override;
  Status commit(const MessageQueue& mq, uint64_t offset, bool sync) override;
  Status flush() override { return Status::ok(); }

 private:
  std::shared_ptr<ConsumerApi> api_;
};

class LocalFileOffsetStore final : public OffsetStore {
 public:
  static constexpr const char* kFileName = "offsets.txt";

  // Loads <dir>/offsets.txt when it exists; creates `dir`.
  static Result<std::unique_ptr<LocalFileOffsetStore>> open(const std::string& dir);

  Result<std::optional<uint64_t>> read(const MessageQueue& mq) override;
  Status commit(const MessageQueue& mq, uint64_t offset, bool sync) override;
  Status flush() override;
  std::string path() const;

 private:
  explicit LocalFileOffsetStore(std::string dir) : dir_(std::move(dir)) {}
  Status load();
  Status write_locked();

  const std::string dir_;
  std::mutex mu_;
  std::map<MessageQueue, uint64_t> offsets_;
  bool dirty_ = false;
};

}  // namespace comet::client
