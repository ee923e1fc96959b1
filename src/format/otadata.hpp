// The otadata partition (type data, subtype ota): which OTA app slot boots next.
// Pure codec and selection rules; integers little-endian. Boot-chain fact sheet 6,
// storage-and-ota fact sheet 5.2; ESP-IDF esp_flash_partitions.h (esp_ota_select_entry_t),
// bootloader_common_loader.c (CRC, validity, selection), esp_ota_ops.c (sequence numbers).
//
// Partition (exactly 0x2000 bytes, two 4 KiB sectors; each write erases one sector):
//   0x0000  entry 0 (32) | FF ... to 0x1000
//   0x1000  entry 1 (32) | FF ... to 0x2000
//
// Entry (esp_ota_select_entry_t):
//   0   ota_seq    4   LE32, 1-based; 0xFFFFFFFF = empty
//   4   seq_label  20  unused (kept as read)
//   24  ota_state  4   LE32: NEW 0, PENDING_VERIFY 1, VALID 2, INVALID 3, ABORTED 4, UNDEFINED 0xFFFFFFFF
//   28  crc        4   LE32 = esp_rom_crc32_le(0xFFFFFFFF, ota_seq bytes): seq 1 -> 0x4743989A
//
// Slot of a sequence number = (ota_seq - 1) mod (number of OTA app partitions).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::otadata {

inline constexpr size_t kEntrySize = 32;
inline constexpr uint32_t kSectorSize = 0x1000;
inline constexpr uint32_t kPartitionSize = 2 * kSectorSize;
inline constexpr uint32_t kSeqEmpty = 0xFFFFFFFF;

// esp_ota_img_states_t. The field on flash may hold any value; these are the ones IDF writes.
namespace state {
inline constexpr uint32_t kNew = 0x0;
inline constexpr uint32_t kPendingVerify = 0x1;
inline constexpr uint32_t kValid = 0x2;
inline constexpr uint32_t kInvalid = 0x3;
inline constexpr uint32_t kAborted = 0x4;
inline constexpr uint32_t kUndefined = 0xFFFFFFFF;
}  // namespace state

// "NEW", "PENDING_VERIFY", ..., or "0x%08x" for a value IDF never writes.
std::string state_name(uint32_t state);

// esp_rom_crc32_le(UINT32_MAX, &ota_seq, 4) (bootloader_common_ota_select_crc).
uint32_t seq_crc(uint32_t ota_seq);

struct Entry {
  uint32_t ota_seq = kSeqEmpty;
  std::array<uint8_t, 20> seq_label = filled_label();
  uint32_t ota_state = state::kUndefined;
  uint32_t crc = 0xFFFFFFFF;

  // An entry as IDF writes a fresh one: label 0xFF, CRC of `seq`.
  static Entry make(uint32_t seq, uint32_t ota_state);
  // Same entry with a new sequence number and its CRC (esp_ota_ops rewrite_ota_seq).
  Entry with_seq(uint32_t seq) const;
  Entry with_state(uint32_t new_state) const;

  bool crc_matches() const { return crc == seq_crc(ota_seq); }
  // bootloader_common_ota_select_invalid: empty, or marked INVALID / ABORTED (CRC not looked at).
  bool marked_invalid() const;
  // bootloader_common_ota_select_valid: not marked invalid and the CRC matches.
  bool valid() const { return !marked_invalid() && crc_matches(); }
  // Empty or bad CRC: what the bootloader calls "initial contents".
  bool blank_or_corrupt() const { return ota_seq == kSeqEmpty || !crc_matches(); }

  friend bool operator==(const Entry&, const Entry&) = default;

 private:
  static constexpr std::array<uint8_t, 20> filled_label() {
    std::array<uint8_t, 20> a{};
    a.fill(0xFF);
    return a;
  }
};

std::array<uint8_t, kEntrySize> encode(const Entry& entry);
// Any 32 bytes decode (flash holds whatever it holds); only the length is checked.
[[nodiscard]] Result<Entry> decode(ByteSpan bytes);

using Pair = std::array<Entry, 2>;  // entry 0 (sector 0) and entry 1 (sector 1)

// bootloader_common_select_otadata: among entries flagged usable, the one with the larger
// (max) or smaller (!max) ota_seq; on a tie entry 0. nullopt when neither is usable.
std::optional<int> select(const Pair& pair, std::array<bool, 2> usable, bool max);
// bootloader_common_get_active_otadata: the valid entry with the larger sequence number.
std::optional<int> active_entry(const Pair& pair);

// (ota_seq - 1) mod app_count in 32-bit unsigned arithmetic, as IDF computes it. app_count > 0.
uint32_t slot_of(uint32_t ota_seq, uint32_t app_count);

// compute_ota_seq_for_target_slot: the smallest seq >= current_seq (and >= 1) with
// slot_of(seq) == slot. Refuses ("otadata.seq_exhausted") where IDF would run into 0xFFFFFFFF
// (the empty marker), and never returns 0, which IDF can for current_seq 0 although 0 selects
// the wanted slot only when app_count is a power of two.
[[nodiscard]] Result<uint32_t> seq_for_slot(uint32_t current_seq, uint32_t slot, uint32_t app_count);

}  // namespace espsec::otadata
