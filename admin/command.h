// What a comet-admin command is made of: its name (mqadmin's), a one-line summary, its options and
// its handler (CommandSpec, listed once in registry.cc), and the Context a handler runs with: the
// parsed options, the AdminClient, the output streams and how failures are reported.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "admin/admin_client.h"
#include "admin/commands.h"

namespace comet::admin {

// The producer and consumer group of the clients commands make for themselves (sendMessage,
// consumeMessage, resendDlq), and how many messages one of their pulls asks for.
inline constexpr std::string_view kToolGroup = "comet-admin";
inline constexpr int kPullBatch = 32;

enum class OptionKind { kString, kInt, kFlag };

struct OptionSpec {
  std::string_view name;  // the long name, also the key of its value
  char letter = '\0';     // '\0': long form only
  OptionKind kind = OptionKind::kString;
  std::string_view placeholder;
  std::string_view help;
  bool required = false;
};

// The options given on the command line, by long name; an int option's value is known to parse.
class OptionValues {
 public:
  bool has(std::string_view name) const { return values_.find(name) != values_.end(); }
  std::string get(std::string_view name, std::string_view fallback = {}) const;
  int64_t get_int(std::string_view name, int64_t fallback) const;
  void set(std::string_view name, std::string value) {
    values_.insert_or_assign(std::string(name), std::move(value));
  }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

struct Context;
using Handler = int (*)(Context&);

struct CommandSpec {
  std::string_view name;
  std::string_view summary;
  std::vector<OptionSpec> options;
  Handler handler;
};

// The registry: every command, in the order `comet-admin --help` lists them.
const std::vector<CommandSpec>& commands();
// nullptr for a name that is no command.
const CommandSpec* find_command(std::string_view name);
// The options every command takes: -n, --json, --timeout-ms, -h.
const std::vector<OptionSpec>& common_options();

struct Context {
  const CommandSpec& spec;
  const OptionValues& args;
  AdminClient& client;
  std::ostream& out;
  std::ostream& err;
  bool json = false;
  bool failed = false;

  // Reports one failure; the command goes on with what it can still do.
  void report(std::string_view what, const Status& s) { report(what, s.message()); }
  void report(std::string_view what, std::string_view why) {
    err << spec.name << ": " << what << ": " << why << '\n';
    failed = true;
  }
  int fail(std::string_view what, const Status& s) { return fail(what, s.message()); }
  int fail(std::string_view what, std::string_view why) {
    report(what, why);
    return kExitFailure;
  }
  int usage_error(std::string_view why) {
    err << "comet-admin " << spec.name << ": " << why << "\n\n" << command_usage(spec.name);
    return kExitUsage;
  }
  int done() const { return failed ? kExitFailure : kExitOk; }
};

}  // namespace comet::admin
