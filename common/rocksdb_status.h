// RocksDB's status as a comet Status (for the modules that link RocksDB).
#pragma once

#include <string>
#include <string_view>

#include <rocksdb/status.h>

#include "common/status.h"

namespace comet {

inline Status from_rocksdb(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::ok();
  std::string msg = std::string(context) + ": " + s.ToString();
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return Status::not_found(std::move(msg));
    case rocksdb::Status::kCorruption:
      return Status::corruption(std::move(msg));
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kNotSupported:
      return Status::invalid_argument(std::move(msg));
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
      return Status::unavailable(std::move(msg));
    case rocksdb::Status::kTimedOut:
      return Status::timeout(std::move(msg));
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kAborted:
      return Status::shutdown(std::move(msg));
    default:
      return Status::io_error(std::move(msg));
  }
}

}  // namespace comet
