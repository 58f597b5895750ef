// comet-admin's entry point: finds the command in the registry, reads its options, prints the
// usage texts, and runs the handler with an AdminClient.
#include "admin/commands.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "admin/command.h"
#include "admin/options.h"
#include "admin/security_options.h"
#include "producer/mq_client.h"

namespace comet::admin {
namespace {

void describe_options(std::ostream& o, const std::vector<OptionSpec>& options) {
  std::vector<std::pair<std::string, std::string>> lines;
  size_t width = 0;
  for (const auto& opt : options) {
    std::string left = "  ";
    left += opt.letter ? std::string("-") + opt.letter + ", " : std::string("    ");
    left.append("--").append(opt.name);
    if (!opt.placeholder.empty()) left.append(" ").append(opt.placeholder);
    width = std::max(width, left.size());
    lines.emplace_back(std::move(left),
                       std::string(opt.help) + (opt.required ? " (required)" : ""));
  }
  for (const auto& [l, r] : lines)
    o << l << std::string(width - l.size() + 2, ' ') << r << '\n';
}

}  // namespace

std::string default_namesrv_addr() {
  const char* env = std::getenv("COMET_NAMESRV_ADDR");
  return env && *env ? std::string(env) : std::string(kDefaultNamesrvAddr);
}

std::string usage() {
  std::ostringstream o;
  o << "usage: comet-admin <command> [options]\n\ncommands:\n";
  size_t width = 4;
  for (const auto& c : commands())
    width = std::max(width, c.name.size());
  for (const auto& c : commands())
    o << "  " << c.name << std::string(width - c.name.size() + 2, ' ') << c.summary << '\n';
  o << "  help" << std::string(width - 4 + 2, ' ')
    << "this text, or 'help <command>' (as '<command> --help')\n";
  o << "\ncommon options:\n";
  describe_options(o, common_options());
  return o.str();
}

std::string command_usage(std::string_view command) {
  const CommandSpec* spec = find_command(command);
  if (!spec) return {};
  std::ostringstream o;
  o << "usage: comet-admin " << spec->name;
  for (const auto& opt : spec->options) {
    // Built by appending: "--" + std::string(...) trips GCC 12's -Wrestrict false positive.
    std::string form = opt.letter ? std::string(1, '-') + opt.letter : std::string("--");
    if (!opt.letter) form.append(opt.name);
    form.append(" ").append(opt.placeholder);
    if (opt.required) {
      o << ' ' << form;
    } else {
      o << " [" << form << ']';
    }
  }
  o << " [-n <addr>] [--json] [--timeout-ms <ms>] [account and TLS options]\n"
    << spec->summary << "\n\noptions:\n";
  std::vector<OptionSpec> all = spec->options;
  all.insert(all.end(), common_options().begin(), common_options().end());
  describe_options(o, all);
  return o.str();
}

int run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const std::string& default_namesrv) {
  if (args.empty()) {
    err << usage();
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "help" || name == "-h" || name == "--help") {
    if (args.size() < 2) {
      out << usage();
      return kExitOk;
    }
    if (!find_command(args[1])) {
      err << "comet-admin: unknown command '" << args[1] << "'\n\n" << usage();
      return kExitUsage;
    }
    out << command_usage(args[1]);
    return kExitOk;
  }
  const CommandSpec* spec = find_command(name);
  if (!spec) {
    err << "comet-admin: unknown command '" << name << "'\n\n" << usage();
    return kExitUsage;
  }
  ParsedOptions parsed = parse_options(*spec, args);
  if (!parsed.error.empty()) {
    err << "comet-admin " << spec->name << ": " << parsed.error << "\n\n"
        << command_usage(spec->name);
    return kExitUsage;
  }
  if (parsed.values.has("help")) {
    out << command_usage(spec->name);
    return kExitOk;
  }
  const int64_t timeout_ms = parsed.values.get_int("timeout-ms", 5000);
  if (timeout_ms <= 0) {
    err << "comet-admin " << spec->name << ": --timeout-ms must be > 0\n\n"
        << command_usage(spec->name);
    return kExitUsage;
  }
  const std::string namesrv = parsed.values.get("namesrvAddr", default_namesrv);
  if (client::split_namesrv_addr(namesrv).empty()) {
    err << "comet-admin " << spec->name << ": -n names no address\n\n" << command_usage(spec->name);
    return kExitUsage;
  }
  if (Status s = check_security_options(parsed.values); !s.is_ok()) {
    err << "comet-admin " << spec->name << ": " << s.message() << "\n\n"
        << command_usage(spec->name);
    return kExitUsage;
  }
  client::ClientConfig config;
  config.namesrv_addr = namesrv;
  if (Status s = apply_security_options(parsed.values, config); !s.is_ok()) {
    err << spec->name << ": " << s.message() << '\n';
    return kExitFailure;
  }
  AdminClient client(std::move(config), std::chrono::milliseconds(timeout_ms));
  if (!client.setup_status().is_ok()) {
    err << spec->name << ": " << client.setup_status().message() << '\n';
    return kExitFailure;
  }
  Context ctx{*spec, parsed.values, client, out, err, parsed.values.has("json")};
  return spec->handler(ctx);
}

}  // namespace comet::admin
