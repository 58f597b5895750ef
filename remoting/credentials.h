// An access key and its secret: what a client signs its requests with, and what a broker signs
// its cluster links with (docs/security.md). The secret is never logged: log redacted().
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace comet::remoting {

struct Credentials {
  std::string access_key;
  std::string secret_key;

  bool empty() const { return access_key.empty(); }
  // Both keys set, or an error saying which one is missing (never the secret).
  Status check() const;
  // "accessKey=<key>" only: for logs and errors.
  std::string redacted() const { return "accessKey=" + access_key; }
};

// Reads a credentials file in RocketMQ's tools.yml shape (YAML keys `accessKey` and
// `secretKey`). Errors name the file and the missing or bad key, never the secret.
Result<Credentials> load_credentials_file(const std::string& path);

// The credentials a tool or client runs with: `access_key`/`secret_key` when given (both or
// neither), else $COMET_ACCESS_KEY/$COMET_SECRET_KEY, else `file` when not empty, else none.
Result<std::optional<Credentials>> resolve_credentials(const std::string& access_key,
                                                       const std::string& secret_key,
                                                       const std::string& file);

}  // namespace comet::remoting
