// The options of a command line (comet-bench's commands, comet-admin's), read one at a time, each
// value checked for its kind. Every command reads them the same way:
//
//   Args args(argc, argv, 2);
//   std::optional<int64_t> n;
//   std::optional<std::string> s;
//   while (args.next()) {
//     const std::string& a = args.option();
//     if (a == "--cycles" && (n = args.count(1))) {
//       o.cycles = *n;
//     } else if (a == "--out" && (s = args.value())) {
//       o.out = *s;
//     } else {
//       return usage(args.bad());  // unknown, or its value missing or not of the kind asked
//     }
//   }
//
// A value is the argument after its option, or attached to it: "--out=DIR" always (option()
// is then "--out"), "-tTopic" when the caller says the option's name ends after two characters
// (take_attached_value(2)), as single-letter options allow.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace comet {

class Args {
 public:
  Args(int argc, char** argv, int first) : args_(argv + std::min(first, argc), argv + argc) {}
  Args(std::vector<std::string> args, size_t first)
      : args_(args.begin() + static_cast<std::ptrdiff_t>(std::min(first, args.size())),
              args.end()) {}

  // Moves to the next option; false after the last.
  bool next() {
    if (next_ >= args_.size()) return false;
    option_ = args_[next_++];
    given_.reset();
    attached_.reset();
    if (option_.starts_with("--")) {
      if (size_t eq = option_.find('='); eq != std::string::npos) {
        attached_ = option_.substr(eq + 1);
        option_.resize(eq);
      }
    }
    return true;
  }
  const std::string& option() const { return option_; }

  // The option's name is its first `name_length` characters; the rest of it is its value.
  void take_attached_value(size_t name_length) {
    if (option_.size() <= name_length) return;
    attached_ = option_.substr(name_length);
    option_.resize(name_length);
  }
  // True when the option came with a value attached ("--json=yes"): wrong for a flag.
  bool has_attached_value() const { return attached_.has_value(); }

  // The option's value (attached, or the argument after it, which is then used up); nullopt if
  // there is none.
  std::optional<std::string> value() {
    if (attached_) {
      given_ = std::exchange(attached_, std::nullopt);
    } else if (next_ < args_.size()) {
      given_ = args_[next_++];
    } else {
      return std::nullopt;
    }
    return given_;
  }
  // The value as a whole number of at least `lo`; nullopt if missing, not one, or out of range.
  std::optional<int64_t> count(int64_t lo = 0) {
    auto v = value();
    if (!v || v->empty()) return std::nullopt;
    int64_t n = 0;
    const char* end = v->data() + v->size();
    auto [ptr, ec] = std::from_chars(v->data(), end, n);
    if (ec != std::errc() || ptr != end || n < lo) return std::nullopt;
    return n;
  }
  // The value as a number in [lo, hi]; nullopt if missing or not one.
  std::optional<double> real(double lo, double hi = HUGE_VAL) {
    auto v = value();
    if (!v || v->empty()) return std::nullopt;
    char* end = nullptr;
    const double d = std::strtod(v->c_str(), &end);
    if (*end != '\0' || !(d >= lo && d <= hi)) return std::nullopt;
    return d;
  }

  // For the usage message: names the option, and the value it was given if any.
  std::string bad() const {
    std::string out = "bad or incomplete option '" + option_ + "'";
    if (given_) out += " (given '" + *given_ + "')";
    return out;
  }

 private:
  const std::vector<std::string> args_;
  size_t next_ = 0;
  std::string option_;
  std::optional<std::string> given_;
  std::optional<std::string> attached_;  // a value that came with the option itself
};

}  // namespace comet
