// CRC32C (Castagnoli), hardware-accelerated with SSE4.2 when the CPU has it. None of comet's
// fixed dependencies exports CRC32C publicly, so it lives here. mask()/unmask() follow
// leveldb: a stored CRC is masked so that a CRC over data containing CRCs stays meaningful.
#pragma once

#include <cstddef>
#include <cstdint>

namespace comet::crc32c {

// Extends `crc` (the CRC of some prefix) with `n` bytes at `data`.
uint32_t extend(uint32_t crc, const void* data, size_t n);
inline uint32_t value(const void* data, size_t n) {
  return extend(0, data, n);
}

// True when the SSE4.2 instruction path is in use.
bool hardware_accelerated();

constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace comet::crc32c
