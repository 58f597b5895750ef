// The options of a comet-bench command, read one at a time from argv[first..argc), each value
// checked for its kind. Every command reads them the same way:
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
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

namespace comet::bench {

class Args {
 public:
  Args(int argc, char** argv, int first) : argc_(argc), argv_(argv), next_(first) {}

  // Moves to the next option; false after the last.
  bool next() {
    if (next_ >= argc_) return false;
    option_ = argv_[next_++];
    given_.reset();
    return true;
  }
  const std::string& option() const { return option_; }

  // The option's value (the argument after it, which is then used up); nullopt if there is none.
  std::optional<std::string> value() {
    if (next_ >= argc_) return std::nullopt;
    given_ = argv_[next_++];
    return given_;
  }
  // The value as a whole number of at least `lo`; nullopt if missing or not one.
  std::optional<int64_t> count(int64_t lo = 0) {
    auto v = value();
    if (!v || v->empty()) return std::nullopt;
    char* end = nullptr;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (*end != '\0' || n < lo) return std::nullopt;
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
  const int argc_;
  char** const argv_;
  int next_;
  std::string option_;
  std::optional<std::string> given_;
};

}  // namespace comet::bench
