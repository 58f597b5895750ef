// ClientManager's producer groups: members from heartbeats, dropped on expiry or unregister, and
// the connection a transaction check goes to: the members in turn, skipping any whose connection
// is closed or gone.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>

#include "broker/client_manager.h"

namespace comet::broker {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;
constexpr int64_t kExpiryMs = 120'000;

using ConnectionPtr = std::shared_ptr<remoting::Connection>;

class ClientManagerProducers : public ::testing::Test {
 protected:
  void TearDown() override { io_.poll(); }  // runs the closes the test asked for

  // A connection that was never connected: open until closed, which is all ClientManager reads.
  ConnectionPtr connection() {
    return std::make_shared<remoting::Connection>(asio::ip::tcp::socket(asio::make_strand(io_)),
                                                  remoting::ConnectionOptions{}, nullptr, nullptr);
  }

  static protocol::HeartbeatRequestT producer_heartbeat(const std::string& client_id,
                                                        std::vector<std::string> groups) {
    protocol::HeartbeatRequestT hb;
    hb.client_id = client_id;
    hb.producer_groups = std::move(groups);
    return hb;
  }

  // Which of `conns` producer_connection returns on `n` calls (-1: none; -2: another).
  std::vector<int> turns(const std::string& group, const std::vector<ConnectionPtr>& conns, int n) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) {
      const ConnectionPtr got = clients_.producer_connection(group);
      int which = got ? -2 : -1;
      for (size_t c = 0; c < conns.size(); ++c) {
        if (got && got == conns[c]) which = static_cast<int>(c);
      }
      out.push_back(which);
    }
    return out;
  }

  asio::io_context io_;
  ClientManager clients_{kExpiryMs};
};

TEST_F(ClientManagerProducers, ProducersOfAGroupComeFromHeartbeatsSorted) {
  EXPECT_FALSE(clients_.heartbeat(producer_heartbeat("p2", {"pg"}), kT0, connection()))
      << "no consumer group changed";
  clients_.heartbeat(producer_heartbeat("p1", {"pg", "other"}), kT0, connection());
  EXPECT_EQ(clients_.producers("pg"), (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(clients_.producers("other"), (std::vector<std::string>{"p1"}));
  EXPECT_TRUE(clients_.producers("none").empty());
  EXPECT_TRUE(clients_.consumer_groups().empty());
}

TEST_F(ClientManagerProducers, TheConnectionGoesToEachLiveProducerInTurn) {
  const std::vector<ConnectionPtr> conns = {connection(), connection(), connection()};
  for (size_t i = 0; i < conns.size(); ++i) {
    clients_.heartbeat(producer_heartbeat("p" + std::to_string(i), {"pg"}), kT0, conns[i]);
  }
  EXPECT_EQ(turns("pg", conns, 6), (std::vector<int>{0, 1, 2, 0, 1, 2}));
}

TEST_F(ClientManagerProducers, TheConnectionOfAProducerThatIsGoneIsSkipped) {
  std::vector<ConnectionPtr> conns = {connection(), connection(), connection()};
  for (size_t i = 0; i < conns.size(); ++i) {
    clients_.heartbeat(producer_heartbeat("p" + std::to_string(i), {"pg"}), kT0, conns[i]);
  }
  conns[1]->close();  // closed, still heartbeat-fresh: its check goes to another producer
  EXPECT_EQ(turns("pg", conns, 4), (std::vector<int>{0, 2, 0, 2}));
  conns[0].reset();  // released by the server: the weak reference is gone
  EXPECT_EQ(turns("pg", conns, 3), (std::vector<int>{2, 2, 2}));
  conns[2]->close();
  EXPECT_EQ(clients_.producer_connection("pg"), nullptr);
  EXPECT_EQ(clients_.producers("pg").size(), 3u) << "members stay until they expire";

  // A producer that reconnects heartbeats on its new connection and is chosen again.
  const ConnectionPtr again = connection();
  clients_.heartbeat(producer_heartbeat("p1", {"pg"}), kT0 + 1000, again);
  EXPECT_EQ(clients_.producer_connection("pg"), again);
}

TEST_F(ClientManagerProducers, AHeartbeatWithoutAConnectionKeepsTheOneKnown) {
  const ConnectionPtr conn = connection();
  clients_.heartbeat(producer_heartbeat("p0", {"pg"}), kT0, conn);
  clients_.heartbeat(producer_heartbeat("p0", {"pg"}), kT0 + 1000);
  EXPECT_EQ(clients_.producer_connection("pg"), conn);
}

TEST_F(ClientManagerProducers, NoProducerNoConnection) {
  EXPECT_EQ(clients_.producer_connection("pg"), nullptr);
  clients_.heartbeat(producer_heartbeat("p0", {"pg"}), kT0);  // never said where it is
  EXPECT_EQ(clients_.producer_connection("pg"), nullptr);
}

TEST_F(ClientManagerProducers, ExpiryAndUnregisterDropProducers) {
  const ConnectionPtr c0 = connection(), c1 = connection();
  clients_.heartbeat(producer_heartbeat("p0", {"pg"}), kT0, c0);
  clients_.heartbeat(producer_heartbeat("p1", {"pg"}), kT0 + 10'000, c1);
  clients_.scan_expired(kT0 + kExpiryMs);  // exactly the expiry: still a member
  EXPECT_EQ(clients_.producers("pg").size(), 2u);
  clients_.scan_expired(kT0 + kExpiryMs + 1);
  EXPECT_EQ(clients_.producers("pg"), std::vector<std::string>{"p1"});
  EXPECT_EQ(clients_.producer_connection("pg"), c1);
  EXPECT_EQ(clients_.producer_connection("pg"), c1) << "the turn wraps round one member";
  clients_.unregister("p1", "", "pg");
  EXPECT_TRUE(clients_.producers("pg").empty());
  EXPECT_EQ(clients_.producer_connection("pg"), nullptr);
}

// RocketMQ's ClientHousekeepingService: a member whose connection closes leaves its groups at
// once, and the remaining members are told; one that heartbeats on a newer connection stays.
TEST_F(ClientManagerProducers, AClosedConnectionTakesItsMembersOutOfTheirGroups) {
  const ConnectionPtr c0 = connection(), c1 = connection(), c1_new = connection();
  auto consumer_and_producer = [](const std::string& id) {
    protocol::HeartbeatRequestT hb = producer_heartbeat(id, {"pg"});
    auto cd = std::make_unique<protocol::ConsumerDataT>();
    cd->group_name = "cg";
    hb.consumers.push_back(std::move(cd));
    return hb;
  };
  clients_.heartbeat(consumer_and_producer("m0"), kT0, c0);
  clients_.heartbeat(consumer_and_producer("m1"), kT0, c1);
  clients_.heartbeat(consumer_and_producer("m1"), kT0 + 1, c1_new);  // m1 reconnected
  EXPECT_EQ(clients_.connection_closed(c1.get()), 0u) << "m1 heartbeats on c1_new now";
  EXPECT_EQ(clients_.consumers("cg"), (std::vector<std::string>{"m0", "m1"}));
  EXPECT_EQ(clients_.connection_closed(c0.get()), 1u);
  EXPECT_EQ(clients_.consumers("cg"), std::vector<std::string>{"m1"});
  EXPECT_EQ(clients_.producers("pg"), std::vector<std::string>{"m1"});
  EXPECT_EQ(clients_.connection_closed(c1_new.get()), 1u);
  EXPECT_TRUE(clients_.consumers("cg").empty());
  EXPECT_TRUE(clients_.producers("pg").empty());
  EXPECT_EQ(clients_.connection_closed(nullptr), 0u);
}

// The index by connection stays exact: a member that unregistered, expired or moved leaves its
// old connection's list, so that connection's close drops nobody; among 300 groups a close drops
// exactly the memberships heard on it.
TEST_F(ClientManagerProducers, AClosedConnectionDropsOnlyWhatWasHeardOnIt) {
  auto consumer_of = [](const std::string& id, std::vector<std::string> groups) {
    protocol::HeartbeatRequestT hb;
    hb.client_id = id;
    for (auto& g : groups) {
      auto cd = std::make_unique<protocol::ConsumerDataT>();
      cd->group_name = std::move(g);
      hb.consumers.push_back(std::move(cd));
    }
    return hb;
  };
  std::vector<ConnectionPtr> conns;
  for (int i = 0; i < 300; ++i) {
    conns.push_back(connection());
    clients_.heartbeat(consumer_of("c" + std::to_string(i), {"g" + std::to_string(i)}), kT0,
                       conns.back());
  }
  const ConnectionPtr multi = connection();
  clients_.heartbeat(consumer_of("m", {"g1", "g2", "g3"}), kT0, multi);
  EXPECT_EQ(clients_.connection_closed(multi.get()), 3u);
  EXPECT_EQ(clients_.consumers("g2"), std::vector<std::string>{"c2"});
  EXPECT_EQ(clients_.consumer_groups().size(), 300u);

  clients_.unregister("c7", "g7", "");
  EXPECT_EQ(clients_.connection_closed(conns[7].get()), 0u) << "c7 had unregistered";
  clients_.heartbeat(consumer_of("c8", {"g8"}), kT0 + 1, conns[9]);  // c8 moved to conn 9
  EXPECT_EQ(clients_.connection_closed(conns[8].get()), 0u);
  clients_.scan_expired(kT0 + kExpiryMs + 1);  // all but c8, heard at kT0 + 1
  EXPECT_EQ(clients_.consumer_groups(), std::vector<std::string>{"g8"});
  EXPECT_EQ(clients_.connection_closed(conns[5].get()), 0u) << "c5 had expired";
  EXPECT_EQ(clients_.connection_closed(conns[9].get()), 1u) << "c8, heard on conn 9";
  EXPECT_TRUE(clients_.consumer_groups().empty());
}

}  // namespace
}  // namespace comet::broker

namespace comet::broker {
namespace {

// What consumerConnection and producerConnection show: every member with the language and
// version of its last heartbeat and its connection's peer, and the group's own data.
class ClientManagerConnections : public ::testing::Test {
 protected:
  static protocol::HeartbeatRequestT consumer_heartbeat(const std::string& client_id,
                                                        const std::string& language,
                                                        int32_t version) {
    protocol::HeartbeatRequestT hb;
    hb.client_id = client_id;
    hb.language = language;
    hb.version = version;
    auto cd = std::make_unique<protocol::ConsumerDataT>();
    cd->group_name = "cg";
    cd->message_model = "BROADCASTING";
    cd->consume_type = "CONSUME_PASSIVELY";
    cd->consume_from_where = "CONSUME_FROM_FIRST_OFFSET";
    auto sub = std::make_unique<protocol::SubscriptionT>();
    sub->topic = "Orders";
    sub->expression = "TagA || TagB";
    cd->subscriptions.push_back(std::move(sub));
    hb.consumers.push_back(std::move(cd));
    hb.producer_groups = {"pg"};
    return hb;
  }

  ClientManager clients_{kExpiryMs};
};

TEST_F(ClientManagerConnections, ConsumerGroupShowsEachMemberAndTheGroupsData) {
  clients_.heartbeat(consumer_heartbeat("c2", "CPP", 1), kT0);
  clients_.heartbeat(consumer_heartbeat("c1", "JAVA", 453), kT0 + 5);
  auto conn = clients_.consumer_connection("cg");
  ASSERT_TRUE(conn);
  ASSERT_EQ(conn->connections.size(), 2u);
  EXPECT_EQ(conn->connections[0]->client_id, "c1");  // sorted by client id
  EXPECT_EQ(conn->connections[0]->language, "JAVA");
  EXPECT_EQ(conn->connections[0]->version, 453);
  EXPECT_EQ(conn->connections[0]->last_heartbeat_ms, kT0 + 5);
  EXPECT_EQ(conn->connections[1]->client_id, "c2");
  EXPECT_EQ(conn->connections[1]->language, "CPP");
  EXPECT_EQ(conn->connections[1]->version, 1);
  EXPECT_EQ(conn->consume_type, "CONSUME_PASSIVELY");
  EXPECT_EQ(conn->message_model, "BROADCASTING");
  EXPECT_EQ(conn->consume_from_where, "CONSUME_FROM_FIRST_OFFSET");
  ASSERT_EQ(conn->subscriptions.size(), 1u);
  EXPECT_EQ(conn->subscriptions[0]->topic, "Orders");
  EXPECT_EQ(conn->subscriptions[0]->expression, "TagA || TagB");
}

TEST_F(ClientManagerConnections, ALaterHeartbeatUpdatesLanguageAndVersion) {
  clients_.heartbeat(consumer_heartbeat("c1", "CPP", 1), kT0);
  clients_.heartbeat(consumer_heartbeat("c1", "CPP", 2), kT0 + 1000);
  auto conn = clients_.consumer_connection("cg");
  ASSERT_TRUE(conn);
  ASSERT_EQ(conn->connections.size(), 1u);
  EXPECT_EQ(conn->connections[0]->version, 2);
  EXPECT_EQ(conn->connections[0]->last_heartbeat_ms, kT0 + 1000);
}

TEST_F(ClientManagerConnections, TheAddressIsTheConnectionsPeer) {
  asio::io_context io;
  auto socket_conn =
      std::make_shared<remoting::Connection>(asio::ip::tcp::socket(asio::make_strand(io)),
                                             remoting::ConnectionOptions{}, nullptr, nullptr);
  clients_.heartbeat(consumer_heartbeat("c1", "CPP", 1), kT0, socket_conn);
  clients_.heartbeat(consumer_heartbeat("c1", "CPP", 1), kT0 + 1);  // no connection: kept
  auto conn = clients_.consumer_connection("cg");
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->connections[0]->client_addr, socket_conn->remote_address());
  auto producers = clients_.producer_connection_list("pg");
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].client_addr, socket_conn->remote_address());
}

TEST_F(ClientManagerConnections, ProducersListedWithTheirLanguageAndVersion) {
  clients_.heartbeat(consumer_heartbeat("p1", "CPP", 7), kT0);
  auto producers = clients_.producer_connection_list("pg");
  ASSERT_EQ(producers.size(), 1u);
  EXPECT_EQ(producers[0].client_id, "p1");
  EXPECT_EQ(producers[0].language, "CPP");
  EXPECT_EQ(producers[0].version, 7);
}

TEST_F(ClientManagerConnections, NoMemberOnlineIsNothing) {
  EXPECT_FALSE(clients_.consumer_connection("cg"));
  EXPECT_TRUE(clients_.producer_connection_list("pg").empty());
  clients_.heartbeat(consumer_heartbeat("c1", "CPP", 1), kT0);
  clients_.scan_expired(kT0 + kExpiryMs + 1);
  EXPECT_FALSE(clients_.consumer_connection("cg"));
  EXPECT_TRUE(clients_.producer_connection_list("pg").empty());
}

}  // namespace
}  // namespace comet::broker
