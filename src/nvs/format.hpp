// The NVS on-flash format (ESP-IDF components/nvs_flash: nvs_page.hpp, nvs_types.hpp,
// nvs_constants.h, nvs_types.cpp). Pure parse/serialize; no I/O. All integers little-endian.
//
// A partition is N pages of 4096 bytes (one flash sector each):
//
//   page +0     +----------------------------------------------+
//               | page header (32 bytes, raw even when the      |
//               | partition is encrypted)                       |
//         +32   +----------------------------------------------+
//               | entry state bitmap (32 bytes, raw)            |
//               |   2 bits per entry: 11 empty, 10 written,     |
//               |   00 erased, 01 illegal; entry i in bits       |
//               |   2*(i%16)..+1 of LE word i/16                 |
//         +64   +----------------------------------------------+
//               | entry 0 .. entry 125 (32 bytes each; XTS-     |
//               | encrypted per entry when NVS encryption is on)|
//       +4096   +----------------------------------------------+
//
// Page header:
//   +0  u32 state      FFFFFFFF uninitialized, FFFFFFFE active, FFFFFFFC full, FFFFFFF8 freeing
//   +4  u32 seq        page order (older pages have smaller numbers)
//   +8  u8  version    FE = format version 2 (current), FF = version 1; counts down
//   +9  19  reserved   FF
//   +28 u32 crc32      NVS CRC over bytes 4..27 (the state word is outside so it can be programmed)
//
// Entry ("item"):
//   +0  u8  ns         namespace index: 0 = namespace definitions, 1..254, 255 = any (never stored)
//   +1  u8  type       ItemType below
//   +2  u8  span       entries of the item including this one
//   +3  u8  chunk      BLOB_DATA chunk number, else FF
//   +4  u32 crc32      NVS CRC over bytes 0..3 then 8..31
//   +8  16  key        NUL-terminated, at most 15 bytes, padded with 00
//   +24 8   data       primitive: value LE, unused bytes FF
//                      SZ/BLOB/BLOB_DATA: u16 size, u16 FFFF, u32 crc32 of the data bytes;
//                        the data follows in the next span-1 entries, tail padded with FF
//                      BLOB_IDX: u32 total size, u8 chunk count, u8 chunk start (00/80), u16 FFFF
//
// The NVS CRC is crc32_le(0xFFFFFFFF, ...) (crypto/crc32.hpp), not the zip CRC.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::nvs {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr uint32_t kEntrySize = 32;
inline constexpr uint32_t kEntryCount = 126;
inline constexpr uint32_t kBitmapOffset = 32;
inline constexpr uint32_t kEntriesOffset = 64;
// Largest data of one variable-length item: a whole page minus its header entry.
inline constexpr uint32_t kChunkMaxSize = kEntrySize * (kEntryCount - 1);
inline constexpr size_t kMaxKeyLength = 15;
inline constexpr uint8_t kNamespaceIndexNs = 0;  // namespace-definition entries
inline constexpr uint8_t kNsAny = 255;
inline constexpr uint8_t kChunkAny = 0xFF;
inline constexpr uint8_t kVersion1 = 0xFF;
inline constexpr uint8_t kVersion2 = 0xFE;
// Blob chunk versions toggle between these two chunk-index ranges (nvs_types.hpp VerOffset).
inline constexpr uint8_t kChunkVersion0 = 0x00;
inline constexpr uint8_t kChunkVersion1 = 0x80;
// nvs_storage.cpp: at most (CHUNK_ANY - 1) / 2 chunks per blob version.
inline constexpr uint32_t kMaxBlobChunks = 127;
inline constexpr uint32_t kMaxBlobIndexSize = kMaxBlobChunks * kChunkMaxSize;  // 508000
// A writable partition needs two pages plus the one kept free (nvs_partition_gen check_size).
inline constexpr uint32_t kMinWritablePages = 3;
inline constexpr uint32_t kInvalidEntry = 0xFFFFFFFF;

enum class PageState : uint32_t {
  kUninitialized = 0xFFFFFFFF,
  kActive = 0xFFFFFFFE,
  kFull = 0xFFFFFFFC,
  kFreeing = 0xFFFFFFF8,
  // In-RAM classifications only; never written.
  kCorrupt = 0xFFFFFFF0,
  kInvalid = 0,
};
std::string_view page_state_name(PageState state);

enum class EntryState : uint8_t { kErased = 0, kIllegal = 1, kWritten = 2, kEmpty = 3 };
std::string_view entry_state_name(EntryState state);

enum class ItemType : uint8_t {
  kU8 = 0x01,
  kI8 = 0x11,
  kU16 = 0x02,
  kI16 = 0x12,
  kU32 = 0x04,
  kI32 = 0x14,
  kU64 = 0x08,
  kI64 = 0x18,
  kFloat = 0x24,  // ESP-IDF master; unknown to nvs_partition_gen 0.2.0
  kDouble = 0x28,
  kString = 0x21,
  kBlob = 0x41,  // version-1 single-page blob
  kBlobData = 0x42,
  kBlobIndex = 0x48,
  kAny = 0xFF,
};
bool is_known_type(uint8_t raw);
bool is_variable_length(ItemType type);
bool is_primitive(ItemType type);
// Width in bytes of a primitive (type & 0x0F); 0 for other types.
size_t primitive_width(ItemType type);
bool is_signed(ItemType type);
std::string_view item_type_name(ItemType type);  // "u8", "string", "blob_data", ...

// True when every byte is FF, the value of erased NOR flash.
bool is_erased(ByteSpan bytes);

// ---- Page header ----

struct PageHeader {
  uint32_t state_raw = 0xFFFFFFFF;
  uint32_t seq = 0;
  uint8_t version = kVersion2;
  std::array<uint8_t, 19> reserved;  // FF as written; kept as read so the CRC can be checked
  uint32_t crc = 0;                  // as stored

  PageHeader() { reserved.fill(0xFF); }
  // Any 32 bytes are a header; whether it is valid is crc_ok().
  static PageHeader parse(ByteSpan bytes32);
  // A fresh header (reserved bytes FF) with its CRC computed.
  static PageHeader make(PageState state, uint32_t seq, uint8_t version);
  std::array<uint8_t, 32> serialize() const;
  uint32_t computed_crc() const;
  bool crc_ok() const { return crc == computed_crc(); }
};

// ---- Entry state bitmap ----

class EntryStateTable {
 public:
  EntryStateTable() { bytes_.fill(0xFF); }
  static EntryStateTable parse(ByteSpan bytes32);

  EntryState get(size_t index) const;
  // Replaces the two bits (states only ever move towards 00, as NOR programming allows).
  void set(size_t index, EntryState state);
  static size_t word_index(size_t index) { return index / 16; }
  uint32_t word(size_t word_index) const { return load_le32(bytes_.data() + 4 * word_index); }
  const std::array<uint8_t, 32>& bytes() const { return bytes_; }

 private:
  std::array<uint8_t, 32> bytes_;
};

// ---- Entries ----

enum class HeaderFault {
  kCrc,           // entry CRC mismatch
  kUnknownType,   // type byte is none of ItemType
  kSpan,          // span wrong for the type or runs past the page
  kChunkIndex,    // BLOB_IDX with a chunk number, or BLOB_DATA without one
  kSize,          // data size past the page end, or BLOB_IDX size above 508000
};
std::string_view header_fault_text(HeaderFault fault);

struct Item {
  uint8_t ns = 0;
  uint8_t type_raw = 0xFF;
  uint8_t span = 1;
  uint8_t chunk = kChunkAny;
  uint32_t crc = 0;
  std::array<uint8_t, 16> key{};
  std::array<uint8_t, 8> data{};

  // A fresh entry as the device builds it: key copied and NUL-padded (at most 15 bytes kept),
  // data bytes FF, CRC not yet computed.
  static Item make(uint8_t ns, ItemType type, uint8_t span, std::string_view key, uint8_t chunk = kChunkAny);
  static Item parse(ByteSpan bytes32);  // total: every 32-byte pattern is an item
  std::array<uint8_t, 32> serialize() const;

  ItemType type() const { return static_cast<ItemType>(type_raw); }
  // The key as the device compares it: up to the first NUL within the first 15 bytes.
  std::string_view key_view() const;
  bool key_equals(std::string_view k) const;

  uint32_t computed_crc() const;
  void seal() { crc = computed_crc(); }
  // ESP-IDF Item::checkHeaderConsistency for an item stored at entry `index` of its page.
  std::optional<HeaderFault> check_header(size_t index) const;
  bool consistent(size_t index) const { return !check_header(index); }

  // Variable-length header fields.
  uint16_t var_size() const { return load_le16(data.data()); }
  uint32_t var_crc() const { return load_le32(data.data() + 4); }
  void set_var(uint16_t size, uint32_t data_crc);
  // BLOB_IDX fields.
  uint32_t blob_size() const { return load_le32(data.data()); }
  uint8_t blob_chunk_count() const { return data[4]; }
  uint8_t blob_chunk_start() const { return data[5]; }
  void set_blob_index(uint32_t size, uint8_t chunk_count, uint8_t chunk_start);
  // Primitive value, sign- or zero-extended from its width.
  uint64_t primitive_bits() const;
};

// The 24-bit value ESP-IDF's per-page hash list keeps for an item: low 24 bits of the CRC of
// ns || key field || chunk (nvs_types.cpp calculateCrc32WithoutValue).
uint32_t item_hash24(const Item& item);

// NVS CRC of a data payload (string, blob chunk).
uint32_t data_crc(ByteSpan data);

// Number of entries an item occupies: 1 for fixed-size items, 1 + ceil(size/32) otherwise.
constexpr uint32_t span_for_size(size_t data_size) {
  return 1 + static_cast<uint32_t>((data_size + kEntrySize - 1) / kEntrySize);
}

// Relative address of entry `index` of page `page` (the XTS tweak of NVS encryption).
constexpr uint32_t entry_address(uint32_t page, size_t index) {
  return page * kPageSize + kEntriesOffset + static_cast<uint32_t>(index) * kEntrySize;
}

// Key and namespace-name rules shared by the engine and the generator: 1..15 bytes, no NUL.
[[nodiscard]] Status check_key(std::string_view key, std::string_view what = "key");

}  // namespace espsec::nvs
