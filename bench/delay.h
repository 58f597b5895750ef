// comet-bench delay: what delayed messages (delay levels) cost and how late they arrive.
//
//   comet-bench delay [--rounds R] [--round-messages N] [--rate R] [--seconds S] [--delay-s D]
//                     [--msg-size B] [--producers P] [--inflight K] [--mode single]
//                     [--broker key=value]... [--bin-dir DIR] [--keep] [--json]
//
// A fresh local cluster (bench/bench_cluster.h; one broker unless --mode says async, sync or
// dledger) with messageDelayLevel "<D>s 1h":
//
// 1. Send throughput: R (9) rounds each of plain sends and of sends at level 2 (1 h: held in the
//    schedule topic for the whole run, so only the send path is measured), alternated plain,
//    delayed, plain, ... after one uncounted round of each; the same producers, window and body
//    size. Reported: the median of each and their ratio (target: delayed >= 80 % of plain), and
//    the broker's CPU per acked message (what a send costs; load from other processes on the
//    machine moves it far less than the rate).
// 2. Due-time lateness: S seconds of sends at level 1 paced at R msgs/s, so R messages a second
//    fall due; a push consumer of a fresh group receives them. Lateness = arrival at the consumer
//    - (born time + D); the producer stamps the born time before sending, so this bounds the
//    lateness from the store time from above (by at most the send's latency). Also the broker's
//    part: the delivered message's store time - (born time + D). Every body names its producer
//    and sequence number (bench/verify.h): acked messages lost and extra copies are counted
//    (target: p99 <= 1 s, 0 lost, 0 duplicated).
//
// Prints a table (or --json); exit status 0 only when no acked message was lost or duplicated.
#pragma once

namespace comet::bench {

int run_delay(int argc, char** argv);

}  // namespace comet::bench
