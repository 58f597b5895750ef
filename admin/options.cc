#include "admin/options.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "common/args.h"

namespace comet::admin {
namespace {

const OptionSpec* find_option(const CommandSpec& spec, std::string_view name, char letter) {
  for (const auto* list : {&spec.options, &common_options()}) {
    for (const auto& o : *list) {
      if (letter ? o.letter == letter : o.name == name) return &o;
    }
  }
  return nullptr;
}

// The spec of the option `args` stands on: "--name", "--name=value", "-x" or "-xVALUE"; nullptr
// when there is none.
const OptionSpec* resolve_option(const CommandSpec& spec, Args& args) {
  const std::string& tok = args.option();
  if (tok.size() > 2 && tok.starts_with("--")) return find_option(spec, tok.substr(2), '\0');
  if (tok.size() < 2 || tok[0] != '-' || tok[1] == '-') return nullptr;
  const OptionSpec* opt = find_option(spec, {}, tok[1]);
  if (opt != nullptr) args.take_attached_value(2);
  return opt;
}

bool is_option(const std::string& tok) {
  return tok.size() >= 2 && tok[0] == '-';
}

// Reads the value of `opt` into `values`; the error otherwise.
std::optional<std::string> read_value(const OptionSpec& opt, Args& args, OptionValues& values) {
  if (opt.kind == OptionKind::kFlag) {
    if (args.has_attached_value()) return "option --" + std::string(opt.name) + " takes no value";
    values.set(opt.name, "true");
    return std::nullopt;
  }
  if (opt.kind == OptionKind::kInt) {
    auto n = args.count(std::numeric_limits<int64_t>::min());
    if (!n) return args.bad() + ": takes an integer " + std::string(opt.placeholder);
    values.set(opt.name, std::to_string(*n));
    return std::nullopt;
  }
  auto v = args.value();
  if (!v) return args.bad() + ": needs a value " + std::string(opt.placeholder);
  values.set(opt.name, std::move(*v));
  return std::nullopt;
}

std::optional<std::string> missing_required(const CommandSpec& spec, const OptionValues& values) {
  for (const auto& opt : spec.options) {
    if (opt.required && !values.has(opt.name)) {
      return "missing required option " +
             (opt.letter ? std::string("-") + opt.letter + " " : std::string()) + "(--" +
             std::string(opt.name) + " " + std::string(opt.placeholder) + ")";
    }
  }
  return std::nullopt;
}

}  // namespace

std::string OptionValues::get(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string(fallback) : it->second;
}

int64_t OptionValues::get_int(std::string_view name, int64_t fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  int64_t v = fallback;
  std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  return v;
}

ParsedOptions parse_options(const CommandSpec& spec, const std::vector<std::string>& argv) {
  ParsedOptions p;
  Args args(argv, 1);
  while (args.next()) {
    if (!is_option(args.option())) {
      p.error = "unexpected argument '" + args.option() + "'";
      return p;
    }
    const OptionSpec* opt = resolve_option(spec, args);
    if (opt == nullptr) {
      p.error = "unknown option '" + args.option() + "'";
      return p;
    }
    if (auto error = read_value(*opt, args, p.values)) {
      p.error = std::move(*error);
      return p;
    }
  }
  if (p.values.has("help")) return p;
  if (auto missing = missing_required(spec, p.values)) p.error = std::move(*missing);
  return p;
}

}  // namespace comet::admin
