// Status and Result<T>: the error vocabulary shared by every comet module. No exceptions
// cross a module boundary; a failed operation returns a Status with a code and a message.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace comet {

enum class Code : int {
  kOk = 0,
  kNotFound,
  kCorruption,
  kInvalidArgument,
  kIOError,
  kMessageTooLarge,
  kTimeout,
  kUnavailable,
  kShutdown,
  kOutOfRange,
  kAlreadyExists,
  kUnsupported,       // a feature the configuration turned off
  kPermissionDenied,  // refused by configuration (a disabled consumer group: NO_PERMISSION)
  kNoSpace,           // the file system is full (ENOSPC, EDQUOT): retry once space returns
};

std::string_view code_name(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status not_found(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status invalid_argument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status io_error(std::string m) { return {Code::kIOError, std::move(m)}; }
  static Status message_too_large(std::string m) { return {Code::kMessageTooLarge, std::move(m)}; }
  static Status timeout(std::string m) { return {Code::kTimeout, std::move(m)}; }
  static Status unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status shutdown(std::string m) { return {Code::kShutdown, std::move(m)}; }
  static Status out_of_range(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
  static Status unsupported(std::string m) { return {Code::kUnsupported, std::move(m)}; }
  static Status permission_denied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status no_space(std::string m) { return {Code::kNoSpace, std::move(m)}; }
  // An errno-carrying I/O failure: "<what>: <strerror(err)>"; kNoSpace for ENOSPC and EDQUOT
  // (a full disk is a state to wait out, not a fault), kUnavailable for EMFILE, ENFILE and ENOMEM
  // (out of descriptors or memory: retried, not a fault of the disk), kIOError otherwise.
  static Status from_errno(std::string_view what, int err);

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T> holds a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).is_ok());
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace comet

#define COMET_RETURN_IF_ERROR(expr) \
  do {                              \
    ::comet::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;   \
  } while (0)

#define COMET_CONCAT_INNER(a, b) a##b
#define COMET_CONCAT(a, b) COMET_CONCAT_INNER(a, b)
#define COMET_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
#define COMET_ASSIGN_OR_RETURN(lhs, expr) \
  COMET_ASSIGN_OR_RETURN_IMPL(COMET_CONCAT(_res_, __LINE__), lhs, expr)
