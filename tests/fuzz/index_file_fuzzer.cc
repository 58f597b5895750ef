// An index file as recovery finds it: arbitrary bytes. The first two bytes pick maxHashSlotNum
// (1..64) and maxIndexNum (2..129), the next file_size() bytes are the file (zero-padded), and
// what follows drives puts, lookups and undos. Validation must refuse or repair without reading
// outside the file; every chain walk ends; a put is found first by its hash; an undo leaves no
// counted entry at or past its cut on top.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "commitlog/index_file.h"

using namespace comet;
using namespace comet::commitlog;

namespace {

[[noreturn]] void fail(const char* what) {
  __builtin_printf("index_file_fuzzer: %s\n", what);
  std::abort();
}

template <typename T>
T take(const uint8_t*& p, const uint8_t* end) {
  T v{};
  const size_t n = std::min<size_t>(sizeof(T), static_cast<size_t>(end - p));
  std::memcpy(&v, p, n);
  p += n;
  return v;
}

size_t walk(const IndexFileView& v, uint32_t hash, uint64_t* first) {
  size_t n = 0;
  v.lookup(hash, [&](uint64_t phy, int64_t) {
    if (n++ == 0 && first != nullptr) *first = phy;
    return true;
  });
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint32_t slots = data[0] % 64 + 1;
  const uint32_t entries = data[1] % 128 + 2;
  std::vector<uint8_t> file(IndexFileView::file_size(slots, entries), 0);
  const size_t from_input = std::min(file.size(), size - 2);
  std::memcpy(file.data(), data + 2, from_input);
  const uint8_t* ops = data + 2 + from_input;
  const uint8_t* end = data + size;

  IndexFileView v({file.data(), file.size()}, slots, entries);
  if (!v.validate_and_repair().is_ok()) return 0;
  const IndexHeader h = v.header();
  if (h.index_count < 1 || h.index_count > entries) fail("validation passed a bad index count");

  for (int n = 0; n < 64 && ops < end; ++n) {
    const uint8_t op = take<uint8_t>(ops, end);
    const uint32_t hash = take<uint8_t>(ops, end);
    if (op % 3 == 0) {
      const uint64_t phy = take<uint16_t>(ops, end);
      if (!v.put(hash, phy, 1'700'000'000'000 + op)) {
        if (v.free_entries() != 0) fail("put refused with room left");
        continue;
      }
      uint64_t first = UINT64_MAX;
      if (walk(v, hash, &first) == 0 || first != phy)
        fail("a put is not the first hit of its hash");
    } else if (op % 3 == 1) {
      if (walk(v, hash, nullptr) > v.header().index_count) fail("a walk outran the entry count");
    } else {
      const uint64_t cut = take<uint16_t>(ops, end);
      v.undo_from(cut);
      if (v.header().end_phy_offset > cut) fail("undo left the covered end past its cut");
    }
  }
  return 0;
}
