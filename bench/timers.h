// comet-bench timers: what pending timer messages cost a broker. Starts one broker (no name
// server) in a directory of its own, sends N timer messages (small bodies) due an hour or more
// ahead, and reports the broker's RSS (VmRSS and RssAnon from /proc/<pid>/status) idle and with
// them pending, the restart time with them pending, and the scheduling lateness (store time of
// the delivered message minus its due time) of a sample of timers falling due meanwhile.
#pragma once

namespace comet::bench {

int run_timers(int argc, char** argv);

}  // namespace comet::bench
