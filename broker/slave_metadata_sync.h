// SlaveMetadataSync: what a slave (or DLedger follower) keeps of its master's metadata, whatever
// the replication mode. Every slaveSyncIntervalMs, and at once when a slave starts following a
// master, it copies the master's topic and subscription group configs (the master's are the
// truth: a slave serves reads of them, and a promoted slave retries by them) and its consumer
// offsets (the master's win, backwards too, since an admin may reset them; only what consumers
// committed on this slave since the last sync, while the master was away, goes back to it:
// ConsumerOffsetManager::adopt_master_offsets). On becoming master, adopt_logged_topics() turns
// topics the log holds without a config (created on the old master just before it died) into topics
// here.
#pragma once

#include <atomic>
#include <memory>

#include <asio.hpp>

#include "broker/broker_context.h"
#include "remoting/remoting_client.h"

namespace comet::broker {

class Replication;

class SlaveMetadataSync {
 public:
  SlaveMetadataSync(BrokerContext& ctx, Replication& replication);
  ~SlaveMetadataSync();

  void start();
  void stop();
  // Syncs now (posted to the broker's I/O thread).
  void sync_soon();
  void adopt_logged_topics();

 private:
  void schedule();
  void sync();
  void sync_topics(const std::string& master);
  void sync_groups(const std::string& master);
  void sync_offsets(const std::string& master);

  BrokerContext& ctx_;
  Replication& replication_;
  std::unique_ptr<remoting::RemotingClient> client_;
  std::unique_ptr<asio::steady_timer> timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace comet::broker
