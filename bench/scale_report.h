// The results of comet-bench scale, one row per topic count, and the ways it writes them: a
// Markdown table, results.csv, results.json and scale-chart.svg (a panel per metric against the
// number of topics on a log axis). The shared pieces (escaping, the SVG opening, files) are
// bench/report.h's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/process_usage.h"

namespace comet::bench {

struct ScaleResult {
  int topics = 0;
  int queues_per_topic = 0;
  std::string error;      // set when the row could not run; the rest is then partial
  std::string stopped;    // why the sends stopped early (the disk budget), or empty
  uint64_t messages = 0;  // sends made
  uint64_t acked = 0;
  uint64_t failed = 0;              // errors and unconfirmed answers
  double create_s = 0;              // creating every topic
  double create_broker_cpu_s = 0;   // the broker's CPU seconds meanwhile
  double create_namesrv_cpu_s = 0;  // and the name server's (the broker's registrations)
  double msgs_per_s = 0;
  double p99_ms = 0;
  // The broker, read from /proc: idle (before any topic), loaded (after the sends) and after the
  // restart (once it serves again).
  ProcessUsage idle, loaded, restarted;
  // The store at rest (the broker stopped by SIGTERM): disk allocated beyond the CommitLog
  // (ConsumeQueues, the index, checkpoints, metadata) and the CommitLog's own.
  uint64_t disk_beyond_commitlog_bytes = 0;
  uint64_t commitlog_disk_bytes = 0;
  double restart_s = 0;  // from starting the broker again to serving (a pull and a send)

  // RssAnon above the idle broker's, in MiB (-1 when unknown): loaded, and after the restart.
  double rss_anon_above_idle_mib() const { return anon_above_idle_mib(loaded); }
  double restarted_rss_anon_above_idle_mib() const { return anon_above_idle_mib(restarted); }

 private:
  double anon_above_idle_mib(const ProcessUsage& u) const;
};

std::string scale_markdown_table(const std::vector<ScaleResult>& results);
std::string scale_csv(const std::vector<ScaleResult>& results);
std::string scale_json(const std::vector<ScaleResult>& results, const std::string& workload);
std::string scale_svg(const std::vector<ScaleResult>& results, const std::string& subtitle);

}  // namespace comet::bench
