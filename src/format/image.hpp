// ESP app and 2nd-stage bootloader image format (ESP-IDF esp_app_format.h, esp_image_format.c,
// esp_app_desc.h, esp_bootloader_desc.h; esptool bin_image.py). Pure parse / validate / build.
// Boot-chain fact sheet section 1. Integers little-endian.
//
// File layout:
//   0     image header (24)
//           0 magic E9          1 segment count       2 SPI mode           3 speed (bits 3..0) | size (7..4)
//           4 entry address (4) 8 WP pin (EE = none)  9 SPI pin drive (3)  12 chip id (2)
//          14 min chip rev (legacy)  15 min chip rev full (2)  17 max chip rev full (2)
//          19 reserved (4)      23 hash appended (0 or 1)
//   24    segment 0: load address (4) | data length (4) | data     (an app's data starts with esp_app_desc_t,
//         ...        a bootloader's with esp_bootloader_desc_t)
//         segments 1..n-1, same shape (n <= 16)
//   E     zero padding up to C = E | 0xF (E is a multiple of 4)
//   C     checksum byte: 0xEF XOR every byte of every segment's data (headers excluded)
//   C+1   SHA-256 of bytes [0, C] when "hash appended"; image length L = C + 1 (+ 32)
//   L     signed images: 0xFF padding to S = align_up(L, 4096), then the 4096-byte signature sector
//
// esp_app_desc_t (256 bytes at file offset 0x20):
//     0 magic ABCD5432 (4)   4 secure_version (4)   8 reserved (8)       16 version (32)
//    48 project_name (32)   80 time (16)           96 date (16)        112 idf_ver (32)
//   144 app_elf_sha256 (32) 176 min_efuse_blk_rev_full (2)              178 max_efuse_blk_rev_full (2)
//   180 mmu_page_size (log2)  181 spi_flash_mode  182 reserved (2)      184 reserved (72)
// esp_bootloader_desc_t (80 bytes at file offset 0x20 of a bootloader):
//     0 magic 50   1 reserved (2)   3 secure_version   4 version (4)   8 idf_ver (32)
//    40 date_time (24)   64 reserved (16)
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
#include "crypto/hash.hpp"

namespace espsec::image {

inline constexpr uint8_t kMagic = 0xE9;
inline constexpr size_t kHeaderSize = 24;
inline constexpr size_t kSegmentHeaderSize = 8;
inline constexpr size_t kMaxSegments = 16;             // ESP-IDF ESP_IMAGE_MAX_SEGMENTS
inline constexpr uint32_t kMaxSegmentLength = 0x1000000;  // esp_image_format.c ESP_IMAGE_MAX_FLASH_ADDR_SIZE
inline constexpr uint8_t kChecksumSeed = 0xEF;         // esp_image_format.c ESP_ROM_CHECKSUM_INITIAL
inline constexpr size_t kHashSize = 32;
inline constexpr uint64_t kSectorSize = 4096;          // flash sector; signature sector alignment
inline constexpr uint8_t kWpPinDisabled = 0xEE;
// esp_image_format.c should_load(): load addresses below this are never loaded (0 = padding).
inline constexpr uint32_t kFirstLoadAddress = 0x10000000;

inline constexpr uint32_t kAppDescMagic = 0xABCD5432;  // esp_app_desc.h ESP_APP_DESC_MAGIC_WORD
inline constexpr size_t kAppDescSize = 256;
inline constexpr uint8_t kBootloaderDescMagic = 0x50;  // esp_bootloader_desc.h ESP_BOOTLOADER_DESC_MAGIC_BYTE
inline constexpr size_t kBootloaderDescSize = 80;
inline constexpr size_t kAppDescFileOffset = kHeaderSize + kSegmentHeaderSize;
inline constexpr size_t kAppDescMinEfuseBlkRevOffset = 176;  // within esp_app_desc_t
inline constexpr size_t kAppDescMaxEfuseBlkRevOffset = 178;

// ---------------------------------------------------------------------------------------------
// Chips

struct AddressRange {
  uint32_t low = 0;
  uint32_t high = 0;  // exclusive
  const char* name = "";
  bool contains(uint32_t addr) const { return addr >= low && addr < high; }
};

struct FlashFrequency {
  const char* name;  // "80m"
  uint8_t code;      // header byte 3, bits 3..0
};

struct Chip {
  std::string_view name;     // esptool --chip spelling: "esp32c3"
  std::string_view display;  // "ESP32-C3"
  uint16_t id = 0;           // esp_chip_id_t
  uint32_t bootloader_offset = 0;
  uint32_t mmu_page_size = 0x10000;  // default; apps may pick another where configurable
  uint32_t mmu_page_min = 0x10000;
  uint32_t mmu_page_max = 0x10000;
  AddressRange irom, drom;  // ESP-IDF soc.h SOC_IROM_*/SOC_DROM_*: segments here are mapped
  bool checks_efuse_block_revision = true;  // every chip but the ESP32 (esp_image_format.c)
  std::span<const AddressRange> memory_map;  // esptool MEMORY_MAP, for reports
  std::span<const FlashFrequency> flash_frequencies;

  bool is_mapped(uint32_t addr) const { return irom.contains(addr) || drom.contains(addr); }
  bool mmu_page_configurable() const { return mmu_page_min != mmu_page_max; }
};

std::span<const Chip> chips();
const Chip* chip_by_id(uint16_t id);
const Chip* chip_by_name(std::string_view name);  // "esp32c3"
const Chip& esp32c3();

const char* spi_mode_name(uint8_t mode);       // "DIO"; "?" when unknown
const char* flash_size_name(uint8_t size_code);  // "4MB"; "?" when unknown
// Names of the chip's memory regions holding `addr` ("DROM", "BYTE_ACCESSIBLE, DRAM").
std::string memory_types(const Chip& chip, uint32_t addr);
// A "full" revision (major * 100 + minor) as "major.minor": 103 -> "1.3".
std::string revision_text(uint32_t rev_full);

// ---------------------------------------------------------------------------------------------
// Header

struct Header {
  uint8_t segment_count = 0;
  uint8_t spi_mode = 2;    // DIO
  uint8_t spi_speed = 0;   // chip-specific code, bits 3..0 of byte 3
  uint8_t spi_size = 1;    // 0 = 1 MB ... 7 = 128 MB, bits 7..4 of byte 3
  uint32_t entry_addr = 0;
  uint8_t wp_pin = kWpPinDisabled;
  std::array<uint8_t, 3> spi_pin_drv{};
  uint16_t chip_id = 0;
  uint8_t min_chip_rev = 0;  // legacy field
  uint16_t min_chip_rev_full = 0;
  uint16_t max_chip_rev_full = 0;
  std::array<uint8_t, 4> reserved{};
  uint8_t hash_appended = 1;  // ESP-IDF treats any non-zero value as "appended"

  bool has_hash() const { return hash_appended != 0; }
};

// Codes: "image.truncated" (fewer than 24 bytes), "image.magic".
[[nodiscard]] Result<Header> parse_header(ByteSpan bytes);
std::array<uint8_t, kHeaderSize> serialize_header(const Header& header);

// ---------------------------------------------------------------------------------------------
// Descriptors

struct AppDesc {
  uint32_t magic_word = kAppDescMagic;
  uint32_t secure_version = 0;
  std::string version;       // at most 31 bytes (NUL-terminated field of 32)
  std::string project_name;  // at most 31 bytes
  std::string time;          // at most 15 bytes, __TIME__
  std::string date;          // at most 15 bytes, __DATE__
  std::string idf_ver;       // at most 31 bytes
  crypto::Sha256Digest app_elf_sha256{};
  uint16_t min_efuse_blk_rev_full = 0;
  uint16_t max_efuse_blk_rev_full = 0;
  uint8_t mmu_page_size = 0;  // log2; 0 in images older than the field
  uint8_t spi_flash_mode = 0;
};

// Codes: "image.app_desc_size", "image.app_desc_magic".
[[nodiscard]] Result<AppDesc> parse_app_desc(ByteSpan bytes);
// Code "image.app_desc_field" when a string does not fit its NUL-terminated field.
[[nodiscard]] Result<Bytes> serialize_app_desc(const AppDesc& desc);

struct BootloaderDesc {
  uint8_t secure_version = 0;
  uint32_t version = 0;
  std::string idf_ver;    // at most 31 bytes
  std::string date_time;  // at most 23 bytes, __DATE__ " " __TIME__
};

// Codes: "image.bootloader_desc_size", "image.bootloader_desc_magic".
[[nodiscard]] Result<BootloaderDesc> parse_bootloader_desc(ByteSpan bytes);
// Code "image.bootloader_desc_field" when a string does not fit its field.
[[nodiscard]] Result<Bytes> serialize_bootloader_desc(const BootloaderDesc& desc);

// ---------------------------------------------------------------------------------------------
// Parsed image

enum class SegmentKind {
  kMapped,   // in the chip's IROM/DROM window: mapped through the flash MMU
  kLoaded,   // copied to RAM by the bootloader
  kPadding,  // load address below 0x10000000: never loaded (esptool pads with address 0)
};
const char* segment_kind_name(SegmentKind kind);  // "map", "load", "padding"

struct Segment {
  uint32_t load_addr = 0;
  uint32_t length = 0;
  uint64_t header_offset = 0;  // file offset of the 8-byte segment header
  uint64_t data_offset = 0;
  SegmentKind kind = SegmentKind::kLoaded;
};

struct ImageInfo {
  Header header;
  const Chip* chip = nullptr;  // nullptr: chip id espsec does not know (no segment counts as mapped)
  std::vector<Segment> segments;
  uint64_t file_length = 0;

  uint64_t segments_end = 0;     // E
  uint64_t checksum_offset = 0;  // C = E | 0xF
  uint8_t checksum_stored = 0;
  uint8_t checksum_computed = 0;
  uint64_t hashed_length = 0;    // C + 1: bytes the simple hash covers
  std::optional<crypto::Sha256Digest> hash_stored;    // when the header says a hash is appended
  std::optional<crypto::Sha256Digest> hash_computed;  // SHA-256 of [0, C] (when appended)
  uint64_t image_length = 0;         // L = C + 1 (+ 32 with hash): ESP-IDF's image_len
  uint64_t signed_length = 0;        // S = align_up(L, 4096): what a Secure Boot v2 signature covers
  uint64_t signed_total_length = 0;  // S + 4096
  // SHA-256 of [0, S) when the file holds it: the Secure Boot v2 image digest for SHA-256 schemes.
  std::optional<crypto::Sha256Digest> signed_digest;
  bool has_signature_sector = false;  // the file holds 4096 bytes at S

  std::optional<AppDesc> app_desc;                // segment 0 starts with a valid esp_app_desc_t
  std::optional<BootloaderDesc> bootloader_desc;  // segment 0 starts with a valid esp_bootloader_desc_t

  bool checksum_ok() const { return checksum_stored == checksum_computed; }
  bool hash_ok() const { return hash_stored && hash_computed && *hash_stored == *hash_computed; }
  ByteSpan segment_data(ByteSpan image, size_t index) const;
};

// Digest of the signed region [0, signed_length) with `alg` (the Secure Boot v2 image digest:
// SHA-256, or SHA-384 for ECDSA P-384), reusing the SHA-256 parse_image computed.
// "image.truncated" when `image` ends before signed_length.
[[nodiscard]] Result<Bytes> signed_region_digest(const ImageInfo& info, ByteSpan image, crypto::HashAlg alg);

// Reads the whole structure in one pass over the bytes (checksum, simple hash and signed-region
// digest are computed as the data goes by). Rejections, each naming the region:
//   "image.truncated"       the header, a segment's data, the checksum or the hash is cut off
//   "image.magic"           first byte is not 0xE9
//   "image.segment_count"   more than 16 segments
//   "image.segment_header"  a segment header is cut off
//   "image.segment_length"  a segment length is not a multiple of 4 or not below 16 MiB
// A bad checksum or hash is not a parse error: see check_checksum / check_hash.
[[nodiscard]] Result<ImageInfo> parse_image(ByteSpan bytes);

// ---------------------------------------------------------------------------------------------
// What the ESP-IDF loader checks (esp_image_format.c image_load, bootloader_common_loader.c).
// Each check has its own code so that a boot chain can report the exact reason.

enum class Role { kApp, kBootloader };

struct ChipState {
  uint16_t chip_id = 0;
  uint16_t chip_revision = 0;  // major * 100 + minor
  bool disable_wafer_version_major = false;  // eFuse: skip the max chip revision check
  uint16_t efuse_block_revision = 0;         // major * 100 + minor
  bool disable_blk_version_major = false;    // eFuse: skip the max block revision check
};

// "image.chip_id", "image.chip_revision_min", "image.chip_revision_max" (apps only, as ESP-IDF).
[[nodiscard]] Status check_chip(const Header& header, const ChipState& chip, Role role);
// MMU page the loader aligns mapped segments to: the chip default, or for chips with a
// configurable page the app descriptor's value when it is in range (esp_image_format.c).
uint32_t mmu_page_size(const ImageInfo& info, const Chip& chip, Role role);
// "image.segment0_length" (an app's segment 0 is shorter than esp_app_desc_t),
// "image.app_desc_magic" (chips with a configurable MMU page need the app descriptor),
// "image.segment_alignment" (a mapped segment's file offset and load address differ mod the page).
[[nodiscard]] Status check_segments(const ImageInfo& info, const Chip& chip, Role role);
// "image.app_desc_magic" / "image.segment0_length": the app descriptor is missing.
[[nodiscard]] Result<AppDesc> require_app_desc(const ImageInfo& info);
// "image.efuse_block_revision_min", "image.efuse_block_revision_max". The bounds are
// esp_app_desc_t's min/max_efuse_blk_rev_full; ESP-IDF reads them from segment 0 whether or not
// the magic word is right.
[[nodiscard]] Status check_efuse_block_revision(uint16_t min_rev_full, uint16_t max_rev_full,
                                                const ChipState& chip);
// "image.checksum".
[[nodiscard]] Status check_checksum(const ImageInfo& info);
// "image.hash" when an appended hash does not match; succeeds when none is appended (ESP-IDF
// checks it only when present).
[[nodiscard]] Status check_hash(const ImageInfo& info);
// "image.partition_size": the image (with its 4 KiB-aligned signature sector when `signed_image`)
// does not fit in `partition_size` bytes.
[[nodiscard]] Status check_fits(const ImageInfo& info, uint64_t partition_size, bool signed_image);

// ---------------------------------------------------------------------------------------------
// Building images

struct SegmentData {
  uint32_t load_addr = 0;
  Bytes data;
};

// The segments of a parsed image, copied out of `image`.
std::vector<SegmentData> copy_segments(const ImageInfo& info, ByteSpan image);

// Serializes header + segments exactly as esptool writes them: header with the real segment
// count, segments in the given order, zero padding, checksum and (when header.hash_appended)
// the SHA-256. Codes: "image.segment_count", "image.segment_length".
[[nodiscard]] Result<Bytes> build_image(const Header& header, std::span<const SegmentData> segments);

struct LayoutOptions {
  uint32_t mmu_page_size = 0;  // 0 = the chip default
  bool secure_pad_v2 = false;  // pad so that the appended hash ends on an MMU page boundary
  bool hash_appended = true;
};

// Orders segments the way esptool elf2image does (ESP32FirmwareImage.save): flash-mapped
// segments in address order, each placed so that its data's file offset matches its load
// address modulo the MMU page, the gaps filled with slices of RAM segments or zero padding
// segments; remaining RAM segments last; then the secure padding segment when asked.
// Codes: "image.layout_same_page" (two mapped segments in one MMU page), "image.layout_pad"
// (secure padding without an appended hash).
[[nodiscard]] Result<std::vector<SegmentData>> arrange_segments(const Chip& chip,
                                                                std::vector<SegmentData> segments,
                                                                const LayoutOptions& options);

}  // namespace espsec::image
