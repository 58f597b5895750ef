// HAClient: the slave side of master/slave replication (RocketMQ's HAClient). Connects to the
// master's HA port, handshakes with its epochs and log end, truncates (or restarts) its log
// where the master says the two agree, adopts the master's epochs, then appends the pushed records
// at exactly their offsets and acks its log end after each push and every heartbeat. It reconnects
// on a timer after any failure and follows set_master() when the master changes (failover).
//
// The protocol (handshake, truncation point, adopting epochs, push checks, acks, silence) is a
// SlaveStream (ha/slave_stream.h), an I/O-free state machine; this class is its I/O shell: the
// connection, the timers, the store's truncation and appends, the broker's callbacks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <asio.hpp>

#include "commitlog/message_store.h"
#include "ha/epoch_cache.h"
#include "ha/ha_options.h"
#include "ha/slave_stream.h"
#include "remoting/connection.h"

namespace comet::ha {

class HAClient {
 public:
  struct Identity {
    int64_t broker_id = 0;
    std::string broker_addr;  // the slave's listen address (for the master's haStatus)
  };
  // The epochs this log holds, read at each handshake.
  using EpochsFn = std::function<EpochCache()>;
  // After a handshake: the master's epochs and role, for the broker to record (durably) before
  // any record of the master arrives.
  using AdoptFn = std::function<void(const std::vector<EpochEntry>& epochs, int64_t master_epoch,
                                     const std::string& master_role)>;

  HAClient(commitlog::MessageStore& store, HaOptions options, Identity identity, EpochsFn epochs,
           AdoptFn adopt);
  ~HAClient();

  // Runs on the client's thread each time a stream from a master begins (after any truncation).
  void set_stream_listener(std::function<void(const std::string& master, uint64_t offset)> l) {
    stream_listener_ = std::move(l);
  }

  void start();
  void stop();
  // Follows the master at `ha_addr` ("host:port"); empty: none (stays disconnected).
  void set_master(const std::string& ha_addr);

  struct State {
    std::string master;
    bool streaming = false;
    uint64_t master_max_offset = 0;
    uint64_t offset = 0;
  };
  State state() const;
  // A stream from a master is running (it handshook and its records may arrive).
  bool streaming() const { return streaming_.load(); }

 private:
  void connect();  // strand
  void on_connected_handshake(const std::shared_ptr<remoting::Connection>& conn,
                              Result<remoting::RemotingCommand> resp);
  void on_push(const std::shared_ptr<remoting::Connection>& conn, remoting::RemotingCommand cmd);
  void on_closed(remoting::Connection* conn);
  void send_ack(const std::shared_ptr<remoting::Connection>& conn, uint64_t offset);
  // The stream begins (after any truncation): adopt the master's epochs, ack, tell the listener.
  void begin_stream(const std::shared_ptr<remoting::Connection>& conn,
                    const SlaveStream::Begin& begin, const std::string& master_role);
  void schedule_reconnect();
  void schedule_heartbeat();

  commitlog::MessageStore& store_;
  const HaOptions options_;
  const Identity identity_;
  EpochsFn epochs_;
  AdoptFn adopt_;
  std::function<void(const std::string&, uint64_t)> stream_listener_;

  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer reconnect_timer_;
  asio::steady_timer heartbeat_timer_;
  std::thread thread_;

  // Strand state.
  std::string master_;
  std::shared_ptr<remoting::Connection> conn_;
  bool reconnect_pending_ = false;
  bool disk_full_logged_ = false;  // strand only: "not following" is said once per episode
  bool warned_ = false;

  // The protocol; this class only does its I/O. Pushes arrive on the connection's strand, the
  // rest on strand_, so the mutex (uncontended: one I/O thread) keeps them apart.
  std::mutex stream_mu_;
  std::condition_variable cut_done_;  // a cut finished (stop() waits for one still running)
  SlaveStream stream_;

  // Mirrors of the stream for state() on other threads.
  std::atomic<bool> streaming_{false};
  std::atomic<uint64_t> master_max_{0};
  std::atomic<bool> stopped_{false};
  mutable std::mutex state_mu_;
  std::string master_shown_;  // guarded by state_mu_
};

}  // namespace comet::ha
