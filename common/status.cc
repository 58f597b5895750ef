#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace comet {

std::string_view code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kCorruption:
      return "CORRUPTION";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kIOError:
      return "IO_ERROR";
    case Code::kMessageTooLarge:
      return "MESSAGE_TOO_LARGE";
    case Code::kTimeout:
      return "TIMEOUT";
    case Code::kUnavailable:
      return "UNAVAILABLE";
    case Code::kShutdown:
      return "SHUTDOWN";
    case Code::kOutOfRange:
      return "OUT_OF_RANGE";
    case Code::kAlreadyExists:
      return "ALREADY_EXISTS";
    case Code::kUnsupported:
      return "UNSUPPORTED";
    case Code::kPermissionDenied:
      return "PERMISSION_DENIED";
    case Code::kNoSpace:
      return "NO_SPACE";
  }
  return "UNKNOWN";
}

Status Status::from_errno(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return {Code::kNoSpace, std::move(m)};
  // Out of descriptors or memory is the process's state, not the disk's: the call may be
  // retried, and the store must not turn read-only for it as for an I/O error.
  if (err == EMFILE || err == ENFILE || err == ENOMEM) return {Code::kUnavailable, std::move(m)};
  return {Code::kIOError, std::move(m)};
}

std::string Status::to_string() const {
  if (is_ok()) return "OK";
  std::string s(code_name(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace comet
