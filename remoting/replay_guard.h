// Refuses a signed request seen before (docs/security.md), I/O-free and single-threaded (the
// gate shards it behind locks).
//
// A comet nonce is an 8-byte prefix, random per signer, then an 8-byte counter the signer counts
// up from 1. Per (access key, prefix) the guard keeps the highest counter accepted and a bitmap
// of the `window` counters below it, so requests that concurrent senders put slightly out of
// order still pass once each; a counter at or below highest - window is refused (it cannot be
// told from a replay). An entry is forgotten once every request it accepted is older than the
// signature window (a replay of one would be refused by its timestamp), so memory follows the
// signers active in the last window. At the caps (prefixes in all, prefixes per account) a new
// prefix is refused (kFull, which the gate logs) rather than forgetting a live one: a replay of
// a forgotten entry's requests would pass.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace comet::remoting {

struct ReplayGuardOptions {
  // Counters below the highest one still accepted once (out-of-order arrival).
  static constexpr uint32_t kWindow = 1024;
  // A request's timestamp may be this far from the server's clock (aclSignatureWindowMs).
  int64_t signature_window_ms = 300'000;
  size_t max_prefixes = 1 << 16;
  size_t max_prefixes_per_account = 1 << 12;
};

class ReplayGuard {
 public:
  enum class Verdict {
    kAccepted,
    kReplayed,  // this counter was accepted before
    kTooOld,    // at or below highest - window: refused as a possible replay
    kFull,      // a new prefix while the guard (or the account) holds its cap
    kBadNonce,  // not 16 bytes
  };

  explicit ReplayGuard(ReplayGuardOptions options = {});

  // Records and accepts (access_key, nonce) once; `timestamp_ms` is the request's (already
  // checked to be within the signature window of `now_ms`).
  Verdict check(std::string_view access_key, std::string_view nonce, int64_t timestamp_ms,
                int64_t now_ms);
  Verdict check(std::string_view access_key, uint64_t prefix, uint64_t counter,
                int64_t timestamp_ms, int64_t now_ms);

  // Forgets entries whose requests are all older than the signature window; returns how many.
  size_t expire(int64_t now_ms);

  size_t prefixes() const { return entries_.size(); }
  const ReplayGuardOptions& options() const { return options_; }

 private:
  struct Key {
    std::string access_key;
    uint64_t prefix = 0;
  };
  struct KeyView {
    std::string_view access_key;
    uint64_t prefix = 0;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const KeyView& k) const;
    size_t operator()(const Key& k) const { return (*this)(KeyView{k.access_key, k.prefix}); }
  };
  struct KeyEq {
    using is_transparent = void;
    static KeyView view(const Key& k) { return {k.access_key, k.prefix}; }
    static KeyView view(const KeyView& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const KeyView x = view(a), y = view(b);
      return x.prefix == y.prefix && x.access_key == y.access_key;
    }
  };
  struct Entry {
    uint64_t highest = 0;
    // Bit i: counter highest - i was accepted.
    std::bitset<ReplayGuardOptions::kWindow> seen;
    int64_t newest_timestamp_ms = 0;
  };

  bool expired(const Entry& e, int64_t now_ms) const {
    return now_ms > e.newest_timestamp_ms + options_.signature_window_ms;
  }
  static Verdict record(Entry& e, uint64_t counter, int64_t timestamp_ms);
  Verdict insert(std::string_view access_key, uint64_t prefix, uint64_t counter,
                 int64_t timestamp_ms, int64_t now_ms);

  ReplayGuardOptions options_;
  std::unordered_map<Key, Entry, KeyHash, KeyEq> entries_;
  std::unordered_map<std::string, size_t> per_account_;
  int64_t last_full_sweep_ms_ = -(int64_t{1} << 62);  // long ago
};

}  // namespace comet::remoting
