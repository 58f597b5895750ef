// comet-admin's command lines: the options of a command read with the common option reader
// (common/args.h) against the command's OptionSpecs, and the usage texts built from the registry.
#pragma once

#include <string>
#include <vector>

#include "admin/command.h"

namespace comet::admin {

struct ParsedOptions {
  OptionValues values;
  std::string error;  // empty when the command line is good
};

// `argv` is the command line without the program name: argv[0] is the command. With -h/--help
// the required options are not asked for.
ParsedOptions parse_options(const CommandSpec& spec, const std::vector<std::string>& argv);

}  // namespace comet::admin
