// comet-bench routes: what a name server costs with many topics registered. Starts a real
// comet-namesrv, registers B synthetic brokers of T topics each over the wire (REGISTER_BROKER,
// as brokers send it; no broker runs), then:
//   - route lookups for random topics from C connections for D seconds, native
//     (GET_ROUTEINFO_BY_TOPIC) and RocketMQ 4.x (code 105 on the same port): lookups/s,
//     p50/p99/max at the client, the name server's CPU per lookup;
//   - a quiet period with the brokers' heartbeats only: small BROKER_HEARTBEATs (what brokers
//     send between changes), then for comparison full registrations every interval (what they
//     sent before): the name server's CPU seconds and RssAnon.
#pragma once

namespace comet::bench {

int run_routes(int argc, char** argv);

}  // namespace comet::bench
