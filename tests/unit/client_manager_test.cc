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

}  // namespace
}  // namespace comet::broker
