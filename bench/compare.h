// comet-bench compare: the same producer workload on each replication mode, side by side.
//
//   comet-bench compare [--modes single,async,sync,dledger] [--msg-size B] [--messages N]
//                       [--producers P] [--inflight K] [--rate R] [--warmup N] [--failover]
//                       [--namesrv host:port] [--broker key=value]... [--send-timeout-ms MS]
//                       [--protocol native|rocketmq] [--topics N] [--queues-per-topic Q]
//                       [--out DIR] [--bin-dir DIR] [--keep]
//
// For each mode a fresh local cluster (bench/bench_cluster.h) in a temporary directory, or, with
// --namesrv, the cluster that name server serves. Per mode: a warm-up (not reported), then N
// messages from P producers with K async sends in flight each (--rate: paced to R msgs/s in all,
// for latency at a given load); every send's latency goes into a histogram. Then every message is
// read back from every queue and checked (bench/verify.h).
// --topics N spreads the messages round robin over CompareTopic-0 .. -(N-1), each of Q queues
// (--queues-per-topic, default 8), created before the run with many requests in flight; every
// producer loads every route before the clock starts.
// --failover runs the failover drill when half the sends are answered, and reports the longest
// time without an ack after the kill. --broker adds a setting to every broker started (for
// example --broker flushDiskType=SYNC_FLUSH); --keep keeps each cluster's stores and logs.
//
// Output: a Markdown table on stdout; results.csv, results.json and chart.svg in --out
// (default ./comet-compare). Exit status 0 when every mode passed its verification.
// --protocol rocketmq: the producers send RocketMQ 4.x SEND_MESSAGE_V2 requests
// (bench/rocketmq_producer.h); reading back stays native.
#pragma once

namespace comet::bench {

int run_compare(int argc, char** argv);

}  // namespace comet::bench
