#include "remoting/replay_guard.h"

#include <functional>

namespace comet::remoting {

namespace {

uint64_t read_be64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

// A full sweep when the guard is at its cap runs at most this often (each is O(entries)).
constexpr int64_t kFullSweepIntervalMs = 100;

}  // namespace

size_t ReplayGuard::KeyHash::operator()(const KeyView& k) const {
  return std::hash<std::string_view>{}(k.access_key) ^ (k.prefix * 0x9e3779b97f4a7c15ULL);
}

ReplayGuard::ReplayGuard(ReplayGuardOptions options) : options_(options) {}

ReplayGuard::Verdict ReplayGuard::check(std::string_view access_key, std::string_view nonce,
                                        int64_t timestamp_ms, int64_t now_ms) {
  if (nonce.size() != 16) return Verdict::kBadNonce;
  return check(access_key, read_be64(nonce.data()), read_be64(nonce.data() + 8), timestamp_ms,
               now_ms);
}

ReplayGuard::Verdict ReplayGuard::check(std::string_view access_key, uint64_t prefix,
                                        uint64_t counter, int64_t timestamp_ms, int64_t now_ms) {
  auto it = entries_.find(KeyView{access_key, prefix});
  if (it == entries_.end()) return insert(access_key, prefix, counter, timestamp_ms, now_ms);
  if (expired(it->second, now_ms)) {
    // Every request it accepted is past the signature window: start afresh.
    it->second = Entry{};
  }
  return record(it->second, counter, timestamp_ms);
}

ReplayGuard::Verdict ReplayGuard::record(Entry& e, uint64_t counter, int64_t timestamp_ms) {
  constexpr uint64_t kWindow = ReplayGuardOptions::kWindow;
  const bool fresh = e.highest == 0 && e.seen.none();
  if (fresh || counter > e.highest) {
    const uint64_t shift = fresh ? kWindow : counter - e.highest;
    if (shift >= kWindow) {
      e.seen.reset();
    } else {
      e.seen <<= shift;
    }
    e.seen.set(0);
    e.highest = counter;
  } else {
    const uint64_t behind = e.highest - counter;
    if (behind >= kWindow) return Verdict::kTooOld;
    if (e.seen.test(behind)) return Verdict::kReplayed;
    e.seen.set(behind);
  }
  e.newest_timestamp_ms = std::max(e.newest_timestamp_ms, timestamp_ms);
  return Verdict::kAccepted;
}

ReplayGuard::Verdict ReplayGuard::insert(std::string_view access_key, uint64_t prefix,
                                         uint64_t counter, int64_t timestamp_ms, int64_t now_ms) {
  auto account = per_account_.find(std::string(access_key));
  const size_t held = account == per_account_.end() ? 0 : account->second;
  const bool full =
      entries_.size() >= options_.max_prefixes || held >= options_.max_prefixes_per_account;
  if (full && now_ms - last_full_sweep_ms_ >= kFullSweepIntervalMs) {
    last_full_sweep_ms_ = now_ms;
    expire(now_ms);
    account = per_account_.find(std::string(access_key));
  }
  const size_t held_now = account == per_account_.end() ? 0 : account->second;
  if (entries_.size() >= options_.max_prefixes || held_now >= options_.max_prefixes_per_account) {
    return Verdict::kFull;
  }
  Entry e;
  e.newest_timestamp_ms = timestamp_ms;
  const Verdict v = record(e, counter, timestamp_ms);
  entries_.emplace(Key{std::string(access_key), prefix}, e);
  ++per_account_[std::string(access_key)];
  return v;
}

size_t ReplayGuard::expire(int64_t now_ms) {
  size_t forgotten = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!expired(it->second, now_ms)) {
      ++it;
      continue;
    }
    auto account = per_account_.find(it->first.access_key);
    if (account != per_account_.end() && --account->second == 0) per_account_.erase(account);
    it = entries_.erase(it);
    ++forgotten;
  }
  return forgotten;
}

}  // namespace comet::remoting
