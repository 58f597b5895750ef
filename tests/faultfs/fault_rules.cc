#include "faultfs/fault_rules.h"

#include <fnmatch.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <utility>

namespace comet::faultfs {
namespace {

struct OpName {
  std::string_view name;
  uint32_t bits;
};
// "create" is a name for open: the kernel's CREATE is an open that makes the file.
constexpr std::array<OpName, 9> kOpNames = {{
    {"write", static_cast<uint32_t>(FaultOp::kWrite)},
    {"read", static_cast<uint32_t>(FaultOp::kRead)},
    {"fsync", static_cast<uint32_t>(FaultOp::kFsync)},
    {"flush", static_cast<uint32_t>(FaultOp::kFlush)},
    {"fallocate", static_cast<uint32_t>(FaultOp::kFallocate)},
    {"open", static_cast<uint32_t>(FaultOp::kOpen)},
    {"create", static_cast<uint32_t>(FaultOp::kOpen)},
    {"truncate", static_cast<uint32_t>(FaultOp::kTruncate)},
    {"any", kAllOps},
}};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

// Splits on runs of blanks; at most `max` words (more is an error for the caller).
std::vector<std::string_view> words_of(std::string_view line, size_t max) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size() && out.size() <= max) {
    while (i < line.size() && is_space(line[i]))
      ++i;
    size_t start = i;
    while (i < line.size() && !is_space(line[i]))
      ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

Result<uint32_t> parse_ops(std::string_view text) {
  uint32_t ops = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view name = text.substr(pos, comma - pos);
    bool known = false;
    for (const auto& op : kOpNames) {
      if (op.name == name) {
        ops |= op.bits;
        known = true;
      }
    }
    if (!known) return Status::invalid_argument("unknown op '" + std::string(name) + "'");
    pos = comma + 1;
  }
  return ops;
}

Result<uint32_t> parse_number(std::string_view text, uint32_t min, uint32_t max,
                              std::string_view what) {
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    return Status::invalid_argument(std::string(what) + " must be a number in [" +
                                    std::to_string(min) + ", " + std::to_string(max) + "], not '" +
                                    std::string(text) + "'");
  }
  return v;
}

// One of eio, enospc, errno=N, delay=MS, once, applied to `rule`.
Status parse_effect(std::string_view word, FaultRule& rule) {
  if (word == "eio") {
    rule.error = EIO;
  } else if (word == "enospc") {
    rule.error = ENOSPC;
  } else if (word == "once") {
    rule.once = true;
  } else if (word.starts_with("errno=")) {
    COMET_ASSIGN_OR_RETURN(uint32_t e, parse_number(word.substr(6), 1, 4095, "errno"));
    rule.error = static_cast<int>(e);
  } else if (word.starts_with("delay=")) {
    COMET_ASSIGN_OR_RETURN(rule.delay_ms, parse_number(word.substr(6), 0, kMaxDelayMs, "delay"));
  } else {
    return Status::invalid_argument("unknown effect '" + std::string(word) + "'");
  }
  return Status::ok();
}

}  // namespace

Result<ControlCommand> parse_control_line(std::string_view line) {
  if (line.size() > kMaxLineBytes) return Status::invalid_argument("line too long");
  for (char c : line) {
    if (c == '\0' || c == '\n') return Status::invalid_argument("control character in line");
  }
  // Ops, glob, up to four effects (errno, delay, once and one repeated), and one word too many.
  auto words = words_of(line, 7);
  ControlCommand cmd;
  if (words.empty() || words[0].starts_with('#')) return cmd;
  if (words.size() == 1 && words[0] == "clear") {
    cmd.kind = ControlCommand::Kind::kClear;
    return cmd;
  }
  if (words.size() < 3) return Status::invalid_argument("want: <ops> <glob> <effect>... [once]");
  if (words.size() > 6) return Status::invalid_argument("too many words");
  cmd.kind = ControlCommand::Kind::kAdd;
  COMET_ASSIGN_OR_RETURN(cmd.rule.ops, parse_ops(words[0]));
  cmd.rule.glob = std::string(words[1]);
  bool has_effect = false;
  for (size_t i = 2; i < words.size(); ++i) {
    COMET_RETURN_IF_ERROR(parse_effect(words[i], cmd.rule));
    has_effect = has_effect || words[i] != "once";
  }
  if (!has_effect) return Status::invalid_argument("a rule needs an errno or a delay");
  return cmd;
}

Result<std::vector<ControlCommand>> parse_control_text(std::string_view text) {
  std::vector<ControlCommand> out;
  size_t pos = 0;
  for (size_t line_no = 1; pos < text.size(); ++line_no) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    auto cmd = parse_control_line(text.substr(pos, nl - pos));
    if (!cmd.is_ok()) {
      return Status::invalid_argument("line " + std::to_string(line_no) + ": " +
                                      cmd.status().message());
    }
    if (cmd->kind != ControlCommand::Kind::kNothing) out.push_back(std::move(cmd).value());
    pos = nl + 1;
  }
  return out;
}

std::string op_names(uint32_t ops) {
  if (ops == kAllOps) return "any";
  std::string out;
  for (const auto& op : kOpNames) {
    if (op.name == "create" || op.name == "any" || (ops & op.bits) == 0) continue;
    if (!out.empty()) out += ',';
    out += op.name;
  }
  return out;
}

std::string format_rule(const FaultRule& rule) {
  std::string out = op_names(rule.ops) + " " + rule.glob;
  if (rule.delay_ms > 0 || rule.error == 0) out += " delay=" + std::to_string(rule.delay_ms);
  if (rule.error != 0) out += " errno=" + std::to_string(rule.error);
  if (rule.once) out += " once";
  return out;
}

Status FaultRuleSet::apply(const std::vector<ControlCommand>& commands) {
  std::lock_guard lock(mu_);
  std::vector<FaultRule> next = rules_;
  for (const auto& cmd : commands) {
    if (cmd.kind == ControlCommand::Kind::kClear) next.clear();
    if (cmd.kind != ControlCommand::Kind::kAdd) continue;
    if (next.size() == kMaxRules) {
      return Status::out_of_range("at most " + std::to_string(kMaxRules) + " rules");
    }
    next.push_back(cmd.rule);
  }
  rules_ = std::move(next);
  return Status::ok();
}

std::optional<FaultEffect> FaultRuleSet::match(FaultOp op, const char* path) {
  std::lock_guard lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if ((it->ops & static_cast<uint32_t>(op)) == 0) continue;
    if (::fnmatch(it->glob.c_str(), path, 0) != 0) continue;
    FaultEffect effect{it->error, it->delay_ms};
    if (it->once) rules_.erase(it);
    return effect;
  }
  return std::nullopt;
}

std::string FaultRuleSet::describe() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& r : rules_)
    out += format_rule(r) + "\n";
  return out;
}

}  // namespace comet::faultfs
