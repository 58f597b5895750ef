// comet-bench scale: what many topics cost one broker.
//
//   comet-bench scale [--topics-list 1,100,1000,10000] [--queues-per-topic Q] [--msg-size B]
//                     [--messages M] [--producers P] [--inflight K] [--disk-budget-gb G]
//                     [--broker key=value]... [--out DIR] [--bin-dir DIR] [--keep]
//
// For each topic count N a fresh single-broker cluster (bench/bench_cluster.h): the idle broker
// is read from /proc first; then N topics of Q queues are created (many requests in flight), every
// producer loads every route, and M messages go round robin over the N × Q queues (timed:
// throughput and p99). Then the broker's RssAnon above idle, RssFile, descriptors and mappings;
// the broker is stopped (SIGTERM) and the store's disk counted at rest, beyond the CommitLog and
// the CommitLog's own; the broker is started again on the same store and timed until it serves (a
// pull of a queue returns its messages and a send succeeds), and read from /proc again.
//
// M defaults to 4 messages per queue at the largest N, at least 100,000. The disk budget (default:
// 20 GB or half the free space, whichever is less) keeps a store whose ConsumeQueues cost a fixed
// size per queue from filling the disk long before 10,000 topics: before the timed sends a probe
// measures what a queue with one message costs, and a row sends only as many messages as fill
// what half the budget holds (round robin, each of the first messages fills a queue of its own);
// the sends also stop when the free disk falls by more than the budget. The row says so.
//
// Output: a Markdown table on stdout; results.csv, results.json and scale-chart.svg (a panel per
// metric against N on a log axis) in --out (default ./comet-scale). Exit status 0 when every row
// ran and every send was acknowledged.
#pragma once

namespace comet::bench {

int run_scale(int argc, char** argv);

}  // namespace comet::bench
