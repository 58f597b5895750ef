// RaftNode, message by message: elections, PreVote, the vote made durable before it is sent,
// replication and commit, conflict truncation, and leadership transfer.
#include <map>
#include <memory>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "dledger/raft_node.h"

namespace comet::dledger {
namespace {

// A lossless group delivering every message at once, with links that can be cut.
class Group {
 public:
  explicit Group(int n) {
    for (NodeId i = 0; i < n; ++i)
      peers_.push_back(i);
    for (NodeId i = 0; i < n; ++i) {
      RaftConfig c;
      c.id = i;
      c.peers = peers_;
      c.seed = static_cast<uint64_t>(i) + 1;
      nodes_.push_back(std::make_unique<RaftNode>(c, HardState{}, std::vector<Entry>{}));
      applied_.emplace_back();
    }
  }

  RaftNode& operator[](NodeId i) { return *nodes_[static_cast<size_t>(i)]; }

  // Takes every Ready and delivers its messages until the group is quiet.
  void settle() {
    for (int rounds = 0; rounds < 10000; ++rounds) {
      bool any = false;
      for (NodeId i = 0; i < static_cast<NodeId>(nodes_.size()); ++i) {
        Ready r = (*this)[i].take_ready();
        if (r.empty()) continue;
        any = true;
        for (const Message& m : r.messages) {
          if (auto* v = std::get_if<VoteResponse>(&m.payload); v && v->granted && !v->pre_vote) {
            // The vote it grants is in this Ready's hard state (persisted before sending).
            EXPECT_TRUE(r.hard_state.has_value());
            if (r.hard_state) {
              EXPECT_EQ(r.hard_state->vote, m.to);
            }
          }
          if (!cut_.count(m.from) && !cut_.count(m.to)) pending_.push_back(m);
        }
        for (const Entry& e : r.committed)
          applied_[static_cast<size_t>(i)].push_back(e);
      }
      while (!pending_.empty()) {
        Message m = pending_.front();
        pending_.erase(pending_.begin());
        (*this)[m.to].step(m);
        any = true;
      }
      if (!any) return;
    }
    ADD_FAILURE() << "the group never settled";
  }

  void tick_all(int ticks) {
    for (int t = 0; t < ticks; ++t) {
      for (auto& n : nodes_)
        n->tick();
      settle();
    }
  }

  NodeId elect(NodeId who) {
    (*this)[who].campaign();
    settle();
    return (*this)[who].role() == Role::kLeader ? who : kNoNode;
  }

  void cut(NodeId i) { cut_.insert(i); }
  void heal() { cut_.clear(); }
  const std::vector<Entry>& applied(NodeId i) const { return applied_[static_cast<size_t>(i)]; }

 private:
  std::vector<NodeId> peers_;
  std::vector<std::unique_ptr<RaftNode>> nodes_;
  std::vector<std::vector<Entry>> applied_;
  std::vector<Message> pending_;
  std::set<NodeId> cut_;
};

TEST(RaftNode, ASingleNodeElectsItselfAndCommitsAlone) {
  RaftConfig c;
  c.id = 7;
  c.peers = {7};
  RaftNode n(c, HardState{}, {});
  for (int i = 0; i < 25 && n.role() != Role::kLeader; ++i)
    n.tick();
  ASSERT_EQ(n.role(), Role::kLeader);
  auto idx = n.propose("x");
  ASSERT_TRUE(idx.is_ok());
  Ready r = n.take_ready();
  ASSERT_TRUE(r.hard_state.has_value());
  EXPECT_EQ(r.hard_state->term, 1);
  EXPECT_EQ(r.hard_state->vote, 7);
  ASSERT_EQ(r.entries.size(), 2u);  // the leader's empty entry, then "x"
  ASSERT_EQ(r.committed.size(), 2u);
  EXPECT_EQ(r.committed[1].data, "x");
}

TEST(RaftNode, CommittedEntriesCanBeHandedOutWithoutTheirData) {
  RaftConfig c;
  c.id = 0;
  c.peers = {0};
  c.committed_data = false;
  RaftNode n(c, HardState{}, {});
  for (int i = 0; i < 25 && n.role() != Role::kLeader; ++i)
    n.tick();
  ASSERT_EQ(n.role(), Role::kLeader);
  ASSERT_TRUE(n.propose_batch({"a", "bc"}).is_ok());
  Ready r = n.take_ready();
  ASSERT_EQ(r.entries.size(), 3u);  // persisted with their data
  EXPECT_EQ(r.entries[2].data, "bc");
  ASSERT_EQ(r.committed.size(), 3u);  // handed out as index and term only
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r.committed[static_cast<size_t>(i)].index, i + 1);
    EXPECT_EQ(r.committed[static_cast<size_t>(i)].term, 1);
    EXPECT_TRUE(r.committed[static_cast<size_t>(i)].data.empty());
  }
  // Nothing is handed out twice.
  ASSERT_TRUE(n.propose("d").is_ok());
  r = n.take_ready();
  ASSERT_EQ(r.committed.size(), 1u);
  EXPECT_EQ(r.committed[0].index, 4);
}

TEST(RaftNode, ElectionReplicatesAndCommitsOnAMajority) {
  Group g(3);
  ASSERT_EQ(g.elect(0), 0);
  EXPECT_EQ(g[0].term(), 1);
  EXPECT_EQ(g[1].leader(), 0);
  auto idx = g[0].propose("hello");
  ASSERT_TRUE(idx.is_ok());
  g.settle();
  g.tick_all(2);  // heartbeats carry the commit index to followers
  for (NodeId i = 0; i < 3; ++i) {
    ASSERT_EQ(g.applied(i).size(), 2u) << "node " << i;
    EXPECT_EQ(g.applied(i)[1].data, "hello");
  }
  EXPECT_FALSE(g[1].propose("not the leader").is_ok());
}

TEST(RaftNode, AnIsolatedNodeDoesNotBumpTermsAndCannotDisruptTheLeader) {
  Group g(3);
  ASSERT_EQ(g.elect(0), 0);
  g.cut(2);
  for (int i = 0; i < 5; ++i)
    g[2].campaign();  // pre-votes nobody hears
  g.settle();
  EXPECT_EQ(g[2].term(), 1) << "pre-vote must not raise the term";
  g.heal();
  g[2].campaign();  // the others heard the leader lately: no pre-vote for it
  g.settle();
  EXPECT_EQ(g[0].role(), Role::kLeader);
  EXPECT_EQ(g[0].term(), 1);
}

TEST(RaftNode, AFollowerDropsAConflictingTailFromAnOldTerm) {
  Group g(3);
  ASSERT_EQ(g.elect(0), 0);
  g.settle();
  // Node 0 leads alone: its entries of term 1 reach nobody.
  g.cut(0);
  ASSERT_TRUE(g[0].propose("lost-1").is_ok());
  ASSERT_TRUE(g[0].propose("lost-2").is_ok());
  g.settle();
  // The others' lease on node 0 runs out; one of them is elected and commits an entry.
  g.tick_all(40);
  const NodeId leader = g[1].role() == Role::kLeader ? 1 : 2;
  ASSERT_EQ(g[leader].role(), Role::kLeader);
  EXPECT_NE(g[0].role(), Role::kLeader) << "check quorum steps the cut-off leader down";
  ASSERT_TRUE(g[leader].propose("kept").is_ok());
  g.settle();
  g.heal();
  // The new leader's heartbeats reach node 0; the batches it lost are sent again once the
  // leader sees it stalled, and the conflicting tail is replaced.
  g.tick_all(12);
  ASSERT_EQ(g[0].last_index(), g[leader].last_index());
  for (int64_t i = 1; i <= g[leader].last_index(); ++i)
    EXPECT_EQ(g[0].term_at(i), g[leader].term_at(i)) << "index " << i;
  EXPECT_EQ(g.applied(0).back().data, "kept");
  for (const Entry& e : g.applied(0))
    EXPECT_NE(e.data.rfind("lost", 0), 0u) << "an uncommitted entry of the old leader applied";
}

TEST(RaftNode, LeadershipTransferHandsOverAndStopsProposals) {
  Group g(3);
  ASSERT_EQ(g.elect(0), 0);
  ASSERT_TRUE(g[0].propose("before").is_ok());
  g.settle();
  ASSERT_TRUE(g[0].transfer_leadership(2).is_ok());
  g.settle();
  EXPECT_EQ(g[2].role(), Role::kLeader);
  EXPECT_EQ(g[2].term(), 2);
  EXPECT_EQ(g[0].leader(), 2);
  EXPECT_FALSE(g[0].propose("to the old leader").is_ok());
  EXPECT_FALSE(g[2].transfer_leadership(9).is_ok());
}

TEST(RaftNode, ARestartedNodeKeepsItsTermVoteAndLog) {
  RaftConfig c;
  c.id = 1;
  c.peers = {0, 1, 2};
  HardState hs{5, 0, 2};
  std::vector<Entry> log = {{1, 1, "a"}, {5, 2, "b"}, {5, 3, "c"}};
  RaftNode n(c, hs, log, /*applied=*/1);
  EXPECT_EQ(n.term(), 5);
  EXPECT_EQ(n.last_index(), 3);
  EXPECT_EQ(n.commit_index(), 2);
  Ready r = n.take_ready();
  ASSERT_EQ(r.committed.size(), 1u);  // only what was committed and not yet applied
  EXPECT_EQ(r.committed[0].data, "b");
  // It voted for 0 in term 5: a vote request from 2 in term 5 is refused.
  n.step({2, 1, VoteRequest{5, 3, 5, false, false}});
  r = n.take_ready();
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(std::get<VoteResponse>(r.messages[0].payload).granted);
}

// Entries a correct leader cannot send (from a term later than its own, or with a gap) come from
// a faulty peer: they are dropped, not appended, and do not stop the node (its always-on
// invariants are for its own mistakes).
TEST(RaftNode, AMalformedAppendFromAPeerIsDropped) {
  RaftConfig c;
  c.id = 1;
  c.peers = {0, 1, 2};
  RaftNode follower(c, HardState{}, std::vector<Entry>{});
  AppendRequest later_term;
  later_term.term = 1;
  later_term.entries = {Entry{.term = 2, .index = 1, .data = "x"}};
  AppendRequest gap;
  gap.term = 1;
  gap.entries = {Entry{.term = 1, .index = 1, .data = "a"},
                 Entry{.term = 1, .index = 3, .data = "b"}};
  for (const AppendRequest& bad : {later_term, gap}) {
    follower.step(Message{.from = 0, .to = 1, .payload = bad});
    Ready r = follower.take_ready();
    EXPECT_TRUE(r.entries.empty());
    EXPECT_TRUE(r.messages.empty());
    EXPECT_EQ(follower.last_index(), 0);
  }
  AppendRequest good = gap;
  good.entries.pop_back();
  follower.step(Message{.from = 0, .to = 1, .payload = good});
  EXPECT_EQ(follower.last_index(), 1);
}

}  // namespace
}  // namespace comet::dledger
