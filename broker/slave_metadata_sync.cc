#include "broker/slave_metadata_sync.h"

#include <future>
#include <map>
#include <vector>

#include "broker/replication.h"
#include "broker/system_topics.h"
#include "common/logging.h"

namespace comet::broker {
namespace {
constexpr auto kSyncTimeout = std::chrono::milliseconds(3000);
}  // namespace

SlaveMetadataSync::SlaveMetadataSync(BrokerContext& ctx, Replication& replication)
    : ctx_(ctx), replication_(replication) {}

SlaveMetadataSync::~SlaveMetadataSync() {
  stop();
}

void SlaveMetadataSync::start() {
  ctx_.offsets->track_slave_commits([this] { return !replication_.is_master(); });
  remoting::ClientOptions options;
  if (ctx_.links != nullptr) ctx_.links->apply_to_client(options.connection);
  client_ = std::make_unique<remoting::RemotingClient>(options);
  timer_ = std::make_unique<asio::steady_timer>(*ctx_.io);
  asio::post(*ctx_.io, [this] { schedule(); });
}

void SlaveMetadataSync::stop() {
  if (!timer_ || stopped_.exchange(true)) return;
  std::promise<void> done;
  asio::post(*ctx_.io, [&] {
    timer_->cancel();
    done.set_value();
  });
  if (done.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    logger("broker")->warn("slave sync timer did not stop in time");
  }
  client_->shutdown();
}

void SlaveMetadataSync::sync_soon() {
  if (timer_ && !stopped_) asio::post(*ctx_.io, [this] { sync(); });
}

void SlaveMetadataSync::schedule() {
  if (stopped_) return;
  timer_->expires_after(std::chrono::milliseconds(ctx_.config.slave_sync_interval_ms));
  timer_->async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    sync();
    schedule();
  });
}

void SlaveMetadataSync::sync() {
  if (stopped_ || replication_.is_master()) return;
  const std::string master = replication_.master_address();
  if (master.empty()) return;
  sync_topics(master);
  sync_groups(master);
  sync_offsets(master);
}

void SlaveMetadataSync::sync_topics(const std::string& master) {
  client_->invoke_async(master, RemotingCommand::request(RequestCode::GET_ALL_TOPIC_CONFIG),
                        kSyncTimeout, [this](Result<RemotingCommand> r) {
                          if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return;
                          const auto* list = r->ext<protocol::TopicConfigListT>();
                          if (list == nullptr || replication_.is_master()) return;
                          // create_or_update writes only what differs.
                          for (const auto& t : list->configs) {
                            if (t)
                              (void)ctx_.topics->create_or_update(TopicConfig::from_protocol(*t));
                          }
                        });
}

void SlaveMetadataSync::sync_groups(const std::string& master) {
  client_->invoke_async(
      master, RemotingCommand::request(RequestCode::GET_ALL_SUBSCRIPTIONGROUP_CONFIG), kSyncTimeout,
      [this](Result<RemotingCommand> r) {
        if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return;
        const auto* list = r->ext<protocol::SubscriptionGroupListT>();
        if (list == nullptr || replication_.is_master()) return;
        for (const auto& g : list->groups) {
          if (g) (void)ctx_.groups->create_or_update(SubscriptionGroupConfig::from_protocol(*g));
        }
      });
}

// The master's offsets are the truth, backwards included (an admin reset, a deleted group), except
// where this slave's own consumers committed since the last sync (while the route listed no
// master): those go back to the master when they are ahead. A slave's offset that merely is
// larger is not pushed: pushing it ("the larger wins") would undo a reset on the master.
void SlaveMetadataSync::sync_offsets(const std::string& master) {
  client_->invoke_async(
      master, RemotingCommand::request(RequestCode::GET_ALL_CONSUMER_OFFSET), kSyncTimeout,
      [this, master](Result<RemotingCommand> r) {
        if (!r.is_ok() || r->response_code() != ResponseCode::SUCCESS) return;
        const auto* list = r->ext<protocol::ConsumerOffsetListT>();
        if (list == nullptr || replication_.is_master()) return;
        std::vector<ConsumerOffsetManager::Entry> theirs;
        for (const auto& e : list->entries) {
          if (!e || e->queue_id < 0 || e->offset < 0) continue;
          theirs.push_back({e->consumer_group, e->topic, static_cast<uint32_t>(e->queue_id),
                            static_cast<uint64_t>(e->offset)});
        }
        for (const auto& mine : ctx_.offsets->adopt_master_offsets(theirs)) {
          auto req = RemotingCommand::request(RequestCode::UPDATE_CONSUMER_OFFSET);
          protocol::ConsumerOffsetRequestT u;
          u.consumer_group = mine.group;
          u.topic = mine.topic;
          u.queue_id = static_cast<int32_t>(mine.queue_id);
          u.commit_offset = static_cast<int64_t>(mine.offset);
          req.set_ext(std::move(u));
          (void)client_->invoke_oneway(master, std::move(req));
        }
      });
}

void SlaveMetadataSync::adopt_logged_topics() {
  std::map<std::string, uint32_t> queues;
  for (const auto& k : ctx_.store->queues()) {
    if (is_system_topic(k.topic)) continue;  // the broker's own, not a client's
    uint32_t& n = queues[k.topic];
    n = std::max(n, k.queue_id + 1);
  }
  for (const auto& [topic, n] : queues) {
    if (ctx_.topics->find(topic)) continue;
    TopicConfig c;
    c.name = topic;
    c.read_queue_nums = c.write_queue_nums = std::max(n, ctx_.config.default_topic_queue_nums);
    auto r = ctx_.topics->create_or_update(c);
    logger("broker")->warn("topic {} found in the log without a config: created with {} queues{}",
                           topic, c.read_queue_nums,
                           r.is_ok() ? "" : " failed: " + r.status().to_string());
  }
}

}  // namespace comet::broker
