// comet-bench soak: a long run at a steady share of the measured maximum, watching for what only
// time shows: memory that grows, latency that drifts, throughput that sags.
//
//   comet-bench soak [--mode sync] [--minutes M] [--load F] [--rate R] [--probe-s S]
//                    [--msg-size B] [--producers P] [--sample-s S] [--broker key=value]...
//                    [--bin-dir DIR] [--keep]
//
// A fresh local cluster (bench/bench_cluster.h). First a probe: --probe-s seconds as fast as
// the producers go, whose rate is the maximum; then M minutes paced at --load times it (--rate
// gives the rate instead). Every --sample-s seconds a line: offered and achieved msgs/s, p50,
// p99 and max latency of the sends answered in that window, and the brokers' anonymous resident
// memory (RssAnon: heap and stacks, not the mapped CommitLog, whose pages count as the log grows).
// It passes when the memory at the end is within 5 % of the memory after the first minute, the
// p99 of the last minute is at most twice that of the first (plus 1 ms), the achieved rate is
// within 2 % of the offered one, and no send failed. Exit status 0 when it passed.
#pragma once

namespace comet::bench {

int run_soak(int argc, char** argv);

}  // namespace comet::bench
