// The DLedger pieces around the Raft core: the persisted log (hard state and entry index in
// RocksDB, entry bytes from the CommitLog), the wire codec of Raft messages, the dLegerPeers
// parser, and MessageStore's consensus mode (only committed records are indexed and read).
#include <gtest/gtest.h>

#include "commitlog/message_store.h"
#include "dledger/dledger_log.h"
#include "dledger/dledger_options.h"
#include "dledger/raft_codec.h"
#include "unit/test_util.h"

namespace comet::dledger {
namespace {

using testing::body_for;
using testing::make_message;
using testing::small_config;
using testing::TempDir;

TEST(DLedgerLogTest, HardStateAndIndexSurviveReopenAndTruncation) {
  TempDir dir;
  {
    auto log = DLedgerLog::open(dir.path());
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    EXPECT_EQ((*log)->last_index(), 0);
    EXPECT_EQ((*log)->hard_state(), HardState{});
    ASSERT_TRUE((*log)
                    ->write(HardState{3, 1, 2}, std::nullopt,
                            {{1, {2, 0, 100}}, {2, {3, 100, 0}}, {3, {3, 100, 50}}})
                    .is_ok());
    // Not consecutive: refused, nothing written.
    EXPECT_FALSE((*log)->write(std::nullopt, std::nullopt, {{5, {3, 150, 10}}}).is_ok());
  }
  auto log = DLedgerLog::open(dir.path());
  ASSERT_TRUE(log.is_ok());
  DLedgerLog& l = **log;
  EXPECT_EQ(l.hard_state(), (HardState{3, 1, 2}));
  EXPECT_EQ(l.last_index(), 3);
  EXPECT_EQ(l.last_term(), 3);
  EXPECT_EQ(l.end_of(0).value(), 0u);
  EXPECT_EQ(l.end_of(1).value(), 100u);
  EXPECT_EQ(l.end_of(2).value(), 100u);  // a no-op carries no bytes
  EXPECT_EQ(l.end_of(3).value(), 150u);
  EXPECT_EQ(l.term(1).value(), 2);
  EXPECT_FALSE(l.meta(4).is_ok());

  // A conflicting tail is cut and replaced in one write.
  ASSERT_TRUE(l.write(HardState{4, 2, 2}, 3, {{3, {4, 100, 70}}, {4, {4, 170, 30}}}).is_ok());
  l.trim_cache(4);  // reads now go to RocksDB
  EXPECT_EQ(l.last_index(), 4);
  EXPECT_EQ(l.term(3).value(), 4);
  EXPECT_EQ(l.end_of(4).value(), 200u);
  ASSERT_TRUE(l.write(std::nullopt, 2, {}).is_ok());
  EXPECT_EQ(l.last_index(), 1);
  EXPECT_FALSE(l.meta(2).is_ok());
}

TEST(DLedgerLogTest, EntriesReadBackTheirRecordsFromTheCommitLog) {
  TempDir dir;
  auto store = commitlog::MessageStore::open(small_config(dir.path() + "/store"));
  ASSERT_TRUE(store.is_ok());
  auto& cl = (*store)->commit_log();
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i)
    bodies.push_back(body_for("T", 0, static_cast<uint64_t>(i)));
  auto a = cl.append(make_message("T", 0, bodies[0]));
  auto b = cl.append_batch(std::vector<comet::Message>{make_message("T", 0, bodies[1]),
                                                       make_message("T", 0, bodies[2])});
  ASSERT_TRUE(a.is_ok() && b.is_ok());

  auto log = DLedgerLog::open(dir.path() + "/dledger");
  ASSERT_TRUE(log.is_ok());
  DLedgerLog& l = **log;
  l.attach(&cl);
  const uint64_t mid = a->end_offset(), end = b->back().end_offset();
  ASSERT_TRUE(l.write(HardState{1, 0, 0}, std::nullopt,
                      {{1, {1, 0, static_cast<uint32_t>(mid)}},
                       {2, {1, mid, 0}},
                       {3, {1, mid, static_cast<uint32_t>(end - mid)}}})
                  .is_ok());
  std::vector<Entry> out;
  ASSERT_TRUE(l.entries(1, 4, 1 << 20, &out).is_ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_TRUE(out[1].data.empty());
  uint64_t start = 0;
  std::span<const uint8_t> bytes;
  ASSERT_TRUE(decode_entry_data(out[2].data, &start, &bytes));
  EXPECT_EQ(start, mid);
  auto view = cl.read(mid, static_cast<uint32_t>(end - mid));
  ASSERT_TRUE(view.is_ok());
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()),
            std::string(view->data, view->data + view->size));
  // A byte budget stops early, but never before the first entry.
  out.clear();
  ASSERT_TRUE(l.entries(1, 4, 1, &out).is_ok());
  EXPECT_EQ(out.size(), 1u);
}

TEST(RaftCodecTest, EveryKindRoundTrips) {
  const std::vector<Message> messages = {
      {0, 1, VoteRequest{5, 10, 4, true, false}},
      {1, 0, VoteResponse{5, true, true}},
      {0, 2, AppendRequest{5, 10, 4, {{5, 11, "abc"}, {5, 12, ""}, {5, 13, "xyz!"}}, 9, false}},
      {2, 0, AppendResponse{5, false, 0, 10, 7, true}},
      {0, 1, TimeoutNow{6}},
  };
  for (const Message& m : messages) {
    auto cmd = encode_raft_message("g", m);
    auto wire = remoting::encode_frame(cmd);
    auto back_cmd = remoting::decode_frame(wire, 1 << 20);
    ASSERT_TRUE(back_cmd.is_ok());
    auto back = decode_raft_message("g", 3, *back_cmd);
    ASSERT_TRUE(back.is_ok()) << back.status().to_string();
    EXPECT_EQ(back->from, m.from);
    EXPECT_EQ(back->to, m.to);
    EXPECT_EQ(back->payload.index(), m.payload.index());
    if (const auto* a = std::get_if<AppendRequest>(&m.payload)) {
      const auto& b = std::get<AppendRequest>(back->payload);
      EXPECT_EQ(b.entries, a->entries);
      EXPECT_EQ(b.prev_index, a->prev_index);
      EXPECT_EQ(b.commit, a->commit);
    }
    if (const auto* a = std::get_if<AppendResponse>(&m.payload)) {
      const auto& b = std::get<AppendResponse>(back->payload);
      EXPECT_EQ(b.rejected, a->rejected);
      EXPECT_EQ(b.hint, a->hint);
      EXPECT_EQ(b.heartbeat, a->heartbeat);
    }
  }
}

TEST(RaftCodecTest, MalformedMessagesAreRejectedWithAReason) {
  Message m{0, 1, AppendRequest{5, 10, 4, {{5, 11, "abc"}}, 9, false}};
  auto other_group = decode_raft_message("h", 3, encode_raft_message("g", m));
  EXPECT_FALSE(other_group.is_ok());
  auto outsider = decode_raft_message("g", 1, encode_raft_message("g", m));
  EXPECT_FALSE(outsider.is_ok());

  // As received: the body owned, not views into the sender's entries.
  auto owned = [](remoting::RemotingCommand cmd) {
    cmd.body.owned = cmd.body.to_string();
    cmd.body.views.clear();
    return cmd;
  };
  auto short_body = owned(encode_raft_message("g", m));
  short_body.body.owned.pop_back();
  EXPECT_FALSE(decode_raft_message("g", 3, short_body).is_ok());
  auto long_body = owned(encode_raft_message("g", m));
  long_body.body.owned += "zz";
  EXPECT_FALSE(decode_raft_message("g", 3, long_body).is_ok());

  Message gap{0, 1, AppendRequest{5, 10, 4, {{5, 12, "abc"}}, 9, false}};
  EXPECT_FALSE(decode_raft_message("g", 3, encode_raft_message("g", gap)).is_ok());
  auto no_header = remoting::RemotingCommand::request(protocol::RequestCode::DLEDGER_RAFT);
  EXPECT_FALSE(decode_raft_message("g", 3, no_header).is_ok());
}

TEST(DLedgerOptionsTest, PeersParseAndBadSettingsAreNamed) {
  auto peers = DLedgerOptions::parse_peers("n0-127.0.0.1:40911; n1-127.0.0.1:40912;n2-host:1");
  ASSERT_TRUE(peers.is_ok()) << peers.status().to_string();
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[1].id, "n1");
  EXPECT_EQ((*peers)[1].address, "127.0.0.1:40912");
  for (const char* bad : {"", "n0", "n0-127.0.0.1", "-127.0.0.1:1", "n0-h:0", "n0-h:99999",
                          "n0-h:1;n0-h:2", "n0-h:x"}) {
    EXPECT_FALSE(DLedgerOptions::parse_peers(bad).is_ok()) << bad;
  }
  DLedgerOptions o;
  o.group = "g";
  o.peers = *peers;
  o.self_id = "n1";
  EXPECT_TRUE(o.validate().is_ok());
  EXPECT_EQ(o.self_index(), 1);
  o.self_id = "n7";
  EXPECT_NE(o.validate().message().find("dLegerSelfId"), std::string::npos);
  o.self_id = "n1";
  o.heartbeat_interval_ms = o.election_timeout_ms;
  EXPECT_FALSE(o.validate().is_ok());
}

TEST(ConsensusStoreTest, OnlyCommittedRecordsAreIndexedAndQueueOffsetsCountTheRest) {
  TempDir dir;
  const auto config = small_config(dir.path(), 1 << 20);
  const std::string b0 = body_for("T", 0, 0), b1 = body_for("T", 0, 1), b2 = body_for("T", 0, 2);
  uint64_t first_end = 0;
  {
    auto store = commitlog::MessageStore::open(config, SystemClock::instance(), {}, uint64_t{0});
    ASSERT_TRUE(store.is_ok());
    auto& s = **store;
    auto r0 = s.put_message(make_message("T", 0, b0));
    auto r1 = s.put_message(make_message("T", 0, b1));
    ASSERT_TRUE(r0.is_ok() && r1.is_ok());
    EXPECT_EQ(r1->queue_offset, 1u);
    first_end = r0->end_offset();
    // Nothing is committed: nothing is readable.
    EXPECT_EQ(s.get_messages("T", 0, 0, 10, 1 << 20).messages.size(), 0u);
    s.advance_committed(first_end);
    ASSERT_TRUE(s.dispatched().wait(first_end, std::chrono::seconds(10)).is_ok());
    auto g = s.get_messages("T", 0, 0, 10, 1 << 20);
    ASSERT_EQ(g.messages.size(), 1u);
    EXPECT_EQ(g.max_offset, 1u);
    ASSERT_TRUE(s.shutdown().is_ok());
  }
  // Reopened with the first record committed: the second stays unindexed, yet the next
  // message takes queue offset 2.
  auto store = commitlog::MessageStore::open(config, SystemClock::instance(), {}, first_end);
  ASSERT_TRUE(store.is_ok());
  auto& s = **store;
  EXPECT_EQ(s.max_queue_offset("T", 0), 1u);
  auto r2 = s.put_message(make_message("T", 0, b2));
  ASSERT_TRUE(r2.is_ok());
  EXPECT_EQ(r2->queue_offset, 2u);
  // A cut of the uncommitted tail keeps the queue offsets of what remains.
  ASSERT_TRUE(s.truncate(r2->physical_offset, std::chrono::seconds(10)).is_ok());
  auto r3 = s.put_message(make_message("T", 0, b2));
  ASSERT_TRUE(r3.is_ok());
  EXPECT_EQ(r3->queue_offset, 2u);
  s.advance_committed(r3->end_offset());
  ASSERT_TRUE(s.dispatched().wait(r3->end_offset(), std::chrono::seconds(10)).is_ok());
  EXPECT_EQ(s.get_messages("T", 0, 0, 10, 1 << 20).messages.size(), 3u);
}

}  // namespace
}  // namespace comet::dledger
