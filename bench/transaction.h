// comet-bench transaction: what transactional messages cost, and whether a storm of checks
// disturbs the broker's other clients.
//
//   comet-bench transaction [--rounds R] [--seconds S] [--senders T] [--msg-size B]
//                           [--check-storm N] [--storm-seconds S] [--probe-rate P]
//                           [--mode single] [--broker key=value]...
//                           [--bin-dir DIR] [--keep] [--json]
//
// A fresh local cluster (bench/bench_cluster.h; one broker unless --mode says async, sync or
// dledger):
//
// 1. Throughput: R (5) rounds each of plain synchronous sends (Producer::send) and of
//    transactional sends (TransactionProducer::send_in_transaction: the half message, a local
//    transaction that commits, END_TRANSACTION answered), alternated plain, transactional, ...
//    after one uncounted round of each; each round S seconds of T sender threads, each with one
//    send in flight (the same window for both). Reported: the median msgs/s of each and their
//    ratio (target: transactional >= 50 % of plain).
// 2. Check storm (N > 0; the brokers get transactionTimeOut=1000 and transactionCheckInterval=
//    1000 unless --broker says otherwise): a probe sends one message and pulls it back, P times a
//    second, for S seconds while the broker is idle; then N transactions are left open (their
//    local transaction answers "unknown" and their producer shuts down, so every check finds no
//    producer), and once they are due the probe runs again for S seconds. Reported: the p50/p99 of
//    the probe's send and pull latencies, idle and during the storm, their ratios (target:
//    within 2x), and how often the broker checked the oldest open transaction by the end.
//
// Prints a table (or --json); exit status 0 when every round and probe ran.
#pragma once

namespace comet::bench {

int run_transaction(int argc, char** argv);

}  // namespace comet::bench
