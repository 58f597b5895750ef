#include "common/process_usage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>

namespace comet {
namespace {

std::string proc_path(pid_t pid, std::string_view leaf) {
  return "/proc/" + std::to_string(pid) + "/" + std::string(leaf);
}

int64_t kib_field(const std::string& line, std::string_view key) {
  return line.rfind(key, 0) == 0 ? std::stoll(line.substr(key.size())) : -1;
}

}  // namespace

ProcessUsage read_process_usage(pid_t pid) {
  ProcessUsage u;
  std::ifstream status(proc_path(pid, "status"));
  for (std::string line; std::getline(status, line);) {
    if (int64_t v = kib_field(line, "VmRSS:"); v >= 0) u.vm_rss_kib = v;
    if (int64_t v = kib_field(line, "RssAnon:"); v >= 0) u.rss_anon_kib = v;
    if (int64_t v = kib_field(line, "RssFile:"); v >= 0) u.rss_file_kib = v;
    if (int64_t v = kib_field(line, "VmHWM:"); v >= 0) u.vm_hwm_kib = v;
  }
  std::error_code ec;
  int64_t fds = 0;
  for (std::filesystem::directory_iterator it(proc_path(pid, "fd"), ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  if (!ec) u.open_fds = fds;
  std::ifstream maps(proc_path(pid, "maps"));
  if (maps) {
    int64_t n = 0;
    for (std::string line; std::getline(maps, line);)
      ++n;
    u.mappings = n;
  }
  return u;
}

double process_cpu_seconds(pid_t pid) {
  std::ifstream in(proc_path(pid, "stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15.
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int field = 3; field < 14; ++field)
    fields >> skip;
  unsigned long long utime = 0, stime = 0;
  fields >> utime >> stime;
  static const long ticks = ::sysconf(_SC_CLK_TCK);
  return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

int64_t process_rss_anon_kib(pid_t pid) {
  return read_process_usage(pid).rss_anon_kib;
}

uint64_t disk_bytes_under(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

}  // namespace comet
