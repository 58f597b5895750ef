// The rules comet-faultfs applies to the calls it passes through, and the pure parser of the
// control lines that set them (tests/faultfs/faultfs_main.cc documents the grammar for users).
//
//   clear                         removes every rule: the file system heals
//   <ops> <glob> <effect>... [once]
//     ops    := op[,op...]  op := write | read | fsync | flush | fallocate | open | create |
//                                 truncate | any
//               fsync also covers fdatasync, fsyncdir and an msync of a mapped file (the kernel
//               sends it as write-backs followed by FSYNC); open covers open and create.
//     glob   := an fnmatch(3) pattern (no FNM_PATHNAME: '*' crosses '/') matched against the
//               path inside the mount, which starts with '/': "*/commitlog/*", "/a.txt"
//     effect := eio | enospc | errno=<1..4095> | delay=<0..600000 ms>
//               a delay and an errno together: the call waits, then fails
//     once   := the rule fires on the first matching call, then is removed
//
// Blank lines and lines that start with '#' are ignored. The first rule that matches a call
// decides it. A file system holds at most kMaxRules rules.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace comet::faultfs {

enum class FaultOp : uint32_t {
  kWrite = 1u << 0,
  kRead = 1u << 1,
  kFsync = 1u << 2,
  kFlush = 1u << 3,
  kFallocate = 1u << 4,
  kOpen = 1u << 5,
  kTruncate = 1u << 6,
};
constexpr uint32_t kAllOps = (1u << 7) - 1;
constexpr size_t kMaxRules = 64;
constexpr size_t kMaxLineBytes = 4096;
constexpr uint32_t kMaxDelayMs = 600000;

struct FaultRule {
  uint32_t ops = 0;  // FaultOp bits
  std::string glob;
  int error = 0;  // errno to fail with; 0: the call goes through (after the delay)
  uint32_t delay_ms = 0;
  bool once = false;
};

// One control line: clear, or add a rule (or nothing, for a blank or comment line).
struct ControlCommand {
  enum class Kind { kNothing, kClear, kAdd } kind = Kind::kNothing;
  FaultRule rule;
};

// Parses one line (without its newline). kInvalidArgument names what is wrong.
Result<ControlCommand> parse_control_line(std::string_view line);
// Parses every line of `text`; all or nothing.
Result<std::vector<ControlCommand>> parse_control_text(std::string_view text);
// "fsync", "write,read" ...: the names of the ops in `ops`.
std::string op_names(uint32_t ops);
// The line that parses back to `rule`.
std::string format_rule(const FaultRule& rule);

// What a matching rule does to one call.
struct FaultEffect {
  int error = 0;
  uint32_t delay_ms = 0;
};

// The rules in force; thread-safe (FUSE calls arrive on many threads).
class FaultRuleSet {
 public:
  // Applies `commands` in order; fails, changing nothing, if the rules would exceed kMaxRules.
  Status apply(const std::vector<ControlCommand>& commands);
  // The effect of the first rule matching `op` on `path`, removing it if it fires once.
  std::optional<FaultEffect> match(FaultOp op, const char* path);
  // One line per rule, as format_rule writes it.
  std::string describe() const;

 private:
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
};

}  // namespace comet::faultfs
