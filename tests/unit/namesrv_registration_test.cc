// The broker's side of registration without I/O: the topic table's DataVersion (its encoding
// and order) and NamesrvRegistration, which picks a full REGISTER_BROKER or a small
// BROKER_HEARTBEAT for each name server.
#include <gtest/gtest.h>

#include "broker/data_version.h"
#include "broker/namesrv_registration.h"

namespace comet::broker {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

TEST(DataVersion, NextCountsAndStampsTheChange) {
  const DataVersion v{kT0, 41};
  const DataVersion n = v.next(kT0 + 5);
  EXPECT_EQ(n.counter, 42);
  EXPECT_EQ(n.timestamp_ms, kT0 + 5);
  EXPECT_NE(n, v);
  // The same counter at another time is another table (a wiped store counting again).
  EXPECT_NE((DataVersion{kT0, 1}), (DataVersion{kT0 + 1, 1}));
  EXPECT_EQ(n.to_string(), "42@1700000000005");
  const auto p = n.to_protocol();
  EXPECT_EQ(p.counter, 42);
  EXPECT_EQ(p.timestamp_ms, kT0 + 5);
}

TEST(DataVersion, EncodingRoundTripsAndReadsTheCounterOnlyForm) {
  const DataVersion v{kT0, 7};
  const std::string bytes = encode_data_version(v);
  EXPECT_EQ(bytes.size(), 16u);
  EXPECT_EQ(decode_data_version(bytes), v);
  // Earlier brokers stored the counter alone, 8 bytes little-endian.
  const std::string counter_only("\x09\x00\x00\x00\x00\x00\x00\x00", 8);
  EXPECT_EQ(decode_data_version(counter_only), (DataVersion{0, 9}));
  for (size_t size : {0u, 1u, 7u, 9u, 15u, 17u})
    EXPECT_FALSE(decode_data_version(std::string(size, '\0')).has_value()) << size;
}

TEST(NamesrvRegistration, RegistersFullyFirstThenHeartbeatsUntilTheTableChanges) {
  NamesrvRegistration r;
  const DataVersion v1{kT0, 1};
  EXPECT_EQ(r.next(v1), RegistrationKind::kFull);
  EXPECT_FALSE(r.accepted().has_value());
  r.on_full_answered(v1, /*fenced=*/false);
  EXPECT_EQ(r.accepted(), v1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.next(v1), RegistrationKind::kHeartbeat);
    r.on_heartbeat_answered(/*full_needed=*/false);
  }
  const DataVersion v2 = v1.next(kT0 + 10);
  EXPECT_EQ(r.next(v2), RegistrationKind::kFull);  // a topic changed
  r.on_full_answered(v2, false);
  EXPECT_EQ(r.next(v2), RegistrationKind::kHeartbeat);
}

TEST(NamesrvRegistration, AnAnswerForAnOlderTableLeavesTheNextRegistrationFull) {
  // Two full registrations in flight (v1, then v2 after a change); v1's answer comes last.
  NamesrvRegistration r;
  const DataVersion v1{kT0, 1};
  const DataVersion v2 = v1.next(kT0 + 1);
  r.on_full_answered(v2, false);
  r.on_full_answered(v1, false);
  EXPECT_EQ(r.next(v2), RegistrationKind::kFull);
}

TEST(NamesrvRegistration, ANameServerThatLostTheTableGetsItAgain) {
  NamesrvRegistration r;
  const DataVersion v{kT0, 3};
  r.on_full_answered(v, false);
  r.on_heartbeat_answered(/*full_needed=*/true);  // it restarted
  EXPECT_EQ(r.next(v), RegistrationKind::kFull);
}

TEST(NamesrvRegistration, FencingFailuresAndRoleChangesForceAFullRegistration) {
  const DataVersion v{kT0, 3};
  NamesrvRegistration fenced;
  fenced.on_full_answered(v, /*fenced=*/true);
  EXPECT_EQ(fenced.next(v), RegistrationKind::kFull);

  NamesrvRegistration failed;
  failed.on_full_answered(v, false);
  failed.forget();  // no answer, an error or a new role
  EXPECT_EQ(failed.next(v), RegistrationKind::kFull);
  EXPECT_FALSE(failed.accepted().has_value());
}

}  // namespace
}  // namespace comet::broker
