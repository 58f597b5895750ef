// comet-faultfs control text (tests/faultfs/fault_rules.h): any bytes parse to commands or to a
// typed error; what parses formats back to lines that parse to the same rules, and a rule set
// applies them within its bound and matches paths without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "faultfs/fault_rules.h"

using namespace comet::faultfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto commands = parse_control_text(text);
  if (!commands.is_ok()) return 0;
  for (const auto& cmd : *commands) {
    if (cmd.kind != ControlCommand::Kind::kAdd) continue;
    auto again = parse_control_line(format_rule(cmd.rule));
    if (!again.is_ok() || again->rule.ops != cmd.rule.ops || again->rule.glob != cmd.rule.glob ||
        again->rule.error != cmd.rule.error || again->rule.delay_ms != cmd.rule.delay_ms ||
        again->rule.once != cmd.rule.once) {
      std::abort();
    }
  }
  FaultRuleSet rules;
  if (!rules.apply(*commands).is_ok()) return 0;
  rules.match(FaultOp::kFsync, "/store/commitlog/00000000000000000000");
  rules.match(FaultOp::kWrite, "");
  (void)rules.describe();
  return 0;
}
