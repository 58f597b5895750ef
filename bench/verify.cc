#include "bench/verify.h"

#include <cstring>
#include <random>

#include "common/crc32c.h"

namespace comet::bench {
namespace {

constexpr char kMagic[4] = {'c', 'm', 'b', '1'};

template <typename T>
void put(char* at, T v) {
  std::memcpy(at, &v, sizeof(v));
}
template <typename T>
T get(const char* at) {
  T v;
  std::memcpy(&v, at, sizeof(v));
  return v;
}

// A digest that does not depend on the order the messages were seen in.
uint64_t mix(uint32_t producer, uint64_t seq, uint32_t crc) {
  uint64_t x = (seq * 0x9e3779b97f4a7c15ULL) ^ (uint64_t{producer} << 32) ^ crc;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 29);
}

}  // namespace

BodyMaker::BodyMaker(size_t size, uint64_t seed) {
  const size_t n = size < kMinBodySize ? kMinBodySize : size;
  filler_.resize(n - kMinBodySize);
  std::mt19937_64 rng(seed);
  for (char& c : filler_)
    c = static_cast<char>('a' + rng() % 26);
}

uint32_t BodyMaker::make(uint32_t producer, uint64_t seq, std::string* out) const {
  out->resize(filler_.size() + kMinBodySize);
  char* p = out->data();
  std::memcpy(p, kMagic, 4);
  put(p + 4, producer);
  put(p + 8, seq);
  std::memcpy(p + 16, filler_.data(), filler_.size());
  const size_t crc_at = out->size() - 4;
  const uint32_t crc = crc32c::value(p, crc_at);
  put(p + crc_at, crc);
  return crc;
}

std::optional<BodyId> BodyMaker::parse(std::string_view body) {
  if (body.size() < kMinBodySize || std::memcmp(body.data(), kMagic, 4) != 0) return std::nullopt;
  const size_t crc_at = body.size() - 4;
  const uint32_t crc = get<uint32_t>(body.data() + crc_at);
  if (crc32c::value(body.data(), crc_at) != crc) return std::nullopt;
  return BodyId{get<uint32_t>(body.data() + 4), get<uint64_t>(body.data() + 8), crc};
}

Verifier::Verifier(uint32_t producers, uint64_t per_producer)
    : producers_(producers),
      per_producer_(per_producer),
      acked_(producers * per_producer),
      seen_(producers * per_producer, 0),
      found_crc_(producers * per_producer, 0) {}

void Verifier::acked(uint32_t producer, uint64_t seq, uint32_t crc) {
  if (producer >= producers_ || seq >= per_producer_) return;
  acked_[slot(producer, seq)].store(kAcked | crc, std::memory_order_relaxed);
}

uint64_t Verifier::acked_count() const {
  uint64_t n = 0;
  for (const auto& a : acked_)
    n += a.load(std::memory_order_relaxed) != 0;
  return n;
}

bool Verifier::is_acked(uint32_t producer, uint64_t seq) const {
  return producer < producers_ && seq < per_producer_ &&
         acked_[slot(producer, seq)].load(std::memory_order_relaxed) != 0;
}

bool Verifier::was_found(uint32_t producer, uint64_t seq) const {
  return producer < producers_ && seq < per_producer_ && seen_[slot(producer, seq)] > 0;
}

void Verifier::copy_acked_from(const Verifier& other) {
  for (size_t i = 0; i < acked_.size() && i < other.acked_.size(); ++i)
    acked_[i].store(other.acked_[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
}

Verifier::Found Verifier::found(uint32_t queue, std::string_view body) {
  auto id = BodyMaker::parse(body);
  if (!id || id->producer >= producers_ || id->seq >= per_producer_) {
    ++corrupt_;
    return {};
  }
  uint8_t& seen = seen_[slot(id->producer, id->seq)];
  if (seen > 0) {
    ++duplicated_;
    if (seen < 255) ++seen;
    return {id, false};
  }
  seen = 1;
  found_crc_[slot(id->producer, id->seq)] = id->crc;
  if (last_seq_.size() <= queue) last_seq_.resize(queue + 1);
  auto& last = last_seq_[queue];
  if (last.empty()) last.assign(producers_, -1);
  int64_t& prev = last[id->producer];
  const auto seq = static_cast<int64_t>(id->seq);
  if (seq < prev) {
    ++reordered_;
  } else {
    prev = seq;
  }
  return {id, true};
}

VerifyReport Verifier::report() const {
  VerifyReport r;
  r.duplicated = duplicated_;
  r.reordered = reordered_;
  r.corrupt = corrupt_;
  for (uint32_t p = 0; p < producers_; ++p) {
    for (uint64_t s = 0; s < per_producer_; ++s) {
      const size_t i = slot(p, s);
      const uint64_t acked = acked_[i].load(std::memory_order_relaxed);
      const bool seen = seen_[i] > 0;
      r.found += seen;
      if (acked == 0) {
        r.unacked_found += seen;
        continue;
      }
      ++r.acked;
      r.acked_digest += mix(p, s, static_cast<uint32_t>(acked));
      if (seen) {
        r.found_digest += mix(p, s, found_crc_[i]);
        r.changed += found_crc_[i] != static_cast<uint32_t>(acked);
      } else {
        ++r.lost;
        if (r.lost_examples.size() < 5) {
          r.lost_examples.push_back(std::to_string(p) + "/" + std::to_string(s));
        }
      }
    }
  }
  return r;
}

DeliveryLog::DeliveryLog(uint32_t producers, uint64_t per_producer)
    : verifier_(producers, per_producer), first_at_(producers * per_producer, ~uint64_t{0}) {}

void DeliveryLog::delivered(const std::string& broker, uint32_t queue_id, uint64_t queue_offset,
                            std::string_view body) {
  std::lock_guard lock(mu_);
  ++deliveries_;
  const auto it = queues_
                      .try_emplace(broker + "/" + std::to_string(queue_id),
                                   static_cast<uint32_t>(queues_.size()))
                      .first;
  const uint64_t at = uint64_t{it->second} << 40 | (queue_offset & ((uint64_t{1} << 40) - 1));
  const Verifier::Found f = verifier_.found(it->second, body);
  if (!f.id) return;  // corrupt: the verifier counts it
  uint64_t& first_at = first_at_[verifier_.slot(f.id->producer, f.id->seq)];
  if (!f.first) {
    (first_at == at ? redelivered_ : stored_copies_)++;
    return;
  }
  first_at = at;
  if (missing_ && *missing_ > 0 && verifier_.is_acked(f.id->producer, f.id->seq) &&
      !(excused_ && excused_(f.id->producer, f.id->seq))) {
    if (--*missing_ == 0) all_delivered_.notify_all();
  }
}

uint64_t DeliveryLog::wait_for_acked(const Verifier& acked, std::chrono::milliseconds timeout,
                                     Excused excused) {
  std::unique_lock lock(mu_);
  verifier_.copy_acked_from(acked);
  excused_ = std::move(excused);
  uint64_t missing = 0;
  for (uint32_t p = 0; p < verifier_.producers(); ++p) {
    for (uint64_t s = 0; s < verifier_.per_producer(); ++s) {
      missing +=
          verifier_.is_acked(p, s) && !verifier_.was_found(p, s) && !(excused_ && excused_(p, s));
    }
  }
  missing_ = missing;
  all_delivered_.wait_for(lock, timeout, [&] { return *missing_ == 0; });
  return *missing_;
}

DeliveryLog::Counts DeliveryLog::counts() const {
  std::lock_guard lock(mu_);
  return {deliveries_, redelivered_};
}

DeliveryReport DeliveryLog::report(const Verifier* read_back, const Verifier* dead_letters) const {
  std::lock_guard lock(mu_);
  DeliveryReport r;
  if (read_back != nullptr) {
    for (uint32_t p = 0; p < verifier_.producers(); ++p) {
      for (uint64_t s = 0; s < verifier_.per_producer(); ++s)
        r.vanished += verifier_.was_found(p, s) && !read_back->was_found(p, s);
    }
  }
  r.verify = verifier_.report();
  if (dead_letters != nullptr) {
    r.verify.lost_examples.clear();
    for (uint32_t p = 0; p < verifier_.producers(); ++p) {
      for (uint64_t s = 0; s < verifier_.per_producer(); ++s) {
        if (!verifier_.is_acked(p, s) || verifier_.was_found(p, s)) continue;
        if (dead_letters->was_found(p, s)) {
          ++r.dead_lettered;
          --r.verify.lost;
        } else if (r.verify.lost_examples.size() < 5) {
          r.verify.lost_examples.push_back(std::to_string(p) + "/" + std::to_string(s));
        }
      }
    }
  }
  r.deliveries = deliveries_;
  r.redelivered = redelivered_;
  r.stored_copies = stored_copies_;
  return r;
}

}  // namespace comet::bench
