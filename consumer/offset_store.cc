#include "consumer/offset_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace comet::client {

namespace {

constexpr std::string_view kHeader = "# comet consumer offsets v1: topic broker queue offset";

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

Status write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::from_errno("write " + path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

}  // namespace

Result<std::optional<uint64_t>> RemoteBrokerOffsetStore::read(const MessageQueue& mq) {
  return api_->query_consumer_offset(mq);
}

Status RemoteBrokerOffsetStore::commit(const MessageQueue& mq, uint64_t offset, bool sync) {
  if (sync) return api_->update_consumer_offset(mq, offset);
  api_->update_consumer_offset_async(mq, offset);
  return Status::ok();
}

Result<std::unique_ptr<LocalFileOffsetStore>> LocalFileOffsetStore::open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("create offset directory " + dir + ": " + ec.message());
  std::unique_ptr<LocalFileOffsetStore> store(new LocalFileOffsetStore(dir));
  COMET_RETURN_IF_ERROR(store->load());
  return store;
}

std::string LocalFileOffsetStore::path() const {
  return (std::filesystem::path(dir_) / kFileName).string();
}

Status LocalFileOffsetStore::load() {
  const std::string file = path();
  std::ifstream in(file);
  if (!in) {
    if (std::filesystem::exists(file)) return Status::io_error("cannot read " + file);
    return Status::ok();
  }
  std::lock_guard lock(mu_);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string topic, broker, queue, offset;
    uint32_t queue_id = 0;
    uint64_t value = 0;
    if (!(fields >> topic >> broker >> queue >> offset) || !parse_number(queue, queue_id) ||
        !parse_number(offset, value)) {
      return Status::corruption(fmt::format("{}:{}: malformed offset line", file, line_no));
    }
    offsets_[MessageQueue{topic, broker, queue_id}] = value;
  }
  return Status::ok();
}

Result<std::optional<uint64_t>> LocalFileOffsetStore::read(const MessageQueue& mq) {
  std::lock_guard lock(mu_);
  auto it = offsets_.find(mq);
  if (it == offsets_.end()) return std::optional<uint64_t>();
  return std::optional<uint64_t>(it->second);
}

Status LocalFileOffsetStore::commit(const MessageQueue& mq, uint64_t offset, bool sync) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = offsets_.try_emplace(mq, offset);
  if (inserted || it->second != offset) {
    it->second = offset;
    dirty_ = true;
  }
  return sync ? write_locked() : Status::ok();
}

Status LocalFileOffsetStore::flush() {
  std::lock_guard lock(mu_);
  return write_locked();
}

Status LocalFileOffsetStore::write_locked() {
  if (!dirty_) return Status::ok();
  std::string text(kHeader);
  text += '\n';
  for (const auto& [mq, offset] : offsets_) {
    text += fmt::format("{}\t{}\t{}\t{}\n", mq.topic, mq.broker_name, mq.queue_id, offset);
  }
  const std::string file = path();
  const std::string tmp = file + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("open " + tmp, errno);
  Status s = write_all(fd, text, tmp);
  if (s.is_ok() && ::fsync(fd) != 0) s = Status::from_errno("fsync " + tmp, errno);
  ::close(fd);
  if (s.is_ok() && ::rename(tmp.c_str(), file.c_str()) != 0) {
    s = Status::from_errno("rename " + tmp + " to " + file, errno);
  }
  if (s.is_ok()) dirty_ = false;
  return s;
}

}  // namespace comet::client
