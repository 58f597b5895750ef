// The results of comet-bench compare, one row per mode, and the ways it writes them: a Markdown
// table for the terminal, results.csv, results.json and an SVG chart (throughput bars, and the
// latency percentiles of each mode on a log scale).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/verify.h"
#include "common/status.h"

namespace comet::bench {

struct FailoverResult {
  std::string drill;     // what the drill did, step by step
  double window_ms = 0;  // the longest stretch without an ack after the kill
  double kill_at_s = 0;  // when the kill came, from the start of the run
};

struct ModeResult {
  std::string mode;          // single, async, sync, dledger, or "cluster" (--namesrv)
  std::string layout;        // "SYNC_MASTER + SLAVE", ...
  std::string error;         // set when the mode could not run; the rest is then empty
  uint64_t messages = 0;     // sends made
  uint64_t acked = 0;        // SEND_OK
  uint64_t unconfirmed = 0;  // stored, not confirmed (FLUSH_SLAVE_TIMEOUT, SLAVE_NOT_AVAILABLE, ..)
  uint64_t failed = 0;       // errors after the producer's retries
  size_t msg_size = 0;
  double seconds = 0;
  double msgs_per_s = 0;  // acked messages per second
  double mb_per_s = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
  std::optional<double> broker_cpu_s;  // local clusters only
  std::optional<VerifyReport> verify;
  std::optional<FailoverResult> failover;
  // Passed: ran, verified, nothing corrupt, and no acked message lost where none may be (every
  // mode without a failover; sync and dledger with one).
  bool passed() const;
};

std::string markdown_table(const std::vector<ModeResult>& results);
std::string to_csv(const std::vector<ModeResult>& results);
std::string to_json(const std::vector<ModeResult>& results, const std::string& workload);
std::string to_svg(const std::vector<ModeResult>& results, const std::string& title,
                   const std::string& subtitle = "");

// Shared by every comet-bench report (compare's, scale's): text escaped for SVG, a CSV field
// quoted when it must be, the opening of an SVG chart (white, with a title and a subtitle at
// x = `left`), and a result file written whole.
std::string xml_escape(const std::string& s);
std::string csv_field(const std::string& s);
std::string svg_header(int width, int height, int left, const std::string& title,
                       const std::string& subtitle);
Status write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace comet::bench
