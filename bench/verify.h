// What comet-bench compare sends and how it checks it came back: every body names its producer
// and sequence number and carries a CRC32C of itself, so a message read back can be told apart
// from every other and checked without the sender's copy.
//
// Body layout (size >= kMinBodySize): "cmb1" | u32 producer | u64 seq | filler | u32 crc32c of
// everything before it. The filler is a fixed pseudo-random pattern of the run.
//
// The Verifier is the checker in the spirit of OpenMessaging Chaos: it holds what the producers
// were told (acked: SEND_OK) and what reading every queue back found, and reports acked messages
// that were lost, messages found more than once, messages of one producer found out of their send
// order within a queue, corrupt bodies, and whether the content digest of the acked messages
// equals that of the messages read back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace comet::bench {

constexpr size_t kMinBodySize = 24;

struct BodyId {
  uint32_t producer = 0;
  uint64_t seq = 0;
  uint32_t crc = 0;
};

class BodyMaker {
 public:
  BodyMaker(size_t size, uint64_t seed);
  // Writes the body of (producer, seq) into `out` (resized to the body size); returns its CRC.
  uint32_t make(uint32_t producer, uint64_t seq, std::string* out) const;
  // The identity of a body whose CRC checks, nullopt for anything else.
  static std::optional<BodyId> parse(std::string_view body);

 private:
  std::string filler_;
};

struct VerifyReport {
  uint64_t acked = 0;          // sends answered SEND_OK
  uint64_t found = 0;          // distinct messages read back (acked or not)
  uint64_t lost = 0;           // acked, not found
  uint64_t unacked_found = 0;  // found, though their send failed or was not confirmed
  uint64_t duplicated = 0;     // extra copies of messages found more than once
  uint64_t reordered = 0;      // found after a later message of the same producer in its queue
  uint64_t corrupt = 0;        // bodies whose CRC or identity does not check
  uint64_t changed = 0;        // acked, found, but not as sent (another body of the same identity)
  uint64_t acked_digest = 0;   // over the acked messages' identities and CRCs as sent
  uint64_t found_digest = 0;   // the same over the acked messages as read back
  std::vector<std::string> lost_examples;  // up to 5, "producer/seq"
  bool ok() const { return lost == 0 && corrupt == 0 && changed == 0; }
};

class Verifier {
 public:
  Verifier(uint32_t producers, uint64_t per_producer);
  // Thread-safe for distinct messages: a SEND_OK for (producer, seq) with the body's CRC.
  void acked(uint32_t producer, uint64_t seq, uint32_t crc);
  // What found() made of a body: its identity (nullopt: corrupt) and whether it was the first
  // copy of it.
  struct Found {
    std::optional<BodyId> id;
    bool first = false;
  };
  // Reading back, one thread, each queue in offset order.
  Found found(uint32_t queue, std::string_view body);
  VerifyReport report() const;
  uint64_t acked_count() const;
  bool is_acked(uint32_t producer, uint64_t seq) const;
  bool was_found(uint32_t producer, uint64_t seq) const;
  uint32_t producers() const { return producers_; }
  uint64_t per_producer() const { return per_producer_; }
  // Takes over which messages `other` (of the same shape) holds acknowledged.
  void copy_acked_from(const Verifier& other);
  // The index of a valid identity in per-message tables of this shape.
  size_t slot(uint32_t producer, uint64_t seq) const { return producer * per_producer_ + seq; }

 private:
  static constexpr uint64_t kAcked = uint64_t{1} << 32;

  const uint32_t producers_;
  const uint64_t per_producer_;
  std::vector<std::atomic<uint64_t>> acked_;    // kAcked | the body's CRC; 0: not acked
  std::vector<uint8_t> seen_;                   // copies found, saturating
  std::vector<uint32_t> found_crc_;             // the CRC of the copy found first
  std::vector<std::vector<int64_t>> last_seq_;  // [queue][producer]: highest seq found, -1 none
  uint64_t duplicated_ = 0;
  uint64_t reordered_ = 0;
  uint64_t corrupt_ = 0;
};

// What a consumer group was handed while the faults ran: every delivery, from any listener
// thread, checked as a read back is (lost: acked and never delivered; reordered: delivered for the
// first time after a later message of its producer on its queue), and each extra copy told apart:
// a redelivery is the same stored message (queue and queue offset) handed over again (a consumer
// resumed from an offset committed before it); a stored copy is another message of the same
// identity (a producer's retry stored twice).
struct DeliveryReport {
  VerifyReport verify;
  uint64_t deliveries = 0;   // listener calls' messages, copies included
  uint64_t redelivered = 0;  // the same stored message again
  uint64_t stored_copies = 0;
  // Delivered, then not in the log read back: a consumer acted on a message the cluster no
  // longer holds (read before it was replicated, then cut in a failover).
  uint64_t vanished = 0;
  // Acked, never consumed, but in the group's dead-letter queue (a listener failed it every
  // time): not lost, and left out of verify.lost.
  uint64_t dead_lettered = 0;
};

class DeliveryLog {
 public:
  DeliveryLog(uint32_t producers, uint64_t per_producer);
  void delivered(const std::string& broker, uint32_t queue_id, uint64_t queue_offset,
                 std::string_view body);
  // Once the producers are done, with what they were told: waits until every acked message was
  // delivered, or for `timeout`, leaving out those `excused` names (a listener fails them for
  // good). Returns how many acked, not excused messages are still not delivered.
  using Excused = std::function<bool(uint32_t producer, uint64_t seq)>;
  uint64_t wait_for_acked(const Verifier& acked, std::chrono::milliseconds timeout,
                          Excused excused = {});
  // With `read_back` (the log read back once every fault was healed), counts what vanished; with
  // `dead_letters` (the group's DLQ read back), an acked message found there is dead-lettered,
  // not lost.
  DeliveryReport report(const Verifier* read_back = nullptr,
                        const Verifier* dead_letters = nullptr) const;
  // The running counts alone, without checking every message (report() does).
  struct Counts {
    uint64_t deliveries = 0, redelivered = 0;
  };
  Counts counts() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable all_delivered_;
  Verifier verifier_;
  std::map<std::string, uint32_t> queues_;  // "broker/queue" -> index
  std::vector<uint64_t> first_at_;          // queue index << 40 | queue offset of the first copy
  uint64_t deliveries_ = 0, redelivered_ = 0, stored_copies_ = 0;
  std::optional<uint64_t> missing_;  // acked, not delivered; counted once the acks are final
  Excused excused_;
};

}  // namespace comet::bench
