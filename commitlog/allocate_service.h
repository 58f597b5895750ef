// Creates segments in the background so that rolling to a new segment on the append path
// finds it allocated and its head pre-faulted (RocketMQ's AllocateMappedFileService), keeps the
// active segment pre-faulted a window ahead of the writer (MappedFile::warm), and, when it has
// nothing else to do, faults the rest of each new segment in clean (MappedFile::fill). One
// thread; its work in that order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "commitlog/mapped_file.h"

namespace comet::commitlog {

class AllocateService {
 public:
  explicit AllocateService(bool prefault);
  ~AllocateService();  // stops the thread and removes segments made but never taken

  // Returns the segment for `path`: the one made in the background if it was requested
  // (waiting for it if still in progress), otherwise made now. Then requests `next_path`.
  Result<MappedFilePtr> take(const std::string& path, uint64_t start_offset, uint64_t size,
                             const std::string& next_path, uint64_t next_start_offset);
  // Drops every prefetched segment (their files too): the log moved somewhere else.
  void discard_all();
  // Starts making the segment for `path` in the background, for a later take().
  void prefetch(const std::string& path, uint64_t start_offset, uint64_t size);
  // Warms `file` over [from, upto) in the background (MappedFile::warm). A later request
  // replaces one not yet started: only the writer's latest window matters.
  void warm(MappedFilePtr file, uint64_t from, uint64_t upto);
  // Returns once nothing is queued or in progress (tests, benchmarks).
  void wait_idle();

 private:
  struct Fill {
    MappedFilePtr file;
    uint64_t from = 0;
  };
  struct Warm {
    MappedFilePtr file;
    uint64_t from = 0;
    uint64_t upto = 0;
  };
  struct Request {
    std::string path;
    uint64_t start_offset = 0;
    uint64_t size = 0;
    bool done = false;
    Result<MappedFilePtr> result = Status::unavailable("not made yet");
  };
  void run();
  void enqueue_locked(const std::string& path, uint64_t start_offset, uint64_t size);

  const bool prefault_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Request> requests_;
  std::deque<std::string> queue_;
  Warm warm_;  // pending when warm_.file is set
  std::deque<Fill> fills_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace comet::commitlog
