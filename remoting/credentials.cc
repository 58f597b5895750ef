#include "remoting/credentials.h"

#include <cstdlib>

#include <yaml-cpp/yaml.h>

namespace comet::remoting {

namespace {

// The string value of `key` in `doc`, or an error naming the file and the key.
Result<std::string> read_key(const YAML::Node& doc, const char* key, const std::string& path) {
  const YAML::Node node = doc[key];
  if (!node || !node.IsScalar() || node.Scalar().empty()) {
    return Status::invalid_argument("credentials file '" + path + "' has no " + key);
  }
  return node.Scalar();
}

}  // namespace

Status Credentials::check() const {
  if (access_key.empty() && secret_key.empty()) {
    return Status::invalid_argument("credentials: no access key and no secret key");
  }
  if (secret_key.empty()) {
    return Status::invalid_argument("credentials: " + redacted() + " has no secret key");
  }
  if (access_key.empty()) {
    return Status::invalid_argument("credentials: a secret key without its access key");
  }
  return Status::ok();
}

Result<Credentials> load_credentials_file(const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::not_found("credentials file '" + path + "' cannot be read");
  } catch (const YAML::Exception& e) {
    // The mark only: a parser message may quote the line, and the line may hold the secret.
    return Status::invalid_argument("credentials file '" + path + "' is not YAML (line " +
                                    std::to_string(e.mark.line + 1) + ")");
  }
  if (!doc.IsMap()) {
    return Status::invalid_argument("credentials file '" + path + "' is not a YAML map");
  }
  Credentials c;
  COMET_ASSIGN_OR_RETURN(c.access_key, read_key(doc, "accessKey", path));
  COMET_ASSIGN_OR_RETURN(c.secret_key, read_key(doc, "secretKey", path));
  return c;
}

Result<std::optional<Credentials>> resolve_credentials(const std::string& access_key,
                                                       const std::string& secret_key,
                                                       const std::string& file) {
  if (!access_key.empty() || !secret_key.empty()) {
    Credentials given{access_key, secret_key};
    COMET_RETURN_IF_ERROR(given.check());
    return std::optional<Credentials>(std::move(given));
  }
  const char* env_ak = std::getenv("COMET_ACCESS_KEY");
  const char* env_sk = std::getenv("COMET_SECRET_KEY");
  if ((env_ak != nullptr && *env_ak != '\0') || (env_sk != nullptr && *env_sk != '\0')) {
    if (env_ak == nullptr || *env_ak == '\0' || env_sk == nullptr || *env_sk == '\0') {
      return Status::invalid_argument("COMET_ACCESS_KEY and COMET_SECRET_KEY must be set together");
    }
    return std::optional<Credentials>(Credentials{env_ak, env_sk});
  }
  if (file.empty()) return std::optional<Credentials>();
  COMET_ASSIGN_OR_RETURN(Credentials c, load_credentials_file(file));
  return std::optional<Credentials>(std::move(c));
}

}  // namespace comet::remoting
