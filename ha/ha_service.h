// HAService: the master side of master/slave replication (RocketMQ's HAService). Listens on the
// HA port; a slave handshakes (cluster, broker name, epochs, its log end), the service answers
// with the offset where the two logs agree (ha/epoch_cache.h) and then streams whole CommitLog
// records from there, zero-copy from the mapped segments, at most `window_bytes` ahead of the
// slave's acks. New appends wake an idle stream (no polling). Acks advance `replicated()`, the
// watermark SYNC_MASTER sends wait on, and the store's committed offset, which bounds what a
// SYNC_MASTER's consumers read (MessageStore::bound_to_committed); a slave is in sync while
// connected, streaming (it acked its start) and at most haMaxGapNotInSync bytes behind. When the
// last in-sync slave goes, waiters fail at once with kUnavailable instead of running into their
// timeout.
//
// The protocol itself (handshake checks and refusals, the start offset, the window, acks, in-sync
// state, heartbeats, silence) is one MasterStream per slave (ha/master_stream.h), an I/O-free
// state machine; this class is its I/O shell: the server, the timer, reading records from the
// CommitLog, the watermark and the wake-ups. tests/unit/ha_sim_test.cc drives the state machines
// without it.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "commitlog/message_store.h"
#include "ha/epoch_cache.h"
#include "ha/ha_options.h"
#include "ha/master_stream.h"
#include "remoting/remoting_server.h"

namespace comet::ha {

namespace protocol = ::comet::protocol;

struct SlaveInfo {
  std::string broker_addr;
  std::string remote_addr;
  int64_t broker_id = 0;
  uint64_t acked_offset = 0;
  uint64_t lag_bytes = 0;
  bool in_sync = false;
  int64_t last_ack_ms_ago = 0;
};

std::vector<std::unique_ptr<protocol::EpochEntryT>> to_protocol(const std::vector<EpochEntry>& in);
std::vector<EpochEntry> from_protocol(
    const std::vector<std::unique_ptr<protocol::EpochEntryT>>& in);

class HAService {
 public:
  // What the broker's role says at the moment a slave handshakes.
  struct MasterView {
    bool is_master = false;
    int64_t epoch = 0;
    std::vector<EpochEntry> epochs;
    std::string role;  // ASYNC_MASTER / SYNC_MASTER
  };
  using MasterViewFn = std::function<MasterView()>;
  // A slave has seen a higher epoch than ours: this master is stale.
  using FencedFn = std::function<void(int64_t higher_epoch)>;

  HAService(commitlog::MessageStore& store, HaOptions options, MasterViewFn view, FencedFn fenced);
  ~HAService();

  // Runs (on an HA thread) when a slave's stream begins: it acked the offset it starts from.
  void set_slave_listener(std::function<void(const std::string& slave, uint64_t offset)> l) {
    slave_listener_ = std::move(l);
  }

  Status start(const std::string& bind_address, uint16_t port);
  void stop();
  uint16_t port() const { return server_ ? server_->port() : 0; }

  // Highest log offset a slave has acknowledged.
  commitlog::Watermark& replicated() { return replicated_; }
  bool has_in_sync_slave() const;
  std::vector<SlaveInfo> slaves() const;
  // Closes every slave stream (the broker stopped being master).
  void drop_slaves();
  // Fails pending waiters and restarts the watermark at `offset` (the broker became master:
  // acks of an earlier term say nothing about the log it now writes).
  void reset_replicated(uint64_t offset);

 private:
  struct Slave;
  std::vector<std::shared_ptr<Slave>> snapshot() const;
  std::shared_ptr<Slave> find(remoting::Connection* conn) const;
  bool in_sync(const Slave& s, uint64_t log_end) const;
  void on_handshake(const std::shared_ptr<remoting::Connection>& conn,
                    remoting::RemotingCommand req);
  void on_ack(const std::shared_ptr<remoting::Connection>& conn,
              const remoting::RemotingCommand& req);
  void on_close(remoting::Connection* conn);
  // Sends what the window allows; marks the stream idle when it has sent everything.
  void pump(Slave& s);
  void pump_idle();
  static void wake(void* self);
  void on_append();
  void schedule_housekeeping();
  void housekeeping();
  void fail_waiters_if_no_slave();

  commitlog::MessageStore& store_;
  const HaOptions options_;
  MasterViewFn view_;
  FencedFn fenced_;
  std::function<void(const std::string&, uint64_t)> slave_listener_;
  std::unique_ptr<remoting::RemotingServer> server_;
  std::unique_ptr<asio::steady_timer> timer_;
  commitlog::Watermark replicated_;

  mutable std::mutex mu_;
  std::unordered_map<remoting::Connection*, std::shared_ptr<Slave>> slaves_;
  std::atomic<bool> any_idle_{false};  // some stream sent everything and waits for appends
  std::atomic<bool> stopped_{false};
};

}  // namespace comet::ha
