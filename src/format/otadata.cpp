#include "format/otadata.hpp"

#include <algorithm>

#include "crypto/crc32.hpp"

namespace espsec::otadata {

std::string state_name(uint32_t s) {
  switch (s) {
    case state::kNew: return "NEW";
    case state::kPendingVerify: return "PENDING_VERIFY";
    case state::kValid: return "VALID";
    case state::kInvalid: return "INVALID";
    case state::kAborted: return "ABORTED";
    case state::kUndefined: return "UNDEFINED";
    default: return fmt::format("0x{:08x}", s);
  }
}

uint32_t seq_crc(uint32_t ota_seq) {
  uint8_t le[4];
  store_le32(le, ota_seq);
  return crypto::crc32_le(0xFFFFFFFF, ByteSpan(le, 4));
}

Entry Entry::make(uint32_t seq, uint32_t ota_state) {
  Entry e;
  e.ota_seq = seq;
  e.ota_state = ota_state;
  e.crc = seq_crc(seq);
  return e;
}

Entry Entry::with_seq(uint32_t seq) const {
  Entry e = *this;
  e.ota_seq = seq;
  e.crc = seq_crc(seq);
  return e;
}

Entry Entry::with_state(uint32_t new_state) const {
  Entry e = *this;
  e.ota_state = new_state;
  return e;
}

bool Entry::marked_invalid() const {
  return ota_seq == kSeqEmpty || ota_state == state::kInvalid || ota_state == state::kAborted;
}

std::array<uint8_t, kEntrySize> encode(const Entry& entry) {
  std::array<uint8_t, kEntrySize> out{};
  store_le32(out.data(), entry.ota_seq);
  std::copy(entry.seq_label.begin(), entry.seq_label.end(), out.begin() + 4);
  store_le32(out.data() + 24, entry.ota_state);
  store_le32(out.data() + 28, entry.crc);
  return out;
}

Result<Entry> decode(ByteSpan bytes) {
  if (bytes.size() != kEntrySize)
    return fail("otadata.length", "an otadata entry is {} bytes, got {}", kEntrySize, bytes.size());
  Entry e;
  e.ota_seq = load_le32(bytes.data());
  std::copy_n(bytes.begin() + 4, e.seq_label.size(), e.seq_label.begin());
  e.ota_state = load_le32(bytes.data() + 24);
  e.crc = load_le32(bytes.data() + 28);
  return e;
}

std::optional<int> select(const Pair& pair, std::array<bool, 2> usable, bool max) {
  if (usable[0] && usable[1]) {
    const uint32_t pick = max ? std::max(pair[0].ota_seq, pair[1].ota_seq) : std::min(pair[0].ota_seq, pair[1].ota_seq);
    return pick == pair[0].ota_seq ? 0 : 1;
  }
  if (usable[0]) return 0;
  if (usable[1]) return 1;
  return std::nullopt;
}

std::optional<int> active_entry(const Pair& pair) { return select(pair, {pair[0].valid(), pair[1].valid()}, true); }

uint32_t slot_of(uint32_t ota_seq, uint32_t app_count) { return (ota_seq - 1u) % app_count; }

Result<uint32_t> seq_for_slot(uint32_t current_seq, uint32_t slot, uint32_t app_count) {
  if (app_count == 0 || slot >= app_count)
    return fail("otadata.slot", "OTA slot {} does not exist ({} OTA app partitions)", slot, app_count);
  // Never 0: (0 - 1) wraps to 0xFFFFFFFF, which maps to the wanted slot only when app_count is a
  // power of two (IDF returns 0 for current_seq 0 and the last slot).
  const uint64_t floor = std::max<uint64_t>(current_seq, 1);
  const uint64_t base = (uint64_t{slot} + 1) % app_count;
  uint64_t seq = base;
  if (seq < floor) seq += (floor - base + app_count - 1) / app_count * app_count;
  if (seq >= kSeqEmpty)
    return fail("otadata.seq_exhausted",
                "otadata sequence number 0x{:x} has no successor for OTA slot {} below 0xFFFFFFFF (the empty marker)",
                current_seq, slot);
  return static_cast<uint32_t>(seq);
}

}  // namespace espsec::otadata
