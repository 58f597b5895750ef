#include "broker/consumer_offset_manager.h"

#include <charconv>

#include "common/logging.h"
#include "common/record_codec.h"

namespace comet::broker {
namespace {

constexpr char kSep = '@';

std::string encode_offset(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i)
    out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

std::optional<uint64_t> decode_offset(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
  return v;
}

struct ParsedKey {
  std::string_view topic;
  std::string_view group;
  uint32_t queue_id = 0;
};

std::optional<ParsedKey> parse_key(std::string_view key) {
  size_t first = key.find(kSep);
  size_t last = key.rfind(kSep);
  if (first == std::string_view::npos || first == last) return std::nullopt;
  ParsedKey k;
  k.topic = key.substr(0, first);
  k.group = key.substr(first + 1, last - first - 1);
  std::string_view q = key.substr(last + 1);
  auto [ptr, ec] = std::from_chars(q.data(), q.data() + q.size(), k.queue_id);
  if (q.empty() || ec != std::errc() || ptr != q.data() + q.size()) return std::nullopt;
  if (!record::valid_topic_name(k.topic) || !record::valid_topic_name(k.group)) return std::nullopt;
  return k;
}

}  // namespace

std::string ConsumerOffsetManager::key(std::string_view group, std::string_view topic,
                                       uint32_t queue_id) {
  std::string k;
  k.reserve(topic.size() + group.size() + 12);
  k.append(topic).push_back(kSep);
  k.append(group).push_back(kSep);
  k.append(std::to_string(queue_id));
  return k;
}

Result<std::unique_ptr<ConsumerOffsetManager>> ConsumerOffsetManager::load(MetadataStore& store) {
  std::unique_ptr<ConsumerOffsetManager> m(new ConsumerOffsetManager(store));
  Status decode_error;
  size_t count = 0;
  COMET_RETURN_IF_ERROR(store.for_each(
      Family::kConsumerOffsets, "", [&](std::string_view key, std::string_view value) {
        auto k = parse_key(key);
        auto offset = decode_offset(value);
        if (!k || !offset) {
          decode_error =
              Status::corruption("consumer offset entry '" + std::string(key) + "': bad encoding");
          return false;
        }
        auto topic_it = m->by_topic_.try_emplace(std::string(k->topic)).first;
        auto group_it = topic_it->second.try_emplace(std::string(k->group)).first;
        group_it->second[k->queue_id] = *offset;
        ++count;
        return true;
      }));
  COMET_RETURN_IF_ERROR(decode_error);
  logger("broker")->info("loaded {} consumer offsets of {} topics from {}", count,
                         m->by_topic_.size(), store.path());
  return m;
}

Status ConsumerOffsetManager::commit(std::string_view group, std::string_view topic,
                                     uint32_t queue_id, uint64_t offset, bool force) {
  if (!record::valid_topic_name(group)) {
    return Status::invalid_argument("illegal consumer group name '" + std::string(group) + "'");
  }
  if (!record::valid_topic_name(topic)) {
    return Status::invalid_argument("illegal topic name '" + std::string(topic) + "'");
  }
  std::lock_guard lock(mu_);
  const uint64_t* current = find_locked(group, topic, queue_id);
  if (current && (*current == offset || (!force && offset < *current))) return Status::ok();
  COMET_RETURN_IF_ERROR(
      store_.put(Family::kConsumerOffsets, key(group, topic, queue_id), encode_offset(offset)));
  queues_locked(group, topic)[queue_id] = offset;
  if (listener_) listener_(Entry{std::string(group), std::string(topic), queue_id, offset});
  return Status::ok();
}

const uint64_t* ConsumerOffsetManager::find_locked(std::string_view group, std::string_view topic,
                                                   uint32_t queue_id) const {
  auto topic_it = by_topic_.find(topic);
  if (topic_it == by_topic_.end()) return nullptr;
  auto group_it = topic_it->second.find(group);
  if (group_it == topic_it->second.end()) return nullptr;
  auto q = group_it->second.find(queue_id);
  return q == group_it->second.end() ? nullptr : &q->second;
}

ConsumerOffsetManager::QueueOffsets& ConsumerOffsetManager::queues_locked(std::string_view group,
                                                                          std::string_view topic) {
  auto topic_it = by_topic_.find(topic);
  if (topic_it == by_topic_.end()) topic_it = by_topic_.try_emplace(std::string(topic)).first;
  auto group_it = topic_it->second.find(group);
  if (group_it == topic_it->second.end()) {
    group_it = topic_it->second.try_emplace(std::string(group)).first;
  }
  return group_it->second;
}

std::optional<uint64_t> ConsumerOffsetManager::query(std::string_view group, std::string_view topic,
                                                     uint32_t queue_id) const {
  std::lock_guard lock(mu_);
  const uint64_t* offset = find_locked(group, topic, queue_id);
  if (!offset) return std::nullopt;
  return *offset;
}

std::map<uint32_t, uint64_t> ConsumerOffsetManager::offsets(std::string_view group,
                                                            std::string_view topic) const {
  std::lock_guard lock(mu_);
  auto topic_it = by_topic_.find(topic);
  if (topic_it == by_topic_.end()) return {};
  auto group_it = topic_it->second.find(group);
  if (group_it == topic_it->second.end()) return {};
  return group_it->second;
}

std::vector<std::string> ConsumerOffsetManager::groups_of_topic(std::string_view topic) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  auto topic_it = by_topic_.find(topic);
  if (topic_it == by_topic_.end()) return out;
  for (const auto& [group, queues] : topic_it->second)
    out.push_back(group);
  return out;
}

Status ConsumerOffsetManager::remove_topic(std::string_view topic) {
  if (!record::valid_topic_name(topic)) {
    return Status::invalid_argument("illegal topic name '" + std::string(topic) + "'");
  }
  std::lock_guard lock(mu_);
  std::string prefix = std::string(topic) + kSep;
  auto removed = store_.remove_prefix(Family::kConsumerOffsets, prefix);
  if (!removed.is_ok()) return removed.status();
  auto topic_it = by_topic_.find(topic);
  if (topic_it != by_topic_.end()) by_topic_.erase(topic_it);
  return Status::ok();
}

Result<size_t> ConsumerOffsetManager::remove_group(std::string_view group) {
  if (!record::valid_topic_name(group)) return size_t{0};  // commit() takes no such name
  std::lock_guard lock(mu_);
  MetadataBatch batch;
  size_t removed = 0;
  for (const auto& [topic, groups] : by_topic_) {
    auto it = groups.find(group);
    if (it == groups.end()) continue;
    for (const auto& [q, _] : it->second) {
      batch.remove(Family::kConsumerOffsets, key(group, topic, q));
      ++removed;
    }
  }
  if (batch.empty()) return size_t{0};
  // One atomic batch: a crash leaves all of the group's offsets or none.
  COMET_RETURN_IF_ERROR(store_.write(batch, /*sync=*/true));
  for (auto t = by_topic_.begin(); t != by_topic_.end();) {
    if (auto g = t->second.find(group); g != t->second.end()) t->second.erase(g);
    t = t->second.empty() ? by_topic_.erase(t) : std::next(t);
  }
  if (group_remove_listener_) group_remove_listener_(std::string(group));
  return removed;
}

bool ConsumerOffsetManager::has_group(std::string_view group) const {
  std::lock_guard lock(mu_);
  for (const auto& [topic, groups] : by_topic_) {
    if (groups.find(group) != groups.end()) return true;
  }
  return false;
}

Status ConsumerOffsetManager::persist() {
  return store_.flush();
}

std::vector<ConsumerOffsetManager::Entry> ConsumerOffsetManager::all() const {
  std::lock_guard lock(mu_);
  std::vector<Entry> out;
  for (const auto& [topic, groups] : by_topic_)
    for (const auto& [group, queues] : groups)
      for (const auto& [q, offset] : queues)
        out.push_back({group, topic, q, offset});
  return out;
}

}  // namespace comet::broker
