#include "broker/timer_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/logging.h"

namespace comet::broker {
namespace {

namespace fs = std::filesystem;

template <typename T>
void put(uint8_t* dst, T v) {
  std::memcpy(dst, &v, sizeof v);  // little-endian hosts only, as the record codec
}

template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::string segment_name(int64_t start) {
  char name[32];
  std::snprintf(name, sizeof name, "%020lld", static_cast<long long>(start));
  return name;
}

// The segment start a file name stands for; nullopt for other files.
std::optional<int64_t> segment_start(const std::string& name) {
  if (name.size() != 20 || name.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(name);
}

Status full_pwrite(int fd, const uint8_t* p, size_t n, int64_t at) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Status::from_errno("timer log pwrite", errno);
    p += w;
    n -= static_cast<size_t>(w);
    at += w;
  }
  return Status::ok();
}

// Bytes read (short at the end of the file).
Result<size_t> full_pread(int fd, uint8_t* p, size_t n, int64_t at) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, at + static_cast<int64_t>(got));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::from_errno("timer log pread", errno);
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

}  // namespace

void encode_timer_entry(const TimerEntry& e, uint8_t* dst) {
  put<uint64_t>(dst, e.commitlog_offset);
  put<uint32_t>(dst + 8, e.size);
  put<uint32_t>(dst + 12, kTimerEntryMagic);
  put<int64_t>(dst + 16, e.due_ms);
  put<int64_t>(dst + 24, e.prev);
}

std::optional<TimerEntry> decode_timer_entry(const uint8_t* p, int64_t pos) {
  if (get<uint32_t>(p + 12) != kTimerEntryMagic) return std::nullopt;
  TimerEntry e{get<uint64_t>(p), get<uint32_t>(p + 8), get<int64_t>(p + 16), get<int64_t>(p + 24)};
  // A chain only points back, so following one always ends.
  if (e.due_ms < 0 || e.prev < -1 || e.prev >= pos) return std::nullopt;
  return e;
}

TimerLog::TimerLog(std::string dir, uint64_t segment_entries)
    : dir_(std::move(dir)), segment_bytes_(segment_entries * kTimerEntrySize) {}

TimerLog::~TimerLog() {
  for (Segment& s : segments_)
    ::close(s.fd);
}

Result<std::unique_ptr<TimerLog>> TimerLog::open(const std::string& dir, uint64_t segment_entries,
                                                 int64_t length) {
  if (segment_entries == 0 || length < 0 || length % kTimerEntrySize != 0) {
    return Status::invalid_argument("timer log: bad segment size or length " +
                                    std::to_string(length));
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::io_error("timer log: cannot create " + dir + ": " + ec.message());
  std::unique_ptr<TimerLog> log(new TimerLog(dir, segment_entries));
  std::vector<int64_t> starts;
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    if (auto start = segment_start(f.path().filename().string())) starts.push_back(*start);
  }
  if (ec) return Status::io_error("timer log: cannot list " + dir + ": " + ec.message());
  std::sort(starts.begin(), starts.end());
  const auto seg_bytes = static_cast<int64_t>(log->segment_bytes_);
  for (int64_t start : starts) {
    const std::string path = dir + "/" + segment_name(start);
    if (start >= length || start % seg_bytes != 0) {  // past the checkpoint: inserted again
      fs::remove(path, ec);
      continue;
    }
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::from_errno("timer log open " + path, errno);
    log->segments_.push_back({start, fd, -1});
    if (length < start + seg_bytes && ::ftruncate(fd, length - start) != 0) {
      return Status::from_errno("timer log truncate " + path, errno);
    }
  }
  log->end_ = length;
  return log;
}

int64_t TimerLog::begin() const {
  return segments_.empty() ? end_ : segments_.front().start;
}

TimerLog::Segment* TimerLog::segment_of(int64_t pos) {
  return const_cast<Segment*>(std::as_const(*this).segment_of(pos));
}

const TimerLog::Segment* TimerLog::segment_of(int64_t pos) const {
  const int64_t start = pos - pos % static_cast<int64_t>(segment_bytes_);
  auto it = std::lower_bound(segments_.begin(), segments_.end(), start,
                             [](const Segment& s, int64_t v) { return s.start < v; });
  return it != segments_.end() && it->start == start ? &*it : nullptr;
}

Result<TimerLog::Segment*> TimerLog::writable_segment() {
  if (Segment* s = segment_of(end_)) return s;
  const int64_t start = end_ - end_ % static_cast<int64_t>(segment_bytes_);
  const std::string path = dir_ + "/" + segment_name(start);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("timer log create " + path, errno);
  segments_.push_back({start, fd, -1});
  return &segments_.back();
}

Result<int64_t> TimerLog::append(const TimerEntry& e) {
  COMET_ASSIGN_OR_RETURN(Segment * s, writable_segment());
  uint8_t buf[kTimerEntrySize];
  encode_timer_entry(e, buf);
  const int64_t pos = end_;
  COMET_RETURN_IF_ERROR(full_pwrite(s->fd, buf, sizeof buf, pos - s->start));
  s->max_due_ms = std::max(s->max_due_ms, e.due_ms);
  end_ += kTimerEntrySize;
  dirty_ = true;
  return pos;
}

Result<TimerEntry> TimerLog::read(int64_t pos) const {
  const Segment* s = pos >= 0 && pos < end_ ? segment_of(pos) : nullptr;
  if (s == nullptr) return Status::not_found("timer log position " + std::to_string(pos));
  uint8_t buf[kTimerEntrySize];
  COMET_ASSIGN_OR_RETURN(const size_t got, full_pread(s->fd, buf, sizeof buf, pos - s->start));
  auto e = got == sizeof buf ? decode_timer_entry(buf, pos) : std::nullopt;
  if (!e) return Status::corruption("timer log: no entry at " + std::to_string(pos));
  return *e;
}

Status TimerLog::load(const std::function<void(int64_t, const TimerEntry&)>& visit) {
  constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t> buf(kChunk);
  for (Segment& s : segments_) {
    const int64_t seg_end = std::min<int64_t>(end_, s.start + static_cast<int64_t>(segment_bytes_));
    s.max_due_ms = -1;
    for (int64_t at = s.start; at < seg_end;) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(kChunk, seg_end - at));
      COMET_ASSIGN_OR_RETURN(const size_t got, full_pread(s.fd, buf.data(), want, at - s.start));
      for (size_t i = 0; i + kTimerEntrySize <= got; i += kTimerEntrySize) {
        const int64_t pos = at + static_cast<int64_t>(i);
        auto e = decode_timer_entry(buf.data() + i, pos);
        if (!e) continue;  // a hole before the first entry of a log restarted mid-segment
        s.max_due_ms = std::max(s.max_due_ms, e->due_ms);
        visit(pos, *e);
      }
      if (got < want) break;  // the file is shorter: the rest was never written
      at += static_cast<int64_t>(got);
    }
  }
  return Status::ok();
}

Status TimerLog::sync() {
  if (!dirty_) return Status::ok();
  for (const Segment& s : segments_) {
    if (::fdatasync(s.fd) != 0) return Status::from_errno("timer log fdatasync", errno);
  }
  dirty_ = false;
  return Status::ok();
}

std::vector<int> TimerLog::take_sync_handles() {
  std::vector<int> fds;
  if (!dirty_) return fds;
  for (const Segment& s : segments_) {
    const int fd = ::fcntl(s.fd, F_DUPFD_CLOEXEC, 0);
    if (fd >= 0) fds.push_back(fd);
  }
  dirty_ = false;
  return fds;
}

size_t TimerLog::delete_delivered(int64_t delivered_below_ms) {
  size_t deleted = 0;
  while (segments_.size() > 1 && segments_.front().max_due_ms < delivered_below_ms) {
    const Segment s = segments_.front();
    ::close(s.fd);
    std::error_code ec;
    fs::remove(dir_ + "/" + segment_name(s.start), ec);
    if (ec) logger("broker")->warn("timer log: cannot delete a segment: {}", ec.message());
    segments_.erase(segments_.begin());
    ++deleted;
  }
  return deleted;
}

Result<std::optional<TimerCheckpoint>> read_timer_checkpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::optional<TimerCheckpoint>{};
  std::string magic;
  long long q = -1;
  long long len = -1;
  in >> magic >> q >> len;
  if (!in || magic != "timer-checkpoint-v1" || q < 0 || len < 0 ||
      len % static_cast<long long>(kTimerEntrySize) != 0) {
    return Status::corruption("timer checkpoint " + path + " cannot be parsed");
  }
  return std::optional<TimerCheckpoint>{
      TimerCheckpoint{static_cast<uint64_t>(q), static_cast<int64_t>(len)}};
}

Status write_timer_checkpoint(const std::string& path, const TimerCheckpoint& c) {
  const std::string tmp = path + ".tmp";
  const std::string text = "timer-checkpoint-v1 " + std::to_string(c.queue_offset) + " " +
                           std::to_string(c.log_length) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::from_errno("timer checkpoint open", errno);
  Status s = full_pwrite(fd, reinterpret_cast<const uint8_t*>(text.data()), text.size(), 0);
  if (s.is_ok() && ::fsync(fd) != 0) s = Status::from_errno("timer checkpoint fsync", errno);
  ::close(fd);
  if (!s.is_ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::from_errno("timer checkpoint rename", errno);
  }
  return Status::ok();
}

}  // namespace comet::broker
