// Big-endian integers for the RocketMQ codecs (remoting/rocketmq_*.cc): appenders, and a reader
// over a byte range that refuses to read past its end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace comet::remoting::rocketmq::detail {

template <typename T>
void put_be(std::string& out, T v) {
  auto u = static_cast<std::make_unsigned_t<T>>(v);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) {
    bytes[i] = static_cast<char>((u >> (8 * (sizeof(T) - 1 - i))) & 0xff);
  }
  out.append(bytes, sizeof(T));
}

template <typename T>
T get_be(const uint8_t* p) {
  std::make_unsigned_t<T> u = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    u = static_cast<decltype(u)>((u << 8) | p[i]);
  return static_cast<T>(u);
}

// Reads fields in order; once a read would pass the end, `ok()` is false and every later read
// returns zero / an empty view, so a decoder checks once per record.
class BeReader {
 public:
  explicit BeReader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), left_(bytes.size()) {}

  template <typename T>
  T read() {
    if (!take(sizeof(T))) return T{};
    T v = get_be<T>(p_);
    p_ += sizeof(T);
    left_ -= sizeof(T);
    return v;
  }
  // `n` bytes as a view; a negative or too large `n` fails the reader.
  std::string_view bytes(int64_t n) {
    if (n < 0 || !take(static_cast<size_t>(n))) {
      ok_ = false;
      return {};
    }
    std::string_view v(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    left_ -= static_cast<size_t>(n);
    return v;
  }
  bool ok() const { return ok_; }
  size_t left() const { return left_; }
  const uint8_t* position() const { return p_; }

 private:
  bool take(size_t n) {
    if (!ok_ || n > left_) ok_ = false;
    return ok_;
  }

  const uint8_t* p_;
  size_t left_;
  bool ok_ = true;
};

}  // namespace comet::remoting::rocketmq::detail
