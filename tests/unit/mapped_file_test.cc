// Segment warming: a new segment is pre-faulted writable only a window ahead of its writer,
// never whole (warmed pages are dirty zeroes the kernel writes back), the allocator thread moves
// the window on, and faults the rest of the segment in clean when it is idle. Residency is read
// with mincore(2): a page of a freshly allocated file is in the page cache only if something
// faulted it in, or read ahead of a fault (zeroes, clean: up to twice the device's read_ahead_kb
// under MADV_SEQUENTIAL, 16 MiB here), so "cold" is checked from kSlack past the warmed end.
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "commitlog/allocate_service.h"
#include "commitlog/mapped_file.h"
#include "test_util.h"

namespace comet::commitlog {
namespace {

using comet::testing::TempDir;

constexpr uint64_t kWindow = MappedFile::kWarmWindow;
constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSlack = 32 * kMiB;  // read-ahead

// How many of the pages of [from, upto) are resident.
uint64_t resident_pages(const MappedFile& f, uint64_t from, uint64_t upto) {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((upto - from + page - 1) / page);
  EXPECT_EQ(::mincore(f.data() + from, upto - from, vec.data()), 0);
  uint64_t n = 0;
  for (unsigned char v : vec)
    n += v & 1;
  return n;
}

uint64_t pages(uint64_t bytes) {
  return bytes / static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST(MappedFileWarm, ANewSegmentIsWarmedOnlyOneWindowAhead) {
  TempDir dir;
  auto f = MappedFile::create(dir.path() + "/seg", 0, 3 * kWindow, true);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ((*f)->warmed_to(), kWindow);
  EXPECT_EQ(resident_pages(**f, 0, kWindow), pages(kWindow));
  EXPECT_EQ(resident_pages(**f, kWindow + kSlack, (*f)->size()), 0u);

  auto cold = MappedFile::create(dir.path() + "/cold", 0, 16 * kMiB, false);
  ASSERT_TRUE(cold.is_ok());
  EXPECT_EQ((*cold)->warmed_to(), 0u);
  EXPECT_EQ(resident_pages(**cold, 0, 16 * kMiB), 0u);
}

TEST(MappedFileWarm, TheWriterAsksForTheNextWindowOnceAQuarterOfTheLastIsUsed) {
  TempDir dir;
  const uint64_t size = 3 * kWindow;
  auto made = MappedFile::create(dir.path() + "/seg", 0, size, true);
  ASSERT_TRUE(made.is_ok());
  MappedFile& f = **made;
  EXPECT_EQ(f.warm_request(0), 0u);            // the first window is warm already
  EXPECT_EQ(f.warm_request(kWindow / 4), 0u);  // three quarters of it ahead: not yet
  const uint64_t pos = kWindow / 4 + 4096;
  EXPECT_EQ(f.warm_request(pos), pos + kWindow);  // now, one window past the writer
  EXPECT_EQ(f.warm_request(pos + 4096), 0u);      // asked once
  // Near the end the window stops at the segment's end, and then nothing more is asked.
  EXPECT_EQ(f.warm_request(size - kWindow / 4), size);
  EXPECT_EQ(f.warm_request(size - 1), 0u);

  // Warming skips what is warm already and stops at the segment's end.
  f.warm(pos, pos + kWindow);
  EXPECT_EQ(f.warmed_to(), pos + kWindow);
  EXPECT_EQ(resident_pages(f, 0, pos + kWindow), pages(pos + kWindow));
  EXPECT_EQ(resident_pages(f, pos + kWindow + kSlack, size), 0u);
  f.warm(size - 16 * kMiB, size + kWindow);
  EXPECT_EQ(f.warmed_to(), size);
}

TEST(MappedFileWarm, WarmingAReopenedSegmentLeavesThePagesBehindTheWriterAlone) {
  // A segment mapped again after a restart: its written part is data, not to be dirtied again.
  TempDir dir;
  auto f = MappedFile::create(dir.path() + "/seg", 0, 64 * kMiB, false);
  ASSERT_TRUE(f.is_ok());
  (*f)->warm(8 * kMiB + 100, 16 * kMiB);  // the writer is inside a page: that page on
  EXPECT_EQ(resident_pages(**f, 0, 8 * kMiB), 0u);
  EXPECT_EQ(resident_pages(**f, 8 * kMiB, 16 * kMiB), pages(8 * kMiB));
  EXPECT_EQ(resident_pages(**f, 16 * kMiB + kSlack, 64 * kMiB), 0u);
}

TEST(MappedFileWarm, AWindowThatStartsInsideAPageIsWarmedByTheKernelNotPageByPage) {
  // The writer's positions are not page-aligned, and madvise() refuses an unaligned start
  // (EINVAL). Warming once fell back to touching every page of every window itself.
  {
    void* probe = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(probe, MAP_FAILED);
    const bool supported = ::madvise(probe, 4096, 23 /* MADV_POPULATE_WRITE */) == 0;
    ::munmap(probe, 4096);
    if (!supported) GTEST_SKIP() << "this kernel has no MADV_POPULATE_WRITE (Linux < 5.14)";
  }
  TempDir dir;
  auto made = MappedFile::create(dir.path() + "/seg", 0, 3 * kWindow, true);
  ASSERT_TRUE(made.is_ok());
  MappedFile& f = **made;
  const uint64_t before = MappedFile::pages_touched_one_by_one();
  // Two windows in a row, as a writer asks for them: each starts where the last one ended.
  uint64_t pos = kWindow / 4 + 1000;  // inside a page, as a writer is
  uint64_t upto = 0;
  for (int i = 0; i < 2; ++i, pos += kWindow / 4 + 1000) {
    upto = f.warm_request(pos);
    ASSERT_EQ(upto, pos + kWindow);
    f.warm(pos, upto);
  }
  EXPECT_EQ(MappedFile::pages_touched_one_by_one(), before);
  // The whole page holding the end is warm.
  const uint64_t page_end = (upto + 4095) / 4096 * 4096;
  EXPECT_EQ(f.warmed_to(), page_end);
  EXPECT_EQ(resident_pages(f, 0, page_end), pages(page_end));
}

TEST(MappedFileTruncate, CuttingReadsOnlyWhereTheFileHasData) {
  // Data at the head and one page far out, nothing between: the cut zeroes both, and the
  // never-written space between them is not read into the page cache.
  TempDir dir;
  auto made = MappedFile::create(dir.path() + "/seg", 0, 3 * kWindow, false);
  ASSERT_TRUE(made.is_ok());
  MappedFile& f = **made;
  const uint64_t far = 2 * kWindow + 40 * 4096;
  std::memset(f.data(), 'x', kMiB);
  std::memset(f.data() + far, 'y', 4096);
  f.set_write_pos(far + 4096);
  ASSERT_TRUE(f.zero_from(kMiB / 2 + 7).is_ok());
  EXPECT_EQ(f.write_pos(), kMiB / 2 + 7);
  EXPECT_EQ(std::count(f.data(), f.data() + kMiB / 2 + 7, 'x'), static_cast<long>(kMiB / 2 + 7));
  EXPECT_EQ(std::count(f.data() + kMiB / 2 + 7, f.data() + kMiB, 0),
            static_cast<long>(kMiB / 2 - 7));
  EXPECT_EQ(std::count(f.data() + far, f.data() + far + 4096, 0), 4096);
  EXPECT_EQ(resident_pages(f, kMiB + kSlack, 2 * kWindow), 0u);
}

TEST(AllocateServiceWarm, TheActiveSegmentIsWarmedBeforeTheNextIsMade) {
  TempDir dir;
  AllocateService svc(true);
  auto active = MappedFile::create(dir.path() + "/a", 0, 2 * kWindow, false);
  ASSERT_TRUE(active.is_ok());
  // A later request replaces one not yet started (or follows it): the window's pages are warm
  // by the time the allocator has made the next segment.
  svc.warm(*active, 0, 4 * kMiB);
  svc.warm(*active, 0, kWindow);
  const std::string next = dir.path() + "/b";
  svc.prefetch(next, 2 * kWindow, 2 * kWindow);
  auto b = svc.take(next, 2 * kWindow, 2 * kWindow, "", 0);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ((*active)->warmed_to(), kWindow);
  EXPECT_EQ(resident_pages(**active, 0, kWindow), pages(kWindow));
  EXPECT_EQ(resident_pages(**active, kWindow + kSlack, 2 * kWindow), 0u);
  // The segment made in the background has its first window warm, and no more.
  EXPECT_EQ((*b)->warmed_to(), kWindow);
}

TEST(AllocateServiceWarm, TheRestOfANewSegmentIsFaultedInWhenTheAllocatorIsIdle) {
  // Zero-filling fresh pages is the costly part of a first touch: it is done ahead, in the
  // background, for the whole segment (clean pages: nothing to write back), so neither warming
  // nor the writer pays it.
  TempDir dir;
  AllocateService svc(true);
  const std::string path = dir.path() + "/a";
  svc.prefetch(path, 0, 3 * kWindow);
  auto a = svc.take(path, 0, 3 * kWindow, "", 0);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  svc.wait_idle();
  EXPECT_EQ(resident_pages(**a, 0, 3 * kWindow), pages(3 * kWindow));
  EXPECT_EQ((*a)->warmed_to(), kWindow);  // written-to (dirty) only as far as the warm window

  // Without pre-faulting (warmMapedFileEnable=false), nothing is filled.
  AllocateService cold(false);
  const std::string cold_path = dir.path() + "/b";
  cold.prefetch(cold_path, 0, 3 * kWindow);
  auto b = cold.take(cold_path, 0, 3 * kWindow, "", 0);
  ASSERT_TRUE(b.is_ok());
  cold.wait_idle();
  EXPECT_EQ(resident_pages(**b, 0, 3 * kWindow), 0u);
}

}  // namespace
}  // namespace comet::commitlog
