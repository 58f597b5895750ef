// File I/O for files that hold data only where written: ConsumeQueue segments are created at
// their full size as holes and cost disk blocks only for the units written into them, as
// RocketMQ's sparse files do. Everything goes through descriptors opened for the call and closed
// before it returns, so a store of tens of thousands of such files holds none of them open.
// Writes with pwrite, not through a mapping: a full disk is an ENOSPC from the write, never a
// SIGBUS on a store into a hole.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace comet::commitlog {

// Creates `path` as a file of `size` bytes of holes (or extends a shorter one the same way).
// A longer file is an error. `*was_short` (optional) says whether an existing file was extended.
Status create_sparse_file(const std::string& path, uint64_t size, bool* was_short = nullptr);
// Writes all of `bytes` at `pos`; with `sync`, fdatasyncs the file too.
Status write_file_at(const std::string& path, uint64_t pos, const uint8_t* bytes, size_t n,
                     bool sync);
// fdatasyncs the file.
Status sync_file(const std::string& path);
// syncfs() of the file system holding `path`: one call for many files written since.
Status sync_file_system(const std::string& path);
// Reads `n` bytes at `pos`; bytes past the end of the file read as zeroes.
Status read_file_at(const std::string& path, uint64_t pos, uint8_t* out, size_t n);
// Makes [from, to) read as zeroes (punching a hole where the file system can; writing zeroes
// over what holds data where it cannot) and syncs the file.
Status zero_file_range(const std::string& path, uint64_t from, uint64_t to);
// The offset just past the last non-zero byte of the file (0 when it holds none), reading only
// where it holds data.
Result<uint64_t> end_of_data(const std::string& path);
// The ranges of [from, to) of the open file `fd` that may hold data (SEEK_DATA/SEEK_HOLE), in
// order; all of [from, to) where the file system cannot tell.
std::vector<std::pair<uint64_t, uint64_t>> data_ranges(int fd, uint64_t from, uint64_t to);

}  // namespace comet::commitlog
