// What a process costs the machine, read from /proc/<pid>: CPU time, resident memory by kind,
// open descriptors and memory mappings. Shared by comet-bench's reports and the tests that bound
// a broker's footprint; and the disk blocks a directory tree really holds (sparse files count
// only what is allocated). A process that is gone reads as -1 (or 0 CPU seconds).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace comet {

struct ProcessUsage {
  int64_t vm_rss_kib = -1;    // VmRSS: all resident memory
  int64_t rss_anon_kib = -1;  // RssAnon: heap, stacks, anonymous mappings
  int64_t rss_file_kib = -1;  // RssFile: file pages mapped in (the store's segments)
  int64_t vm_hwm_kib = -1;    // VmHWM: peak resident set
  int64_t open_fds = -1;      // entries of /proc/<pid>/fd
  int64_t mappings = -1;      // lines of /proc/<pid>/maps (what vm.max_map_count bounds)
};

ProcessUsage read_process_usage(pid_t pid);
// utime + stime in seconds.
double process_cpu_seconds(pid_t pid);
int64_t process_rss_anon_kib(pid_t pid);
// Bytes of disk allocated to the regular files under `path` (st_blocks * 512, summed): what `du`
// says, not the files' sizes. 0 for a missing path.
uint64_t disk_bytes_under(const std::string& path);

}  // namespace comet
