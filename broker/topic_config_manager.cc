#include "broker/topic_config_manager.h"

#include <mutex>

#include "broker/system_topics.h"
#include "common/clock.h"
#include "common/little_endian.h"
#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr uint8_t kTopicConfigVersion = 1;
constexpr size_t kTopicConfigV1Size = 1 + 4 + 4 + 4 + 1;
constexpr uint8_t kFlagOrder = 1;
// '!' is not a topic-name character, so this key never collides with a topic.
constexpr std::string_view kDataVersionKey = "!data_version";

}  // namespace

protocol::TopicConfigT TopicConfig::to_protocol() const {
  protocol::TopicConfigT t;
  t.topic_name = name;
  t.read_queue_nums = static_cast<int32_t>(read_queue_nums);
  t.write_queue_nums = static_cast<int32_t>(write_queue_nums);
  t.perm = static_cast<int32_t>(perm);
  t.order = order;
  return t;
}

TopicConfig TopicConfig::from_protocol(const protocol::TopicConfigT& t) {
  TopicConfig c;
  c.name = t.topic_name;
  // Negative counts become huge and fail validate_topic_config().
  c.read_queue_nums = static_cast<uint32_t>(t.read_queue_nums);
  c.write_queue_nums = static_cast<uint32_t>(t.write_queue_nums);
  c.perm = static_cast<uint32_t>(t.perm);
  c.order = t.order;
  return c;
}

Status validate_topic_config(const TopicConfig& c) {
  if (!record::valid_topic_name(c.name)) {
    return Status::invalid_argument("illegal topic name '" + c.name +
                                    "' (1-127 chars of [A-Za-z0-9_%|-])");
  }
  if (is_system_topic(c.name)) {
    return Status::invalid_argument("topic " + c.name + " is reserved for the broker's own use");
  }
  auto bad_nums = [](uint32_t n) { return n < 1 || n > kMaxQueueNums; };
  if (bad_nums(c.read_queue_nums) || bad_nums(c.write_queue_nums)) {
    return Status::invalid_argument(
        "topic " + c.name + ": read/write queue nums must be within 1..1024, got " +
        std::to_string(c.read_queue_nums) + "/" + std::to_string(c.write_queue_nums));
  }
  if ((c.perm & ~kPermReadWrite) != 0) {
    return Status::invalid_argument("topic " + c.name +
                                    ": perm must be a subset of 6 (4 read | 2 write), got " +
                                    std::to_string(c.perm));
  }
  return Status::ok();
}

std::string encode_topic_config(const TopicConfig& c) {
  std::string out;
  out.reserve(kTopicConfigV1Size);
  out.push_back(static_cast<char>(kTopicConfigVersion));
  put_u32(out, c.read_queue_nums);
  put_u32(out, c.write_queue_nums);
  put_u32(out, c.perm);
  out.push_back(static_cast<char>(c.order ? kFlagOrder : 0));
  return out;
}

Result<TopicConfig> decode_topic_config(std::string_view name, std::string_view value) {
  if (value.empty() || static_cast<uint8_t>(value[0]) < kTopicConfigVersion ||
      value.size() < kTopicConfigV1Size) {
    return Status::corruption("topic config of '" + std::string(name) + "': bad encoding (" +
                              std::to_string(value.size()) + " bytes)");
  }
  TopicConfig c;
  c.name = name;
  c.read_queue_nums = get_u32(value.data() + 1);
  c.write_queue_nums = get_u32(value.data() + 5);
  c.perm = get_u32(value.data() + 9);
  c.order = (static_cast<uint8_t>(value[13]) & kFlagOrder) != 0;
  return c;
}

Result<std::unique_ptr<TopicConfigManager>> TopicConfigManager::load(MetadataStore& store) {
  std::unique_ptr<TopicConfigManager> m(new TopicConfigManager(store));
  Status decode_error;
  COMET_RETURN_IF_ERROR(
      store.for_each(Family::kTopics, "", [&](std::string_view key, std::string_view value) {
        if (key == kDataVersionKey) {
          auto v = decode_data_version(value);
          if (!v) {
            decode_error = Status::corruption("topics data version: bad encoding");
            return false;
          }
          m->data_version_ = *v;
          return true;
        }
        auto c = decode_topic_config(key, value);
        if (c.is_ok()) {
          Status valid = validate_topic_config(*c);
          if (!valid.is_ok()) c = Status::corruption("stored " + valid.message());
        }
        if (!c.is_ok()) {
          decode_error = c.status();
          return false;
        }
        m->topics_.emplace(std::string(key), std::move(c).value());
        return true;
      }));
  COMET_RETURN_IF_ERROR(decode_error);
  logger("broker")->info("loaded {} topic configs from {} (data version {})", m->topics_.size(),
                         store.path(), m->data_version_.to_string());
  return m;
}

Status TopicConfigManager::persist_locked(const TopicConfig* upsert, std::string_view remove_name,
                                          bool sync) {
  MetadataBatch batch;
  if (upsert) batch.put(Family::kTopics, upsert->name, encode_topic_config(*upsert));
  if (!remove_name.empty()) batch.remove(Family::kTopics, std::string(remove_name));
  // The one place the table changes: every create, update, perm change and removal passes here.
  const DataVersion next = data_version_.next(SystemClock::instance().now_ms());
  batch.put(Family::kTopics, std::string(kDataVersionKey), encode_data_version(next));
  COMET_RETURN_IF_ERROR(store_.write(batch, sync));
  data_version_ = next;
  return Status::ok();
}

Result<TopicConfig> TopicConfigManager::create_or_update(TopicConfig config) {
  COMET_RETURN_IF_ERROR(validate_topic_config(config));
  std::unique_lock lock(mu_);
  auto it = topics_.find(config.name);
  if (it != topics_.end() && it->second == config) return config;
  COMET_RETURN_IF_ERROR(persist_locked(&config, {}));
  topics_.insert_or_assign(config.name, config);
  if (listener_) listener_(config);
  return config;
}

Status TopicConfigManager::remove(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return Status::not_found("topic " + std::string(name) + " not found");
  COMET_RETURN_IF_ERROR(persist_locked(nullptr, name));
  topics_.erase(it);
  return Status::ok();
}

std::optional<TopicConfig> TopicConfigManager::find(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = topics_.find(name);
  if (it == topics_.end()) return std::nullopt;
  return it->second;
}

Result<TopicConfig> TopicConfigManager::auto_create(std::string_view name,
                                                    uint32_t default_queue_nums) {
  if (auto existing = find(name)) return *existing;
  TopicConfig config;
  config.name = name;
  config.read_queue_nums = default_queue_nums;
  config.write_queue_nums = default_queue_nums;
  config.perm = kPermReadWrite;
  COMET_RETURN_IF_ERROR(validate_topic_config(config));
  std::unique_lock lock(mu_);
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  COMET_RETURN_IF_ERROR(persist_locked(&config, {}, /*sync=*/false));
  topics_.emplace(config.name, config);
  if (listener_) listener_(config);
  logger("broker")->info("auto-created topic {} with {} queues", config.name, default_queue_nums);
  return config;
}

std::vector<TopicConfig> TopicConfigManager::all() const {
  std::shared_lock lock(mu_);
  std::vector<TopicConfig> out;
  out.reserve(topics_.size());
  for (const auto& [name, c] : topics_)
    out.push_back(c);
  return out;
}

size_t TopicConfigManager::size() const {
  std::shared_lock lock(mu_);
  return topics_.size();
}

DataVersion TopicConfigManager::data_version() const {
  std::shared_lock lock(mu_);
  return data_version_;
}

TopicTable TopicConfigManager::table() const {
  std::shared_lock lock(mu_);
  TopicTable out;
  out.version = data_version_;
  out.topics.reserve(topics_.size());
  for (const auto& [name, c] : topics_)
    out.topics.push_back(c);
  return out;
}

}  // namespace comet::broker
