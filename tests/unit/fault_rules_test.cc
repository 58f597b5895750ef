// comet-faultfs's control lines (tests/faultfs/fault_rules.h): what parses, what is refused,
// how rules match.
#include "faultfs/fault_rules.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace comet::faultfs {
namespace {

TEST(FaultRules, ParsesARuleWithEveryPart) {
  auto cmd = parse_control_line("fsync,write */commitlog/* delay=3000 eio once");
  ASSERT_TRUE(cmd.is_ok()) << cmd.status().to_string();
  EXPECT_EQ(cmd->kind, ControlCommand::Kind::kAdd);
  EXPECT_EQ(cmd->rule.ops,
            static_cast<uint32_t>(FaultOp::kFsync) | static_cast<uint32_t>(FaultOp::kWrite));
  EXPECT_EQ(cmd->rule.glob, "*/commitlog/*");
  EXPECT_EQ(cmd->rule.delay_ms, 3000u);
  EXPECT_EQ(cmd->rule.error, EIO);
  EXPECT_TRUE(cmd->rule.once);
  EXPECT_EQ(format_rule(cmd->rule), "write,fsync */commitlog/* delay=3000 errno=5 once");
}

TEST(FaultRules, ClearCommentsAndBlankLines) {
  auto cmds = parse_control_text("# heal\n\n  clear  \nany * errno=28\n");
  ASSERT_TRUE(cmds.is_ok()) << cmds.status().to_string();
  ASSERT_EQ(cmds->size(), 2u);
  EXPECT_EQ((*cmds)[0].kind, ControlCommand::Kind::kClear);
  EXPECT_EQ((*cmds)[1].rule.ops, kAllOps);
  EXPECT_EQ((*cmds)[1].rule.error, ENOSPC);
}

TEST(FaultRules, BadLinesAreRefusedWithTheLineNumber) {
  for (const char* bad : {"fsync *", "fsync * once", "sync * eio", "fsync * delay=600001",
                          "fsync * errno=0", "fsync * errno=5x", "fsync * delay=-1",
                          "write,,read * eio", "a b c d e f g h", "clear now"}) {
    auto cmd = parse_control_line(bad);
    EXPECT_FALSE(cmd.is_ok()) << bad;
    if (!cmd.is_ok()) {
      EXPECT_EQ(cmd.status().code(), Code::kInvalidArgument) << bad;
    }
  }
  auto text = parse_control_text("clear\nfsync * eio\nwrite * maybe\n");
  ASSERT_FALSE(text.is_ok());
  EXPECT_NE(text.status().message().find("line 3"), std::string::npos) << text.status().message();
  EXPECT_FALSE(parse_control_line(std::string(kMaxLineBytes + 1, 'a')).is_ok());
}

TEST(FaultRules, FirstMatchingRuleDecidesAndOnceRulesGo) {
  FaultRuleSet rules;
  auto cmds = parse_control_text("fsync */cq/* eio once\nfsync * delay=5\n");
  ASSERT_TRUE(cmds.is_ok());
  ASSERT_TRUE(rules.apply(*cmds).is_ok());
  auto first = rules.match(FaultOp::kFsync, "/store/cq/0");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->error, EIO);
  auto second = rules.match(FaultOp::kFsync, "/store/cq/0");
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->error, 0);
  EXPECT_EQ(second->delay_ms, 5u);
  EXPECT_FALSE(rules.match(FaultOp::kWrite, "/store/cq/0").has_value());
  EXPECT_EQ(rules.describe(), "fsync * delay=5\n");
}

TEST(FaultRules, RuleCountIsBoundedAndAFailedApplyChangesNothing) {
  FaultRuleSet rules;
  std::vector<ControlCommand> many(kMaxRules + 1);
  for (auto& c : many) {
    c.kind = ControlCommand::Kind::kAdd;
    c.rule = {kAllOps, "*", EIO, 0, false};
  }
  EXPECT_EQ(rules.apply(many).code(), Code::kOutOfRange);
  EXPECT_EQ(rules.describe(), "");
}

}  // namespace
}  // namespace comet::faultfs
