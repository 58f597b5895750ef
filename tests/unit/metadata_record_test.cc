// The metadata record codec: what a master writes, a replica reads back exactly; a damaged or
// invalid record is refused whole with kCorruption. And a broker whose stored replication state
// is damaged does not start.
#include "broker/metadata_record.h"

#include <gtest/gtest.h>

#include <tuple>

#include "broker/broker_controller.h"
#include "test_util.h"

namespace comet::broker {
namespace {

MetadataChanges sample() {
  MetadataChanges c;
  c.offsets.push_back({"group-a", "Orders", 3, 1234});
  c.offsets.push_back({"group-b", "Payments", 0, 0});
  TopicConfig t;
  t.name = "Orders";
  t.read_queue_nums = 8;
  t.write_queue_nums = 4;
  t.perm = kPermReadWrite;
  t.order = true;
  c.topics.push_back(t);
  SubscriptionGroupConfig g;
  g.group_name = "group-a";
  g.retry_max_times = 3;
  g.consume_broadcast_enable = false;
  g.retry_queue_nums = 2;
  c.groups.push_back(g);
  return c;
}

TEST(MetadataRecord, RoundTripsOffsetsTopicsAndGroups) {
  auto decoded = decode_metadata_record(encode_metadata_record(sample()));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  ASSERT_EQ(decoded->offsets.size(), 2u);
  EXPECT_EQ(decoded->offsets[0].group, "group-a");
  EXPECT_EQ(decoded->offsets[0].topic, "Orders");
  EXPECT_EQ(decoded->offsets[0].queue_id, 3u);
  EXPECT_EQ(decoded->offsets[0].offset, 1234u);
  EXPECT_EQ(decoded->offsets[1].group, "group-b");
  ASSERT_EQ(decoded->topics.size(), 1u);
  EXPECT_EQ(decoded->topics[0], sample().topics[0]);
  ASSERT_EQ(decoded->groups.size(), 1u);
  EXPECT_EQ(decoded->groups[0], sample().groups[0]);
}

TEST(MetadataRecord, RoundTripsGroupDeletions) {
  MetadataChanges c = sample();
  c.deleted_groups = {"gone-a", "gone-b"};
  c.deleted_group_configs = {"config-only"};
  auto decoded = decode_metadata_record(encode_metadata_record(c));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->deleted_groups, c.deleted_groups);
  EXPECT_EQ(decoded->deleted_group_configs, c.deleted_group_configs);
  EXPECT_EQ(decoded->offsets.size(), 2u);  // the rest of the record is kept alongside

  MetadataChanges only_deletion;
  only_deletion.deleted_group_configs = {"x"};
  EXPECT_FALSE(only_deletion.empty());  // a record is written for a deletion alone
}

TEST(MetadataRecord, AnIllegalDeletedGroupNameRefusesTheWholeRecord) {
  for (const char* name : {"", "has space", "slash/no"}) {
    MetadataChanges c = sample();
    c.deleted_groups = {name};
    EXPECT_EQ(decode_metadata_record(encode_metadata_record(c)).status().code(), Code::kCorruption)
        << name;
    MetadataChanges d = sample();
    d.deleted_group_configs = {name};
    EXPECT_EQ(decode_metadata_record(encode_metadata_record(d)).status().code(), Code::kCorruption)
        << name;
  }
}

TEST(MetadataRecord, EmptyRecordDecodesEmpty) {
  auto decoded = decode_metadata_record(encode_metadata_record({}));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(MetadataRecord, TruncatedOrGarbageBodiesAreCorrupt) {
  const std::string body = encode_metadata_record(sample());
  for (size_t n : {size_t{0}, size_t{3}, body.size() / 2, body.size() - 1}) {
    auto r = decode_metadata_record(std::string_view(body).substr(0, n));
    ASSERT_FALSE(r.is_ok()) << "a " << n << "-byte prefix decoded";
    EXPECT_EQ(r.status().code(), Code::kCorruption);
  }
  auto r = decode_metadata_record(std::string(64, '\xff'));
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

TEST(MetadataRecord, InvalidEntriesRefuseTheWholeRecord) {
  MetadataChanges bad_group = sample();
  bad_group.offsets[1].group = "no spaces allowed";
  EXPECT_EQ(decode_metadata_record(encode_metadata_record(bad_group)).status().code(),
            Code::kCorruption);
  MetadataChanges bad_topic = sample();
  bad_topic.topics[0].read_queue_nums = 0;
  EXPECT_EQ(decode_metadata_record(encode_metadata_record(bad_topic)).status().code(),
            Code::kCorruption);
  MetadataChanges bad_retries = sample();
  bad_retries.groups[0].retry_max_times = -1;
  EXPECT_EQ(decode_metadata_record(encode_metadata_record(bad_retries)).status().code(),
            Code::kCorruption);
  MetadataChanges bad_group_name = sample();
  bad_group_name.groups[0].group_name = "";
  EXPECT_EQ(decode_metadata_record(encode_metadata_record(bad_group_name)).status().code(),
            Code::kCorruption);
}

TEST(MetadataRecord, TheSystemTopicIsNoClientTopic) {
  TopicConfig t = sample().topics[0];
  t.name = std::string(kMetadataTopic);
  auto refused = validate_topic_config(t);
  EXPECT_EQ(refused.code(), Code::kInvalidArgument);
  EXPECT_NE(refused.message().find("reserved"), std::string::npos) << refused.message();
  // And a record naming it as a topic to create is refused whole.
  MetadataChanges c = sample();
  c.topics[0] = t;
  EXPECT_EQ(decode_metadata_record(encode_metadata_record(c)).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace comet::broker

namespace comet::broker {
namespace {

// A broker whose stored replication state was damaged refuses to start, with the key named,
// instead of throwing or guessing a role or position.
Status start_broker_over(const std::string& root) {
  auto props = Properties::parse(
      "listenPort=0\nhaListenPort=0\nbindAddress=127.0.0.1\n"
      "mappedFileSizeCommitLog=1048576\nmaxMessageSize=65536\nstorePathRootDir=" +
      root);
  if (!props.is_ok()) return props.status();
  auto config = BrokerConfig::from_properties(*props);
  if (!config.is_ok()) return config.status();
  auto broker = BrokerController::create(*config);
  if (!broker.is_ok()) return broker.status();
  Status s = (*broker)->start();
  (*broker)->shutdown();
  return s;
}

void store_ha_value(const std::string& root, std::string_view key, std::string_view value) {
  auto metadata = MetadataStore::open(root);
  ASSERT_TRUE(metadata.is_ok()) << metadata.status().to_string();
  ASSERT_TRUE((*metadata)->put(Family::kHa, key, value, /*sync=*/true).is_ok());
}

TEST(StoredReplicationState, ADamagedRoleOrAppliedPositionIsATypedError) {
  for (const auto& [key, value, named] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"role", "ASYNC_MASTER:x", "bad stored role"},
           {"role", "ASYNC_MASTER:", "bad stored role"},
           {"metadataApplied", "12ab", "metadataApplied"}}) {
    comet::testing::TempDir dir;
    ASSERT_NO_FATAL_FAILURE(store_ha_value(dir.path(), key, value));
    Status s = start_broker_over(dir.path());
    EXPECT_EQ(s.code(), Code::kCorruption) << key << "=" << value << ": " << s.to_string();
    EXPECT_NE(s.message().find(named), std::string::npos) << s.message();
  }
  comet::testing::TempDir fine;
  ASSERT_NO_FATAL_FAILURE(store_ha_value(fine.path(), "metadataApplied", "0"));
  EXPECT_TRUE(start_broker_over(fine.path()).is_ok());
}

}  // namespace
}  // namespace comet::broker
