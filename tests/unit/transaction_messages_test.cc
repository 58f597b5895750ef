// Transactional messages without I/O: the half send's rewrite and its refusals, the origin and
// check count a half record carries, the op record's format (RocketMQ's body) and its parser,
// and the committed and check-copy forms of a half record.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "broker/system_topics.h"
#include "broker/transaction_messages.h"

namespace comet::broker {
namespace {

// A message and the properties its view points into.
struct TestMessage {
  explicit TestMessage(std::string props) : properties(std::move(props)) {
    m.topic = "Orders";
    m.queue_id = 3;
    m.sys_flag = kSysFlagTransactionPrepared;
    m.born_timestamp_ms = 1'700'000'000'000;
    m.born_host = {0x7f000001, 40001};
    m.body = "payload";
    m.properties = properties;
  }
  TestMessage(const TestMessage&) = delete;
  std::string properties;
  Message m;
};

// `m` stored at the given offsets: the record bytes (kept in `bytes`) decoded as the store reads
// them, so the tests cover what really reaches the log.
RecordView stored(const Message& m, uint64_t queue_offset, uint64_t physical_offset,
                  std::vector<uint8_t>& bytes) {
  bytes.assign(record::encoded_size(m), 0);
  record::encode(m, queue_offset, physical_offset, 1'700'000'000'500, {0x7f000001, 10911},
                 bytes.data());
  const record::Decoded d = record::decode(bytes.data(), bytes.size());
  EXPECT_EQ(d.outcome, record::Outcome::kRecord) << d.reason;
  return d.record;
}

std::string transactional_properties() {
  return encode_properties(
      {{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"UNIQ_KEY", "ABC"}, {"TAGS", "t"}});
}

// --- The half send ---

TEST(TransactionMessages, AHalfMessageGoesToQueue0OfTheHalfTopicWithItsRealTopicAndQueue) {
  TestMessage t(transactional_properties());
  std::string storage;
  ASSERT_TRUE(to_half_topic(t.m, false, storage).is_ok());
  EXPECT_EQ(t.m.topic, kTransHalfTopic);
  EXPECT_EQ(t.m.queue_id, 0u);
  EXPECT_EQ(find_property(t.m.properties, "REAL_TOPIC"), "Orders");
  EXPECT_EQ(find_property(t.m.properties, "REAL_QID"), "3");
  EXPECT_EQ(find_property(t.m.properties, "UNIQ_KEY"), "ABC");
  EXPECT_EQ(find_property(t.m.properties, "PGROUP"), "pg");
  EXPECT_EQ(find_property(t.m.properties, "TAGS"), "t");
  EXPECT_TRUE(is_transactional(t.m.properties));
  EXPECT_EQ(t.m.sys_flag & kSysFlagTransactionMask, kSysFlagTransactionPrepared);
  EXPECT_EQ(t.m.body, "payload");
}

TEST(TransactionMessages, TheHalfSendSetsThePreparedSysFlagWhateverTheClientSent) {
  for (uint32_t client_flag : {0u, kSysFlagTransactionCommit, kSysFlagTransactionRollback}) {
    TestMessage t(transactional_properties());
    t.m.sys_flag = client_flag | 0x1;  // another bit (compressed) stays
    std::string storage;
    ASSERT_TRUE(to_half_topic(t.m, false, storage).is_ok());
    EXPECT_EQ(t.m.sys_flag, kSysFlagTransactionPrepared | 0x1) << client_flag;
  }
}

TEST(TransactionMessages, AClientCannotChooseTheOriginOrCheckCountOfItsHalfMessage) {
  TestMessage t(encode_properties({{"TRAN_MSG", "true"},
                                   {"PGROUP", "pg"},
                                   {"TRAN_PREPARED_QUEUE_OFFSET", "7"},
                                   {"TRANSACTION_CHECK_TIMES", "14"}}));
  std::string storage;
  ASSERT_TRUE(to_half_topic(t.m, false, storage).is_ok());
  EXPECT_EQ(find_property(t.m.properties, "TRAN_PREPARED_QUEUE_OFFSET"), "");
  EXPECT_EQ(find_property(t.m.properties, "TRANSACTION_CHECK_TIMES"), "");
  std::vector<uint8_t> bytes;
  const RecordView half = stored(t.m, 42, 9000, bytes);
  EXPECT_EQ(origin_of(half), 42u);
  EXPECT_EQ(check_times_of(half.properties), 0u);
}

TEST(TransactionMessages, TheHalfSendRefusesWhatATransactionCannotBe) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> props;
    bool batch;
    std::string_view remark_names;
  };
  const std::vector<Case> cases = {
      {{{"TRAN_MSG", "true"}}, false, "PGROUP"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", ""}}, false, "PGROUP"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}}, true, "batch"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"DELAY", "3"}}, false, "DELAY"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"DELAY", "x"}}, false, "DELAY"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"TIMER_DELAY_SEC", "3"}}, false, "TIMER"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"TIMER_DELAY_MS", "3"}}, false, "TIMER"},
      {{{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"TIMER_DELIVER_MS", "3"}}, false, "TIMER"},
  };
  for (const Case& c : cases) {
    TestMessage t(encode_properties(c.props));
    std::string storage;
    const Status s = to_half_topic(t.m, c.batch, storage);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.remark_names;
    EXPECT_NE(s.message().find(c.remark_names), std::string::npos) << s.message();
    EXPECT_EQ(t.m.topic, "Orders") << "a refused message is left as it was";
  }
}

TEST(TransactionMessages, DelayLevel0IsNoDelayAndIsAllowed) {
  TestMessage t(encode_properties({{"TRAN_MSG", "true"}, {"PGROUP", "pg"}, {"DELAY", "0"}}));
  std::string storage;
  EXPECT_TRUE(to_half_topic(t.m, false, storage).is_ok());
}

TEST(TransactionMessages, TranMsgIsTrueCaseInsensitivelyAndNothingElse) {
  EXPECT_TRUE(is_transactional(encode_properties({{"TRAN_MSG", "true"}})));
  EXPECT_TRUE(is_transactional(encode_properties({{"TRAN_MSG", "TRUE"}})));
  EXPECT_TRUE(is_transactional(encode_properties({{"TRAN_MSG", "True"}})));
  EXPECT_FALSE(is_transactional(encode_properties({{"TRAN_MSG", "false"}})));
  EXPECT_FALSE(is_transactional(encode_properties({{"TRAN_MSG", "1"}})));
  EXPECT_FALSE(is_transactional(encode_properties({{"TRAN_MSG", "truex"}})));
  EXPECT_FALSE(is_transactional(encode_properties({{"PGROUP", "pg"}})));
  EXPECT_FALSE(is_transactional(""));
}

TEST(TransactionMessages, ABrokerMadeTransactionIdIsHexOfHostStartAndSequence) {
  const std::string id = make_transaction_id({0x7f000001, 10911}, 0x18C0A1B2C3D, 5);
  EXPECT_EQ(id,
            "7F000001"
            "2A9F"
            "018C0A1B2C3D"
            "00000005");
  EXPECT_NE(make_transaction_id({0x7f000001, 10911}, 0x18C0A1B2C3D, 6), id);
  EXPECT_NE(make_transaction_id({0x7f000001, 10911}, 0x18C0A1B2C3E, 5), id)
      << "a restarted broker makes other ids";
}

// --- What a half record carries ---

TEST(TransactionMessages, TheOriginIsThePreparedQueueOffsetOrTheRecordsOwn) {
  RecordView r;
  r.queue_offset = 100;
  std::string props = encode_properties({{"PGROUP", "pg"}});
  r.properties = props;
  EXPECT_EQ(origin_of(r), 100u);
  props = encode_properties({{"TRAN_PREPARED_QUEUE_OFFSET", "17"}});
  r.properties = props;
  EXPECT_EQ(origin_of(r), 17u);
  props = encode_properties({{"TRAN_PREPARED_QUEUE_OFFSET", "17x"}});
  r.properties = props;
  EXPECT_EQ(origin_of(r), 100u) << "a value that is not a number is not an origin";
}

TEST(TransactionMessages, CheckTimesAreZeroUnlessANumberIsGiven) {
  EXPECT_EQ(check_times_of(""), 0u);
  EXPECT_EQ(check_times_of(encode_properties({{"TRANSACTION_CHECK_TIMES", "4"}})), 4u);
  EXPECT_EQ(check_times_of(encode_properties({{"TRANSACTION_CHECK_TIMES", "-4"}})), 0u);
  EXPECT_EQ(check_times_of(encode_properties({{"TRANSACTION_CHECK_TIMES", "four"}})), 0u);
}

TEST(TransactionMessages, CheckImmunityIsInSecondsAndOnlyWhenANonNegativeNumber) {
  const auto immunity = [](std::string v) {
    return check_immunity_ms_of(encode_properties({{"CHECK_IMMUNITY_TIME_IN_SECONDS", v}}));
  };
  EXPECT_EQ(immunity("60"), 60'000);
  EXPECT_EQ(immunity("0"), 0);
  EXPECT_EQ(immunity("-1"), std::nullopt);
  EXPECT_EQ(immunity("1.5"), std::nullopt);
  EXPECT_EQ(immunity("9223372036854775807"), std::nullopt) << "overflows in ms";
  EXPECT_EQ(check_immunity_ms_of(""), std::nullopt);
}

// --- Op records ---

TEST(TransactionMessages, AnOpRecordHasRocketMQsBodyAndTagInQueue0OfTheOpTopic) {
  std::string storage;
  const Message m = op_message({12345, TransactionEnd::kCommit, 987654321}, storage);
  EXPECT_EQ(m.topic, kTransOpTopic);
  EXPECT_EQ(m.queue_id, 0u);
  EXPECT_EQ(m.body, "12345");  // TransactionalMessageBridge.addRemoveTagInTransactionOp
  EXPECT_EQ(find_property(m.properties, "TAGS"), "d");
  EXPECT_EQ(find_property(m.properties, "TRAN_OUTCOME"), "commit");
  EXPECT_EQ(find_property(m.properties, "TRAN_HALF_PHYSICAL_OFFSET"), "987654321");
  EXPECT_EQ(m.sys_flag, 0u);
}

TEST(TransactionMessages, EveryOpRecordParsesBackFromTheLog) {
  for (TransactionEnd end :
       {TransactionEnd::kCommit, TransactionEnd::kRollback, TransactionEnd::kDiscard}) {
    for (uint64_t origin : {uint64_t{0}, uint64_t{1}, std::numeric_limits<uint64_t>::max()}) {
      const OpRecord op{origin, end, origin / 2 + 7};
      std::string storage;
      std::vector<uint8_t> bytes;
      const RecordView r = stored(op_message(op, storage), 3, 4096, bytes);
      const Result<OpRecord> back = parse_op(r);
      ASSERT_TRUE(back.is_ok()) << back.status().to_string();
      EXPECT_EQ(*back, op);
    }
  }
  EXPECT_EQ(transaction_end_name(TransactionEnd::kRollback), "rollback");
  EXPECT_EQ(transaction_end_name(TransactionEnd::kDiscard), "discard");
}

TEST(TransactionMessages, ABadOpRecordIsCorruptionNamingItsOffsetAndWhat) {
  struct Case {
    std::string topic;
    std::string body;
    std::vector<std::pair<std::string, std::string>> props;
    std::string_view names;
  };
  const std::vector<std::pair<std::string, std::string>> good = {
      {"TAGS", "d"}, {"TRAN_OUTCOME", "commit"}, {"TRAN_HALF_PHYSICAL_OFFSET", "5"}};
  const std::vector<Case> cases = {
      {"Orders", "1", good, "topic"},
      {std::string(kTransOpTopic), "", good, "body"},
      {std::string(kTransOpTopic), "12a", good, "body"},
      {std::string(kTransOpTopic), "-1", good, "body"},
      {std::string(kTransOpTopic), "1,2", good, "body"},  // RocketMQ 5's merged ops: not comet's
      {std::string(kTransOpTopic), " 1", good, "body"},
      {std::string(kTransOpTopic), "18446744073709551616", good, "body"},  // 2^64
      {std::string(kTransOpTopic),
       "1",
       {{"TAGS", "x"}, {"TRAN_OUTCOME", "commit"}, {"TRAN_HALF_PHYSICAL_OFFSET", "5"}},
       "tag"},
      {std::string(kTransOpTopic),
       "1",
       {{"TRAN_OUTCOME", "commit"}, {"TRAN_HALF_PHYSICAL_OFFSET", "5"}},
       "tag"},
      {std::string(kTransOpTopic),
       "1",
       {{"TAGS", "d"}, {"TRAN_OUTCOME", "COMMIT"}, {"TRAN_HALF_PHYSICAL_OFFSET", "5"}},
       "TRAN_OUTCOME"},
      {std::string(kTransOpTopic),
       "1",
       {{"TAGS", "d"}, {"TRAN_HALF_PHYSICAL_OFFSET", "5"}},
       "TRAN_OUTCOME"},
      {std::string(kTransOpTopic),
       "1",
       {{"TAGS", "d"}, {"TRAN_OUTCOME", "rollback"}},
       "TRAN_HALF_PHYSICAL_OFFSET"},
      {std::string(kTransOpTopic),
       "1",
       {{"TAGS", "d"}, {"TRAN_OUTCOME", "rollback"}, {"TRAN_HALF_PHYSICAL_OFFSET", "x"}},
       "TRAN_HALF_PHYSICAL_OFFSET"},
  };
  for (const Case& c : cases) {
    RecordView r;
    r.physical_offset = 777;
    r.topic = c.topic;
    r.body = c.body;
    const std::string props = encode_properties(c.props);
    r.properties = props;
    const Result<OpRecord> op = parse_op(r);
    ASSERT_FALSE(op.is_ok()) << c.names << " body '" << c.body << "'";
    EXPECT_EQ(op.status().code(), Code::kCorruption);
    EXPECT_NE(op.status().message().find(c.names), std::string::npos) << op.status().message();
    EXPECT_NE(op.status().message().find("777"), std::string::npos) << op.status().message();
  }
}

// --- Commits and checks ---

// The half record a TRAN_MSG send to Orders queue 3 is stored as, at half queue offset 42.
struct StoredHalf {
  StoredHalf() : t(transactional_properties()) {
    t.m.flags = 9;
    t.m.reconsume_times = 0;
    EXPECT_TRUE(to_half_topic(t.m, false, storage).is_ok());
    record = stored(t.m, 42, 9000, bytes);
  }
  TestMessage t;
  std::string storage;
  std::vector<uint8_t> bytes;
  RecordView record;
};

TEST(TransactionMessages, TheCommittedMessageIsTheHalfInItsRealTopicWithTheOrigin) {
  StoredHalf h;
  std::string storage;
  const Message m = committed_message_of(h.record, 42, false, storage);
  EXPECT_EQ(m.topic, "Orders");
  EXPECT_EQ(m.queue_id, 3u);
  EXPECT_EQ(m.body, "payload");
  EXPECT_EQ(m.flags, 9u);
  EXPECT_EQ(m.born_timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(m.born_host, (HostAddress{0x7f000001, 40001}));
  EXPECT_EQ(m.sys_flag & kSysFlagTransactionMask, kSysFlagTransactionCommit);
  EXPECT_EQ(find_property(m.properties, "REAL_TOPIC"), "");
  EXPECT_EQ(find_property(m.properties, "REAL_QID"), "");
  EXPECT_EQ(find_property(m.properties, "TRAN_MSG"), "");
  EXPECT_EQ(find_property(m.properties, "TRANSACTION_CHECK_TIMES"), "");
  EXPECT_EQ(find_property(m.properties, "TRAN_PREPARED_QUEUE_OFFSET"), "42");
  EXPECT_EQ(find_property(m.properties, "UNIQ_KEY"), "ABC");
  EXPECT_EQ(find_property(m.properties, "PGROUP"), "pg");
  EXPECT_EQ(find_property(m.properties, "TAGS"), "t");
  EXPECT_FALSE(is_transactional(m.properties));
  EXPECT_TRUE(record::validate(m, 4 * 1024 * 1024).is_ok());
}

TEST(TransactionMessages, ACheckMaxMessageGoesToItsTopicKeepingWhereItWasGoing) {
  StoredHalf h;
  std::string storage;
  const Message m = committed_message_of(h.record, 42, true, storage);
  EXPECT_EQ(m.topic, kTransCheckMaxTimeTopic);
  EXPECT_EQ(m.queue_id, 0u);
  EXPECT_EQ(m.body, "payload");
  EXPECT_EQ(m.sys_flag & kSysFlagTransactionMask, kSysFlagTransactionCommit);
  EXPECT_EQ(find_property(m.properties, "REAL_TOPIC"), "Orders");
  EXPECT_EQ(find_property(m.properties, "REAL_QID"), "3");
  EXPECT_EQ(find_property(m.properties, "TRAN_MSG"), "");
  EXPECT_EQ(find_property(m.properties, "TRAN_PREPARED_QUEUE_OFFSET"), "42");
}

TEST(TransactionMessages, ACheckCopyCountsTheCheckAndACopyOfACopyKeepsTheOrigin) {
  StoredHalf h;
  EXPECT_EQ(origin_of(h.record), 42u);
  std::string storage1;
  const Message copy1 = check_copy_of(h.record, origin_of(h.record), storage1);
  EXPECT_EQ(copy1.topic, kTransHalfTopic);
  EXPECT_EQ(copy1.queue_id, 0u);
  EXPECT_EQ(copy1.body, "payload");
  EXPECT_EQ(copy1.sys_flag, h.record.sys_flag);
  EXPECT_EQ(copy1.born_timestamp_ms, h.record.born_timestamp_ms);
  std::vector<uint8_t> bytes1;
  const RecordView r1 = stored(copy1, 50, 12000, bytes1);  // the copy's own offset is newer
  EXPECT_EQ(origin_of(r1), 42u);
  EXPECT_EQ(check_times_of(r1.properties), 1u);
  EXPECT_EQ(find_property(r1.properties, "REAL_TOPIC"), "Orders");
  EXPECT_EQ(find_property(r1.properties, "UNIQ_KEY"), "ABC");

  std::string storage2;
  std::vector<uint8_t> bytes2;
  const RecordView r2 = stored(check_copy_of(r1, origin_of(r1), storage2), 61, 15000, bytes2);
  EXPECT_EQ(origin_of(r2), 42u);
  EXPECT_EQ(check_times_of(r2.properties), 2u);

  // A commit of the second copy is the same message as a commit of the first half.
  std::string c0, c2;
  const Message from_half = committed_message_of(h.record, 42, false, c0);
  const Message from_copy = committed_message_of(r2, origin_of(r2), false, c2);
  EXPECT_EQ(from_copy.topic, from_half.topic);
  EXPECT_EQ(from_copy.queue_id, from_half.queue_id);
  EXPECT_EQ(from_copy.body, from_half.body);
  EXPECT_EQ(from_copy.properties, from_half.properties);
  EXPECT_EQ(from_copy.sys_flag, from_half.sys_flag);
}

TEST(TransactionMessages, CheckTimesStopAtTheirMaximumRatherThanWrapToZero) {
  RecordView r;
  const std::string props = encode_properties({{"TRANSACTION_CHECK_TIMES", "4294967295"}});
  r.properties = props;
  std::string storage;
  EXPECT_EQ(check_times_of(check_copy_of(r, 1, storage).properties), 4294967295u);
}

TEST(TransactionMessages, ADamagedHalfGivesACommittedMessageTheAppendRefuses) {
  RecordView r;
  const std::string props = encode_properties({{"REAL_QID", "x"}});
  r.properties = props;
  std::string storage;
  const Message m = committed_message_of(r, 1, false, storage);
  EXPECT_EQ(m.queue_id, 0u);
  EXPECT_FALSE(record::validate(m, 1024).is_ok());
}

}  // namespace
}  // namespace comet::broker
