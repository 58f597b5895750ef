// comet-bench chaos: a seeded fault schedule against a running cluster while producers send and
// a consumer group consumes, then a checker in the spirit of OpenMessaging Chaos over both.
//
//   comet-bench chaos [--modes sync,dledger] [--cycles N] [--seed S] [--faults kill,pause,...]
//                     [--fault-ms MS] [--settle-ms MS] [--rate R] [--producers P] [--msg-size B]
//                     [--consumers N] [--consumer-churn N] [--no-netns] [--broker key=value]...
//                     [--bin-dir DIR] [--keep] [--failing-listener]
//
// Per mode a fresh cluster (bench/bench_cluster.h). As root with iproute2 each broker runs in a
// network namespace of its own, on a bridge in a hub namespace where the name server and this
// program's clients live (common/netns.h); otherwise everything is on 127.0.0.1 and only the
// process faults apply. Each cycle picks a fault and a broker with the seeded generator:
//   kill       SIGKILL; in sync/async mode a killed master is replaced by the drill
//              (comet-admin promoteSlave for the slave); the broker restarts after --fault-ms
//   pause      SIGSTOP for --fault-ms, then SIGCONT
//   partition  the broker's link down for --fault-ms (network namespaces only)
//   delay      50 ms delay and 5 % loss on its link for --fault-ms (tc netem, where available)
// then waits --settle-ms. --consumers push consumers (default 2) of one group consume from the
// first offset throughout; every --consumer-churn th cycle (default 3) one leaves for the fault
// and a new one joins after it (a rebalance under faults). Afterwards every fault is healed, the
// consumers are given (bounded) time to receive every acked message, every queue is read back,
// and the checker reports, for the log: acknowledged messages lost, duplicates, reorders within
// a producer's queue order, corrupt or changed bodies; for the consumers: acked messages never
// delivered, redeliveries (the same stored message again), stored copies, reorders, and
// messages delivered that the log no longer holds. A mode passes with nothing lost, corrupt,
// changed, undelivered or delivered-then-gone (async replication may lose what its slave had
// not copied: counted there, not failed). Exit status 0 when every mode passed. The same seed
// gives the same schedule.
//
// --failing-listener: the consumers fail 10 % of the messages once and 0.1 % always, chosen by
// message from the seed (bench/failure_plan.h), one message a batch. The brokers get 1 s delay
// levels (unless --broker messageDelayLevel=... says otherwise), so a message failed for good
// reaches %DLQ%ChaosConsumers after its retries; the DLQ is read back while the consumers run,
// and an acked message is lost only when it was neither consumed nor found there.
#pragma once

namespace comet::bench {

int run_chaos(int argc, char** argv);

}  // namespace comet::bench
