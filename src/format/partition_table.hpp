// ESP-IDF partition table: the binary format the bootloader and esp_partition read at
// CONFIG_PARTITION_TABLE_OFFSET (default 0x8000), as gen_esp32part.py writes it.
// Pure encode/decode; integers little-endian. Boot-chain fact sheet 5;
// ESP-IDF esp_flash_partitions.h, flash_partitions.c, gen_esp32part.py.
//
// Table (one 4 KiB sector; gen_esp32part writes exactly 0xC00 = 3072 bytes):
//   +0            entry 0 (32)
//   +32           entry 1 (32)
//   ...           entry n-1
//   +32n          MD5 entry (32, optional)       EB EB | FF x 14 | MD5(bytes 0 .. 32n)
//   +32n(+32)     terminator                     FF x 32
//   ...           FF up to 0xC00 (at most 96 slots, terminator included)
//
// Entry (esp_partition_info_t):
//   0   magic   2   AA 50 (LE16 0x50AA)
//   2   type    1   app 0x00, data 0x01, bootloader 0x02, partition_table 0x03, custom 0x40..0xFE
//   3   subtype 1
//   4   offset  4   LE32, absolute flash address
//   8   size    4   LE32
//   12  label   16  UTF-8, NUL-padded; a 16-byte label has no terminator
//   28  flags   4   LE32: bit 0 encrypted, bit 1 readonly
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::partition {

inline constexpr size_t kEntrySize = 32;
inline constexpr size_t kLabelSize = 16;
inline constexpr uint32_t kTableMaxLength = 0xC00;                  // ESP_PARTITION_TABLE_MAX_LEN
inline constexpr size_t kMaxSlots = kTableMaxLength / kEntrySize;   // 96, terminator included
inline constexpr uint32_t kTableSectorSize = 0x1000;                // ESP_PARTITION_TABLE_SIZE
inline constexpr uint32_t kDefaultTableOffset = 0x8000;             // CONFIG_PARTITION_TABLE_OFFSET
inline constexpr uint16_t kEntryMagic = 0x50AA;                     // ESP_PARTITION_MAGIC
inline constexpr uint16_t kMd5Magic = 0xEBEB;                       // ESP_PARTITION_MAGIC_MD5

namespace type {
inline constexpr uint8_t kApp = 0x00;
inline constexpr uint8_t kData = 0x01;
inline constexpr uint8_t kBootloader = 0x02;
inline constexpr uint8_t kPartitionTable = 0x03;
}  // namespace type

namespace subtype {
// app
inline constexpr uint8_t kFactory = 0x00;
inline constexpr uint8_t kOta0 = 0x10;  // ota_0 .. ota_15 = 0x10 .. 0x1F
inline constexpr uint8_t kOtaCount = 16;
inline constexpr uint8_t kTest = 0x20;
inline constexpr uint8_t kTee0 = 0x30;
inline constexpr uint8_t kTee1 = 0x31;
// data
inline constexpr uint8_t kDataOta = 0x00;
inline constexpr uint8_t kPhy = 0x01;
inline constexpr uint8_t kNvs = 0x02;
inline constexpr uint8_t kCoredump = 0x03;
inline constexpr uint8_t kNvsKeys = 0x04;
inline constexpr uint8_t kEfuse = 0x05;
inline constexpr uint8_t kUndefined = 0x06;
inline constexpr uint8_t kEsphttpd = 0x80;
inline constexpr uint8_t kFat = 0x81;
inline constexpr uint8_t kSpiffs = 0x82;
inline constexpr uint8_t kLittlefs = 0x83;
inline constexpr uint8_t kTeeOta = 0x90;
// bootloader and partition_table
inline constexpr uint8_t kPrimary = 0x00;
inline constexpr uint8_t kBootloaderOta = 0x01;
inline constexpr uint8_t kRecovery = 0x02;
inline constexpr uint8_t kPartitionTableOta = 0x01;
}  // namespace subtype

inline constexpr uint32_t kFlagEncrypted = 1u << 0;  // PART_FLAG_ENCRYPTED
inline constexpr uint32_t kFlagReadonly = 1u << 1;   // PART_FLAG_READONLY
inline constexpr uint32_t kKnownFlags = kFlagEncrypted | kFlagReadonly;

struct Entry {
  std::string label;  // bytes of the label field up to the first NUL (at most 16 are stored)
  uint8_t type = 0;
  uint8_t subtype = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
  uint32_t flags = 0;

  bool encrypted() const { return (flags & kFlagEncrypted) != 0; }
  bool readonly() const { return (flags & kFlagReadonly) != 0; }
  uint64_t end() const { return static_cast<uint64_t>(offset) + size; }
  // ota_N app partitions: N; anything else: nullopt.
  std::optional<uint8_t> ota_slot() const;
  friend bool operator==(const Entry&, const Entry&) = default;
};

struct Table {
  std::vector<Entry> entries;  // table order, MD5 entry not included
  bool has_md5 = false;
  // First entry of that type and subtype in table order (esp_partition_find_first).
  const Entry* find(uint8_t type, uint8_t subtype) const;
  const Entry* find_label(std::string_view label) const;
};

// gen_esp32part keyword tables, in the tool's own order (which decides the CSV it prints).
struct Keyword {
  std::string_view name;
  uint8_t value;
};
std::span<const Keyword> type_keywords();
std::span<const Keyword> subtype_keywords(uint8_t type);  // empty for custom types
// Keyword of a value, or its decimal form when none exists (gen_esp32part to_csv).
std::string type_name(uint8_t type);
std::string subtype_name(uint8_t type, uint8_t subtype);

// One 32-byte entry. A label longer than 16 bytes is cut to 16, as gen_esp32part does.
std::array<uint8_t, kEntrySize> encode_entry(const Entry& entry);
// Decodes a slot holding the entry magic (AA 50); refuses anything else.
[[nodiscard]] Result<Entry> decode_entry(ByteSpan slot);

// Entries (+ MD5 entry when `with_md5`) padded with 0xFF to exactly 0xC00 bytes
// (gen_esp32part to_binary). Refuses tables that leave no room for the terminator
// ("partition_table.too_long": at most 95 entries, 94 with the MD5 entry).
[[nodiscard]] Result<Bytes> serialize_table(std::span<const Entry> entries, bool with_md5);

// The bootloader's check (ESP-IDF esp_partition_table_verify) of the bytes at the table offset
// (normally 0xC00 of them): slots are read in order until the terminator (FF FF magic with type
// and subtype 0xFF, never in slot 0); every entry must lie within `flash_chip_size`; an MD5
// entry, if present, must match the preceding entries and may appear once. Error codes:
// partition_table.empty, .magic, .bounds, .md5, .md5_duplicate, .no_terminator.
[[nodiscard]] Result<Table> verify_table(ByteSpan table, uint32_t flash_chip_size);

// gen_esp32part's reading of a binary table file (PartitionTable.from_binary), used to turn a
// binary back into CSV: slots up to an all-0xFF terminator; with `check_md5` an EB EB slot must
// hold the MD5 of the entries before it, without it such a slot is a bad entry. Unknown flag
// bits are reported in `warnings` and dropped. Error codes: partition_table.length, .magic,
// .md5, .label_utf8, .no_terminator.
[[nodiscard]] Result<Table> parse_table_file(ByteSpan data, bool check_md5,
                                             std::vector<std::string>* warnings = nullptr);

// True when `text` is well-formed UTF-8 (labels and CSV text must be).
bool is_valid_utf8(std::string_view text);

}  // namespace espsec::partition
