#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "broker/consumer_offset_manager.h"
#include "broker/metadata_store.h"
#include "broker/send_message_processor.h"
#include "broker/subscription_group_manager.h"
#include "broker/topic_config_manager.h"
#include "common/msg_id.h"
#include "test_util.h"

namespace comet::broker {
namespace {

// Re-executed as a child by CrossProcessOpenIsUnavailable: before any test runs, opens the store
// named by the environment, reports the outcome on stderr and exits with its Code. (Not from a
// static initializer: RocksDB is linked statically and its own statics may not be ready.)
constexpr const char* kChildRootEnv = "COMET_METADATA_TEST_CHILD_ROOT";
constexpr const char* kChildFilter =
    "--gtest_filter=TopicConfigManager.EncodingIsVersionedAndForwardCompatible";

class ChildOpenEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const char* root = std::getenv(kChildRootEnv);
    if (root == nullptr) return;
    auto store = MetadataStore::open(root);
    std::fprintf(stderr, "child open: %s\n", store.status().to_string().c_str());
    std::fflush(stderr);
    std::_Exit(static_cast<int>(store.status().code()));
  }
};
[[maybe_unused]] const auto* const kChildEnvironment =
    ::testing::AddGlobalTestEnvironment(new ChildOpenEnvironment);

std::unique_ptr<MetadataStore> open_store(const std::string& root) {
  auto s = MetadataStore::open(root);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  return s.is_ok() ? std::move(s).value() : nullptr;
}

TopicConfig topic(std::string name, uint32_t queues = 4, uint32_t perm = kPermReadWrite,
                  bool order = false) {
  return TopicConfig{std::move(name), queues, queues, perm, order};
}

// ---- MetadataStore -------------------------------------------------------------------------

TEST(MetadataStore, OpensUnderStoreRootWithIndependentColumnFamilies) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->path(), dir.path() + "/metadata");
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/metadata/CURRENT"));

  ASSERT_TRUE(store->put(Family::kTopics, "k", "topic-value").is_ok());
  ASSERT_TRUE(store->put(Family::kConsumerOffsets, "k", "offset-value").is_ok());
  EXPECT_EQ(store->get(Family::kTopics, "k").value(), "topic-value");
  EXPECT_EQ(store->get(Family::kConsumerOffsets, "k").value(), "offset-value");

  auto missing = store->get(Family::kTopics, "absent");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  ASSERT_TRUE(store->remove(Family::kTopics, "k").is_ok());
  EXPECT_EQ(store->get(Family::kTopics, "k").status().code(), Code::kNotFound);
  EXPECT_TRUE(store->get(Family::kConsumerOffsets, "k").is_ok());
  EXPECT_TRUE(store->remove(Family::kTopics, "never-there").is_ok());
  EXPECT_EQ(family_name(Family::kTopics), "topics");
  EXPECT_EQ(family_name(Family::kConsumerOffsets), "consumer_offsets");
  EXPECT_EQ(family_name(Family::kSubscriptionGroups), "subscription_groups");
}

TEST(MetadataStore, BinaryKeysAndValuesRoundTrip) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  std::string key("a\0b", 3), value("\0\xff\0", 3);
  ASSERT_TRUE(store->put(Family::kTopics, key, value).is_ok());
  EXPECT_EQ(store->get(Family::kTopics, key).value(), value);
  EXPECT_EQ(store->get(Family::kTopics, "a").status().code(), Code::kNotFound);
}

TEST(MetadataStore, IteratesAndRemovesByPrefixInKeyOrder) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  for (std::string k : {"b/2", "a/1", "b/1", "b/3", "c/1", "b"})
    ASSERT_TRUE(store->put(Family::kConsumerOffsets, k, "v" + k).is_ok());

  std::vector<std::string> seen;
  ASSERT_TRUE(store
                  ->for_each(Family::kConsumerOffsets, "b/",
                             [&](std::string_view k, std::string_view v) {
                               EXPECT_EQ(v, "v" + std::string(k));
                               seen.emplace_back(k);
                               return true;
                             })
                  .is_ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b/1", "b/2", "b/3"}));

  seen.clear();
  ASSERT_TRUE(store
                  ->for_each(Family::kConsumerOffsets, "",
                             [&](std::string_view k, std::string_view) {
                               seen.emplace_back(k);
                               return seen.size() < 2;
                             })
                  .is_ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "b"}));

  auto removed = store->remove_prefix(Family::kConsumerOffsets, "b/");
  ASSERT_TRUE(removed.is_ok());
  EXPECT_EQ(*removed, 3u);
  EXPECT_EQ(store->remove_prefix(Family::kConsumerOffsets, "zz").value(), 0u);
  seen.clear();
  ASSERT_TRUE(store
                  ->for_each(Family::kConsumerOffsets, "",
                             [&](std::string_view k, std::string_view) {
                               seen.emplace_back(k);
                               return true;
                             })
                  .is_ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a/1", "b", "c/1"}));
}

TEST(MetadataStore, BatchAppliesEveryMutation) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(Family::kTopics, "old", "x").is_ok());
  MetadataBatch batch;
  batch.put(Family::kTopics, "t1", "1");
  batch.put(Family::kConsumerOffsets, "o1", "2");
  batch.remove(Family::kTopics, "old");
  EXPECT_EQ(batch.size(), 3u);
  ASSERT_TRUE(store->write(batch, /*sync=*/true).is_ok());
  EXPECT_EQ(store->get(Family::kTopics, "t1").value(), "1");
  EXPECT_EQ(store->get(Family::kConsumerOffsets, "o1").value(), "2");
  EXPECT_EQ(store->get(Family::kTopics, "old").status().code(), Code::kNotFound);
}

TEST(MetadataStore, PersistsAcrossReopen) {
  testing::TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put(Family::kTopics, "flushed", "1").is_ok());
    ASSERT_TRUE(store->flush().is_ok());
    ASSERT_TRUE(store->put(Family::kConsumerOffsets, "unsynced", "2").is_ok());
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get(Family::kTopics, "flushed").value(), "1");
  EXPECT_EQ(store->get(Family::kConsumerOffsets, "unsynced").value(), "2");
}

TEST(MetadataStore, SecondOpenOfALockedDirectoryIsUnavailable) {
  testing::TempDir dir;
  auto first = open_store(dir.path());
  ASSERT_TRUE(first);
  auto second = MetadataStore::open(dir.path());
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find(dir.path() + "/metadata"), std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("lock"), std::string::npos) << second.status().message();
  // The first store is unaffected, and the directory opens again once it is closed.
  EXPECT_TRUE(first->put(Family::kTopics, "k", "v").is_ok());
  first.reset();
  auto third = open_store(dir.path());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->get(Family::kTopics, "k").value(), "v");
}

TEST(MetadataStore, CrossProcessOpenIsUnavailable) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  // Everything the child needs is built before fork(): this process has RocksDB threads.
  std::string env_entry = std::string(kChildRootEnv) + "=" + dir.path();
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e)
    envp.push_back(*e);
  envp.push_back(env_entry.data());
  envp.push_back(nullptr);
  std::string arg0 = "broker_metadata_test", arg1 = kChildFilter;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  auto child_exit = [&] {
    pid_t pid = ::fork();
    if (pid == 0) {
      int null_fd = ::open("/dev/null", O_WRONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDOUT_FILENO);
      ::execve("/proc/self/exe", argv, envp.data());
      ::_exit(127);
    }
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(child_exit(), static_cast<int>(Code::kUnavailable));
  store.reset();
  EXPECT_EQ(child_exit(), static_cast<int>(Code::kOk));
}

TEST(MetadataStore, UnusableDirectoryIsUnavailableNamingThePath) {
  testing::TempDir dir;
  std::string root = dir.path() + "/not-a-dir";
  std::ofstream(root) << "x";
  auto store = MetadataStore::open(root);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find(root + "/metadata"), std::string::npos)
      << store.status().message();
}

// ---- TopicConfigManager --------------------------------------------------------------------

TEST(TopicConfigManager, CreatesFindsUpdatesAndRemoves) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto mgr = TopicConfigManager::load(*store);
  ASSERT_TRUE(mgr.is_ok()) << mgr.status().to_string();
  auto& topics = **mgr;
  EXPECT_EQ(topics.size(), 0u);
  EXPECT_FALSE(topics.find("orders").has_value());

  auto created = topics.create_or_update(topic("orders", 8, kPermReadWrite, true));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_EQ(*created, topic("orders", 8, kPermReadWrite, true));
  auto found = topics.find("orders");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->read_queue_nums, 8u);
  EXPECT_TRUE(found->order);
  EXPECT_TRUE(found->readable());
  EXPECT_TRUE(found->writable());

  TopicConfig update{"orders", 16, 12, kPermRead, false};
  ASSERT_TRUE(topics.create_or_update(update).is_ok());
  EXPECT_EQ(topics.find("orders"), update);
  EXPECT_FALSE(topics.find("orders")->writable());

  ASSERT_TRUE(topics.create_or_update(topic("audit")).is_ok());
  ASSERT_TRUE(topics.create_or_update(topic("billing")).is_ok());
  auto all = topics.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "audit");
  EXPECT_EQ(all[1].name, "billing");
  EXPECT_EQ(all[2], update);

  ASSERT_TRUE(topics.remove("orders").is_ok());
  EXPECT_FALSE(topics.find("orders").has_value());
  EXPECT_EQ(topics.remove("orders").code(), Code::kNotFound);
  EXPECT_EQ(topics.size(), 2u);
}

TEST(TopicConfigManager, PersistsAcrossReopen) {
  testing::TempDir dir;
  std::vector<TopicConfig> expected;
  DataVersion version;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto topics = std::move(TopicConfigManager::load(*store)).value();
    for (int i = 0; i < 50; ++i) {
      auto name = "topic-" + std::to_string(i);
      ASSERT_TRUE(topics->create_or_update(topic(name, 1 + i % 16, i % 3 == 0 ? 4 : 6, i % 5 == 0))
                      .is_ok());
    }
    ASSERT_TRUE(topics->create_or_update(topic("topic-7", 32)).is_ok());
    ASSERT_TRUE(topics->remove("topic-9").is_ok());
    expected = topics->all();
    version = topics->data_version();
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  EXPECT_EQ(topics->all(), expected);
  EXPECT_EQ(topics->size(), 49u);
  EXPECT_EQ(topics->find("topic-7")->read_queue_nums, 32u);
  EXPECT_FALSE(topics->find("topic-9").has_value());
  EXPECT_EQ(topics->data_version(), version);
  // Versions keep increasing after a restart.
  ASSERT_TRUE(topics->create_or_update(topic("after-restart")).is_ok());
  EXPECT_EQ(topics->data_version().counter, version.counter + 1);
  EXPECT_GE(topics->data_version().timestamp_ms, version.timestamp_ms);
}

TEST(TopicConfigManager, RejectsIllegalNames) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  for (std::string name :
       {std::string(), std::string("a b"), std::string("a@b"), std::string("a/b"),
        std::string("topic!"), std::string("t\xc3\xa9"), std::string(128, 't')}) {
    SCOPED_TRACE(name);
    auto r = topics->create_or_update(topic(name));
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("illegal topic name"), std::string::npos);
    EXPECT_EQ(topics->auto_create(name, 4).status().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(topics->create_or_update(topic(std::string(127, 't'))).is_ok());
  EXPECT_TRUE(topics->create_or_update(topic("A-z_0%9|x")).is_ok());
  EXPECT_EQ(topics->size(), 2u);
  EXPECT_EQ(topics->data_version().counter, 2);
}

TEST(TopicConfigManager, RejectsBadQueueCountsAndPermissions) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  const std::vector<TopicConfig> bad = {{"t", 0, 4, 6, false},    {"t", 4, 0, 6, false},
                                        {"t", 1025, 4, 6, false}, {"t", 4, 1025, 6, false},
                                        {"t", 4, 4, 1, false},    {"t", 4, 4, 8, false},
                                        {"t", 4, 4, 7, false}};
  for (const TopicConfig& c : bad) {
    auto r = topics->create_or_update(c);
    ASSERT_FALSE(r.is_ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
  EXPECT_NE(topics->create_or_update(bad[2]).status().message().find("1..1024"), std::string::npos);
  EXPECT_NE(topics->create_or_update(bad[4]).status().message().find("subset of 6"),
            std::string::npos);
  EXPECT_EQ(topics->size(), 0u);
  EXPECT_EQ(topics->data_version().counter, 0);
  for (uint32_t perm : {0u, 2u, 4u, 6u})
    EXPECT_TRUE(topics->create_or_update(topic("p" + std::to_string(perm), 1, perm)).is_ok());
  EXPECT_TRUE(topics->create_or_update(topic("max", 1024)).is_ok());
}

TEST(TopicConfigManager, AutoCreateMakesAReadWriteTopicOnce) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  auto created = topics->auto_create("fresh", 8);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_EQ(*created, topic("fresh", 8, kPermReadWrite, false));
  EXPECT_EQ(topics->data_version().counter, 1);

  auto again = topics->auto_create("fresh", 2);  // existing config wins
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->read_queue_nums, 8u);
  EXPECT_EQ(topics->data_version().counter, 1);

  ASSERT_TRUE(topics->create_or_update(topic("existing", 3, kPermRead)).is_ok());
  EXPECT_EQ(topics->auto_create("existing", 8)->perm, kPermRead);

  EXPECT_EQ(topics->auto_create("zero", 0).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(topics->auto_create("huge", 1025).status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(topics->find("zero").has_value());
}

TEST(TopicConfigManager, ConcurrentAutoCreateCreatesOnce) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  std::vector<std::thread> threads;
  std::vector<TopicConfig> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = topics->auto_create("topic-" + std::to_string(i), 4);
        ASSERT_TRUE(r.is_ok());
        if (i == 0) results[t] = *r;
      }
      (void)topics->all();
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(topics->size(), 20u);
  EXPECT_EQ(topics->data_version().counter, 20);
  for (const TopicConfig& r : results)
    EXPECT_EQ(r, results[0]);
}

TEST(TopicConfigManager, DataVersionBumpsOnEveryChangeOnly) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto topics = std::move(TopicConfigManager::load(*store)).value();
  EXPECT_EQ(topics->data_version().counter, 0);
  int64_t last = topics->data_version().counter;
  auto expect_bump = [&](bool bumped) {
    int64_t now = topics->data_version().counter;
    if (bumped) {
      EXPECT_GT(now, last);
    } else {
      EXPECT_EQ(now, last);
    }
    last = now;
  };
  ASSERT_TRUE(topics->create_or_update(topic("a")).is_ok());
  expect_bump(true);
  ASSERT_TRUE(topics->create_or_update(topic("a")).is_ok());  // identical: no change
  expect_bump(false);
  ASSERT_TRUE(topics->create_or_update(topic("a", 5)).is_ok());
  expect_bump(true);
  ASSERT_TRUE(topics->create_or_update(topic("a", 5, kPermWrite)).is_ok());
  expect_bump(true);
  ASSERT_TRUE(topics->create_or_update(topic("a", 5, kPermWrite, true)).is_ok());
  expect_bump(true);
  ASSERT_TRUE(topics->auto_create("b", 4).is_ok());
  expect_bump(true);
  ASSERT_TRUE(topics->auto_create("b", 4).is_ok());
  expect_bump(false);
  ASSERT_FALSE(topics->create_or_update(topic("bad name")).is_ok());
  expect_bump(false);
  ASSERT_TRUE(topics->remove("a").is_ok());
  expect_bump(true);
  ASSERT_FALSE(topics->remove("a").is_ok());
  expect_bump(false);
}

TEST(TopicConfigManager, EncodingIsVersionedAndForwardCompatible) {
  TopicConfig c{"t", 7, 9, kPermWrite, true};
  std::string bytes = encode_topic_config(c);
  EXPECT_EQ(bytes.size(), 14u);
  EXPECT_EQ(bytes[0], 1);
  auto back = decode_topic_config("t", bytes);
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(*back, c);

  auto later = decode_topic_config("t", bytes + "future-fields");
  ASSERT_TRUE(later.is_ok());
  EXPECT_EQ(*later, c);

  EXPECT_EQ(decode_topic_config("t", "").status().code(), Code::kCorruption);
  EXPECT_EQ(decode_topic_config("t", bytes.substr(0, 13)).status().code(), Code::kCorruption);
  std::string v0 = bytes;
  v0[0] = 0;
  EXPECT_EQ(decode_topic_config("t", v0).status().code(), Code::kCorruption);
}

TEST(TopicConfigManager, CorruptStoredConfigFailsLoad) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(Family::kTopics, "broken", "\x01\x02").is_ok());
  auto topics = TopicConfigManager::load(*store);
  ASSERT_FALSE(topics.is_ok());
  EXPECT_EQ(topics.status().code(), Code::kCorruption);
  EXPECT_NE(topics.status().message().find("broken"), std::string::npos);
}

TEST(TopicConfigManager, ConvertsToAndFromTheWireTable) {
  TopicConfig c{"orders", 8, 4, kPermRead, true};
  protocol::TopicConfigT t = c.to_protocol();
  EXPECT_EQ(t.topic_name, "orders");
  EXPECT_EQ(t.read_queue_nums, 8);
  EXPECT_EQ(t.write_queue_nums, 4);
  EXPECT_EQ(t.perm, 4);
  EXPECT_TRUE(t.order);
  EXPECT_EQ(TopicConfig::from_protocol(t), c);
  t.read_queue_nums = -1;
  EXPECT_FALSE(validate_topic_config(TopicConfig::from_protocol(t)).is_ok());
}

// ---- ConsumerOffsetManager -----------------------------------------------------------------

TEST(SubscriptionGroupManager, AGroupWithoutAConfigHasRocketMqsDefaults) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
  EXPECT_FALSE(groups->find("G").has_value());
  const SubscriptionGroupConfig d = groups->find_or_default("G");
  EXPECT_EQ(d.group_name, "G");
  EXPECT_EQ(d.retry_max_times, 16);
  EXPECT_EQ(d.retry_queue_nums, 1);
  EXPECT_TRUE(d.consume_enable);
  EXPECT_TRUE(d.consume_broadcast_enable);
  EXPECT_TRUE(groups->all().empty());
}

TEST(SubscriptionGroupManager, PersistsAcrossReopenAndNotifiesChangesOnly) {
  testing::TempDir dir;
  std::vector<SubscriptionGroupConfig> expected;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
    int changes = 0;
    groups->set_change_listener([&](const SubscriptionGroupConfig&) { ++changes; });
    SubscriptionGroupConfig g{"G1", 3, true, false, 2};
    ASSERT_TRUE(groups->create_or_update(g).is_ok());
    ASSERT_TRUE(groups->create_or_update(g).is_ok());  // identical: no change
    ASSERT_TRUE(groups->create_or_update({"G0", 0, false, true, 0}).is_ok());
    g.retry_max_times = 5;
    ASSERT_TRUE(groups->create_or_update(g).is_ok());
    EXPECT_EQ(changes, 3);
    expected = groups->all();
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
  EXPECT_EQ(groups->all(), expected);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(expected[0].group_name, "G0");  // sorted by name
  EXPECT_EQ(groups->find_or_default("G1").retry_max_times, 5);
  EXPECT_FALSE(groups->find_or_default("G1").consume_broadcast_enable);
  EXPECT_EQ(groups->find_or_default("G0").retry_queue_nums, 0);
}

TEST(SubscriptionGroupManager, RejectsBadConfigsWithTypedErrors) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
  for (const SubscriptionGroupConfig& bad :
       {SubscriptionGroupConfig{"", 16, true, true, 1},
        SubscriptionGroupConfig{"has space", 16, true, true, 1},
        SubscriptionGroupConfig{"G", -1, true, true, 1},
        SubscriptionGroupConfig{"G", 16, true, true, -1},
        SubscriptionGroupConfig{"G", 16, true, true, 1025}}) {
    auto r = groups->create_or_update(bad);
    ASSERT_FALSE(r.is_ok()) << bad.group_name << " " << bad.retry_max_times;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  }
  EXPECT_TRUE(groups->all().empty());
}

TEST(SubscriptionGroupManager, EncodingIsVersionedAndCorruptionFailsLoad) {
  const SubscriptionGroupConfig c{"G", 7, false, true, 3};
  const std::string bytes = encode_subscription_group(c);
  EXPECT_EQ(bytes.size(), 10u);
  EXPECT_EQ(decode_subscription_group("G", bytes).value(), c);
  EXPECT_EQ(decode_subscription_group("G", bytes + "later").value(), c);
  EXPECT_EQ(decode_subscription_group("G", bytes.substr(0, 9)).status().code(), Code::kCorruption);
  EXPECT_EQ(decode_subscription_group("G", "").status().code(), Code::kCorruption);

  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(Family::kSubscriptionGroups, "broken", "\x01\x02").is_ok());
  auto groups = SubscriptionGroupManager::load(*store);
  ASSERT_FALSE(groups.is_ok());
  EXPECT_EQ(groups.status().code(), Code::kCorruption);
  EXPECT_NE(groups.status().message().find("broken"), std::string::npos);
}

TEST(ConsumerOffsetManager, CommitsAndQueries) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_FALSE(offsets->query("g", "t", 0).has_value());
  ASSERT_TRUE(offsets->commit("g", "t", 0, 42).is_ok());
  ASSERT_TRUE(offsets->commit("g", "t", 3, 7).is_ok());
  ASSERT_TRUE(offsets->commit("g", "t", 0, 0x1'0000'0000ull).is_ok());
  EXPECT_EQ(offsets->query("g", "t", 0), 0x1'0000'0000ull);
  EXPECT_EQ(offsets->query("g", "t", 3), 7u);
  EXPECT_FALSE(offsets->query("g", "t", 1).has_value());
  EXPECT_FALSE(offsets->query("other", "t", 0).has_value());
  EXPECT_FALSE(offsets->query("g", "other", 0).has_value());
  EXPECT_EQ(offsets->offsets("g", "t"),
            (std::map<uint32_t, uint64_t>{{0, 0x1'0000'0000ull}, {3, 7}}));
  EXPECT_TRUE(offsets->offsets("g", "none").empty());
}

TEST(ConsumerOffsetManager, NeverMovesBackwardsUnlessForcedOrReset) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  ASSERT_TRUE(offsets->commit("g", "t", 1, 100).is_ok());
  ASSERT_TRUE(offsets->commit("g", "t", 1, 90).is_ok());  // stale: ignored
  EXPECT_EQ(offsets->query("g", "t", 1), 100u);
  ASSERT_TRUE(offsets->commit("g", "t", 1, 100).is_ok());
  ASSERT_TRUE(offsets->commit("g", "t", 1, 101).is_ok());
  EXPECT_EQ(offsets->query("g", "t", 1), 101u);
  ASSERT_TRUE(offsets->commit("g", "t", 1, 50, /*force=*/true).is_ok());
  EXPECT_EQ(offsets->query("g", "t", 1), 50u);
  ASSERT_TRUE(offsets->reset("g", "t", 1, 0).is_ok());
  EXPECT_EQ(offsets->query("g", "t", 1), 0u);
  ASSERT_TRUE(offsets->reset("g", "t", 2, 9).is_ok());  // reset of a queue never committed
  EXPECT_EQ(offsets->query("g", "t", 2), 9u);
  ASSERT_TRUE(offsets->commit("g", "t", 1, 5).is_ok());
  EXPECT_EQ(offsets->query("g", "t", 1), 5u);

  // The stored value follows memory: a reopen sees the reset, not the high-water mark.
  offsets.reset();
  auto reloaded = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_EQ(reloaded->query("g", "t", 1), 5u);
  EXPECT_EQ(reloaded->query("g", "t", 2), 9u);
}

TEST(SubscriptionGroupManager, RemoveDeletesDurablyAndNotifiesOnlyWhatExisted) {
  testing::TempDir dir;
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
    std::vector<std::string> removed;
    groups->set_remove_listener([&](const std::string& g) { removed.push_back(g); });
    ASSERT_TRUE(groups->create_or_update({"G1", 3, true, true, 1}).is_ok());
    ASSERT_TRUE(groups->create_or_update({"G2", 4, false, true, 1}).is_ok());
    auto r = groups->remove("G1");
    ASSERT_TRUE(r.is_ok());
    EXPECT_TRUE(*r);
    auto again = groups->remove("G1");  // gone already: not an error, nothing notified
    ASSERT_TRUE(again.is_ok());
    EXPECT_FALSE(*again);
    EXPECT_FALSE(*groups->remove("never"));
    EXPECT_EQ(removed, std::vector<std::string>{"G1"});
    EXPECT_FALSE(groups->find("G1"));
    EXPECT_EQ(groups->find_or_default("G1").retry_max_times, kDefaultRetryMaxTimes);
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto groups = std::move(SubscriptionGroupManager::load(*store)).value();
  EXPECT_FALSE(groups->find("G1"));
  ASSERT_TRUE(groups->find("G2"));
  EXPECT_FALSE(groups->find("G2")->consume_enable);
}

TEST(SubscriptionGroupManager, SystemGroupsAreTheBrokersOwnAndTheToolsGroup) {
  EXPECT_TRUE(is_system_group("%SCHEDULE%"));
  EXPECT_TRUE(is_system_group("%TIMER%"));
  EXPECT_TRUE(is_system_group("CID_SYS_RMQ_TRANS"));
  EXPECT_TRUE(is_system_group("comet-admin"));
  EXPECT_FALSE(is_system_group("order-consumers"));
  EXPECT_FALSE(is_system_group(""));
}

TEST(ConsumerOffsetManager, RemoveGroupForgetsItsOffsetsOnEveryTopicOnly) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  std::vector<std::string> removed;
  offsets->set_group_remove_listener([&](const std::string& g) { removed.push_back(g); });
  ASSERT_TRUE(offsets->commit("g1", "TopicA", 0, 3).is_ok());
  ASSERT_TRUE(offsets->commit("g1", "TopicA", 1, 4).is_ok());
  ASSERT_TRUE(offsets->commit("g1", "%RETRY%g1", 0, 1).is_ok());
  ASSERT_TRUE(offsets->commit("g10", "TopicA", 0, 7).is_ok());  // a name g1 is a prefix of
  ASSERT_TRUE(offsets->commit("g2", "TopicB", 0, 5).is_ok());   // TopicB holds no g1
  EXPECT_TRUE(offsets->has_group("g1"));

  auto r = offsets->remove_group("g1");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(*r, 3u);
  EXPECT_FALSE(offsets->has_group("g1"));
  EXPECT_FALSE(offsets->query("g1", "TopicA", 0));
  EXPECT_TRUE(offsets->offsets("g1", "%RETRY%g1").empty());
  EXPECT_EQ(offsets->query("g10", "TopicA", 0), 7u);
  EXPECT_EQ(offsets->query("g2", "TopicB", 0), 5u);
  EXPECT_EQ(removed, std::vector<std::string>{"g1"});
  EXPECT_EQ(*offsets->remove_group("g1"), 0u);  // unknown now: nothing, no notice
  EXPECT_EQ(*offsets->remove_group("no such group with spaces"), 0u);
  EXPECT_EQ(removed.size(), 1u);
  // A commit after the deletion starts the group afresh, from any offset.
  ASSERT_TRUE(offsets->commit("g1", "TopicA", 0, 1).is_ok());
  EXPECT_EQ(offsets->query("g1", "TopicA", 0), 1u);

  offsets.reset();
  auto reloaded = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_EQ(reloaded->query("g1", "TopicA", 0), 1u);
  EXPECT_FALSE(reloaded->query("g1", "TopicA", 1));
  EXPECT_TRUE(reloaded->offsets("g1", "%RETRY%g1").empty());
  EXPECT_EQ(reloaded->query("g10", "TopicA", 0), 7u);
}

TEST(ConsumerOffsetManager, GroupsOfTopicAndRemoveTopic) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  ASSERT_TRUE(offsets->commit("g2", "TopicA", 0, 1).is_ok());
  ASSERT_TRUE(offsets->commit("g1", "TopicA", 1, 2).is_ok());
  ASSERT_TRUE(offsets->commit("g1", "TopicA", 0, 3).is_ok());
  ASSERT_TRUE(offsets->commit("g3", "TopicAB", 0, 4).is_ok());  // shares TopicA's prefix
  ASSERT_TRUE(offsets->commit("g1", "TopicB", 0, 5).is_ok());
  EXPECT_EQ(offsets->groups_of_topic("TopicA"), (std::vector<std::string>{"g1", "g2"}));
  EXPECT_EQ(offsets->groups_of_topic("TopicAB"), std::vector<std::string>{"g3"});
  EXPECT_TRUE(offsets->groups_of_topic("none").empty());

  ASSERT_TRUE(offsets->remove_topic("TopicA").is_ok());
  EXPECT_TRUE(offsets->groups_of_topic("TopicA").empty());
  EXPECT_FALSE(offsets->query("g1", "TopicA", 0).has_value());
  EXPECT_EQ(offsets->query("g3", "TopicAB", 0), 4u);
  EXPECT_EQ(offsets->query("g1", "TopicB", 0), 5u);
  EXPECT_TRUE(offsets->remove_topic("TopicA").is_ok());
  EXPECT_EQ(offsets->remove_topic("a@b").code(), Code::kInvalidArgument);

  offsets.reset();
  auto reloaded = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_TRUE(reloaded->groups_of_topic("TopicA").empty());
  EXPECT_EQ(reloaded->query("g3", "TopicAB", 0), 4u);
  EXPECT_EQ(reloaded->query("g1", "TopicB", 0), 5u);
}

TEST(ConsumerOffsetManager, RejectsIllegalGroupAndTopicNames) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  auto s = offsets->commit("bad@group", "t", 0, 1);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("consumer group"), std::string::npos);
  EXPECT_EQ(offsets->commit("", "t", 0, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(offsets->commit("g", "bad topic", 0, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(offsets->reset("g", "", 0, 1).code(), Code::kInvalidArgument);
  EXPECT_TRUE(offsets->groups_of_topic("t").empty());
}

TEST(ConsumerOffsetManager, KeyLayoutIsDocumented) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_EQ(ConsumerOffsetManager::key("group", "topic", 17), "topic@group@17");
  ASSERT_TRUE(offsets->commit("group", "topic", 17, 0x0102030405060708ull).is_ok());
  auto raw = store->get(Family::kConsumerOffsets, "topic@group@17");
  ASSERT_TRUE(raw.is_ok());
  EXPECT_EQ(*raw, std::string("\x08\x07\x06\x05\x04\x03\x02\x01", 8));
}

TEST(ConsumerOffsetManager, ManyGroupsAndTopicsPersistAcrossReopen) {
  testing::TempDir dir;
  auto expected_offset = [](int g, int t, uint32_t q) {
    return static_cast<uint64_t>(g) * 1'000'000 + t * 1000 + q;
  };
  {
    auto store = open_store(dir.path());
    ASSERT_TRUE(store);
    auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
    for (int g = 0; g < 20; ++g)
      for (int t = 0; t < 10; ++t)
        for (uint32_t q = 0; q < 8; ++q)
          ASSERT_TRUE(offsets
                          ->commit("group-" + std::to_string(g), "topic-" + std::to_string(t), q,
                                   expected_offset(g, t, q))
                          .is_ok());
    ASSERT_TRUE(offsets->persist().is_ok());
    ASSERT_TRUE(offsets->commit("late", "topic-0", 0, 77).is_ok());  // written, not synced
  }
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  for (int g = 0; g < 20; ++g) {
    for (int t = 0; t < 10; ++t) {
      auto got = offsets->offsets("group-" + std::to_string(g), "topic-" + std::to_string(t));
      ASSERT_EQ(got.size(), 8u);
      for (uint32_t q = 0; q < 8; ++q)
        EXPECT_EQ(got[q], expected_offset(g, t, q));
    }
  }
  EXPECT_EQ(offsets->query("late", "topic-0", 0), 77u);
  EXPECT_EQ(offsets->groups_of_topic("topic-3").size(), 20u);
}

TEST(ConsumerOffsetManager, ConcurrentCommitsKeepTheHighestInMemoryAndOnDisk) {
  testing::TempDir dir;
  auto store = open_store(dir.path());
  ASSERT_TRUE(store);
  auto offsets = std::move(ConsumerOffsetManager::load(*store)).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t i = 0; i < 500; ++i) {
        ASSERT_TRUE(offsets->commit("g", "t", static_cast<uint32_t>(i % 4), i * 4 + t).is_ok());
        (void)offsets->query("g", "t", 0);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  auto in_memory = offsets->offsets("g", "t");
  ASSERT_EQ(in_memory.size(), 4u);
  for (uint32_t q = 0; q < 4; ++q)
    EXPECT_EQ(in_memory[q], (496u + q) * 4 + 3);
  offsets.reset();
  auto reloaded = std::move(ConsumerOffsetManager::load(*store)).value();
  EXPECT_EQ(reloaded->offsets("g", "t"), in_memory);
}

// The message id is RocketMQ's offset message id: store IPv4, port, physical offset, in hex.
TEST(MessageId, IsStoreHostPortAndPhysicalOffsetInHex) {
  EXPECT_EQ(make_msg_id(HostAddress{0x7F000001, 10911}, 0x1234),
            "7F00000100002A9F0000000000001234");
  EXPECT_EQ(make_msg_id(HostAddress{0xFFFFFFFF, 65535}, UINT64_MAX),
            "FFFFFFFF0000FFFFFFFFFFFFFFFFFFFF");
  EXPECT_EQ(make_msg_id(HostAddress{}, 0), std::string(32, '0'));
}

}  // namespace
}  // namespace comet::broker
