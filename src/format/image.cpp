#include "format/image.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace espsec::image {
namespace {

// esptool targets/*.py MEMORY_MAP: region names for reports.
constexpr AddressRange kEsp32Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3F400000, 0x3F800000, "DROM"},
    {0x3F800000, 0x3FC00000, "EXTRAM_DATA"}, {0x3FF80000, 0x3FF82000, "RTC_DRAM"},
    {0x3FF90000, 0x40000000, "BYTE_ACCESSIBLE"}, {0x3FFAE000, 0x40000000, "DRAM"},
    {0x3FFE0000, 0x3FFFFFFC, "DIRAM_DRAM"}, {0x40000000, 0x40070000, "IROM"},
    {0x40070000, 0x40078000, "CACHE_PRO"}, {0x40078000, 0x40080000, "CACHE_APP"},
    {0x40080000, 0x400A0000, "IRAM"},      {0x400A0000, 0x400BFFFC, "DIRAM_IRAM"},
    {0x400C0000, 0x400C2000, "RTC_IRAM"},  {0x400D0000, 0x40400000, "IROM"},
    {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr AddressRange kEsp32s2Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3F000000, 0x3FF80000, "DROM"},
    {0x3F500000, 0x3FF80000, "EXTRAM_DATA"}, {0x3FF9E000, 0x3FFA0000, "RTC_DRAM"},
    {0x3FF9E000, 0x40000000, "BYTE_ACCESSIBLE"}, {0x3FF9E000, 0x40072000, "MEM_INTERNAL"},
    {0x3FFB0000, 0x40000000, "DRAM"},      {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40020000, 0x40070000, "IRAM"},      {0x40070000, 0x40072000, "RTC_IRAM"},
    {0x40080000, 0x40800000, "IROM"},      {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr AddressRange kEsp32s3Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3C000000, 0x3D000000, "DROM"},
    {0x3D000000, 0x3E000000, "EXTRAM_DATA"}, {0x600FE000, 0x60100000, "RTC_DRAM"},
    {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"}, {0x3FC88000, 0x403E2000, "MEM_INTERNAL"},
    {0x3FC88000, 0x3FD00000, "DRAM"},      {0x40000000, 0x4001A100, "IROM_MASK"},
    {0x40370000, 0x403E0000, "IRAM"},      {0x600FE000, 0x60100000, "RTC_IRAM"},
    {0x42000000, 0x42800000, "IROM"},      {0x50000000, 0x50002000, "RTC_DATA"},
};
constexpr AddressRange kEsp32c3Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3C000000, 0x3C800000, "DROM"},
    {0x3FC80000, 0x3FCE0000, "DRAM"},      {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF20000, "DROM_MASK"}, {0x40000000, 0x40060000, "IROM_MASK"},
    {0x42000000, 0x42800000, "IROM"},      {0x4037C000, 0x403E0000, "IRAM"},
    {0x50000000, 0x50002000, "RTC_IRAM"},  {0x50000000, 0x50002000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};
constexpr AddressRange kEsp32c2Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x3C000000, 0x3C400000, "DROM"},
    {0x3FCA0000, 0x3FCE0000, "DRAM"},      {0x3FC88000, 0x3FD00000, "BYTE_ACCESSIBLE"},
    {0x3FF00000, 0x3FF50000, "DROM_MASK"}, {0x40000000, 0x40090000, "IROM_MASK"},
    {0x42000000, 0x42400000, "IROM"},      {0x4037C000, 0x403C0000, "IRAM"},
};
// esptool uses the ESP32-C6 map for the ESP32-H2 too.
constexpr AddressRange kEsp32c6Memory[] = {
    {0x00000000, 0x00010000, "PADDING"},   {0x42000000, 0x43000000, "DROM"},
    {0x40800000, 0x40880000, "DRAM"},      {0x40800000, 0x40880000, "BYTE_ACCESSIBLE"},
    {0x4004AC00, 0x40050000, "DROM_MASK"}, {0x40000000, 0x4004AC00, "IROM_MASK"},
    {0x42000000, 0x43000000, "IROM"},      {0x40800000, 0x40880000, "IRAM"},
    {0x50000000, 0x50004000, "RTC_IRAM"},  {0x50000000, 0x50004000, "RTC_DRAM"},
    {0x600FE000, 0x60100000, "MEM_INTERNAL2"},
};

// esptool FLASH_FREQUENCY; the first name wins for a shared code (ESP32-C6 uses 0 for 80m and 40m).
constexpr FlashFrequency kFreqClassic[] = {{"80m", 0xF}, {"40m", 0x0}, {"26m", 0x1}, {"20m", 0x2}};
constexpr FlashFrequency kFreqC2[] = {{"60m", 0xF}, {"30m", 0x0}, {"20m", 0x1}, {"15m", 0x2}};
constexpr FlashFrequency kFreqC6[] = {{"80m", 0x0}, {"40m", 0x0}, {"20m", 0x2}};
constexpr FlashFrequency kFreqH2[] = {{"48m", 0xF}, {"24m", 0x0}, {"16m", 0x1}, {"12m", 0x2}};

constexpr uint32_t k64K = 0x10000;

// Chip ids: esp_chip_id_t / esptool IMAGE_CHIP_ID. Windows: ESP-IDF components/soc/<chip>/
// include/soc/soc.h. Bootloader offsets: esptool BOOTLOADER_FLASH_OFFSET. Configurable MMU
// pages: esptool MMU_PAGE_SIZE_CONF (C2: 16-64 KiB, C6/H2: 8-64 KiB).
const Chip kChips[] = {
    {"esp32", "ESP32", 0x0000, 0x1000, k64K, k64K, k64K, {0x400D0000, 0x40400000, "IROM"},
     {0x3F400000, 0x3F800000, "DROM"}, false, kEsp32Memory, kFreqClassic},
    {"esp32s2", "ESP32-S2", 0x0002, 0x1000, k64K, k64K, k64K, {0x40080000, 0x40800000, "IROM"},
     {0x3F000000, 0x3FF80000, "DROM"}, true, kEsp32s2Memory, kFreqClassic},
    {"esp32c3", "ESP32-C3", 0x0005, 0x0, k64K, k64K, k64K, {0x42000000, 0x42800000, "IROM"},
     {0x3C000000, 0x3C800000, "DROM"}, true, kEsp32c3Memory, kFreqClassic},
    {"esp32s3", "ESP32-S3", 0x0009, 0x0, k64K, k64K, k64K, {0x42000000, 0x44000000, "IROM"},
     {0x3C000000, 0x3E000000, "DROM"}, true, kEsp32s3Memory, kFreqClassic},
    {"esp32c2", "ESP32-C2", 0x000C, 0x0, k64K, 0x4000, k64K, {0x42000000, 0x42400000, "IROM"},
     {0x3C000000, 0x3C400000, "DROM"}, true, kEsp32c2Memory, kFreqC2},
    {"esp32c6", "ESP32-C6", 0x000D, 0x0, k64K, 0x2000, k64K, {0x42000000, 0x43000000, "IROM"},
     {0x42000000, 0x43000000, "DROM"}, true, kEsp32c6Memory, kFreqC6},
    {"esp32h2", "ESP32-H2", 0x0010, 0x0, k64K, 0x2000, k64K, {0x42000000, 0x43000000, "IROM"},
     {0x42000000, 0x43000000, "DROM"}, true, kEsp32c6Memory, kFreqH2},
};

// ESP-IDF bootloader_common_loader.c IS_FIELD_SET: 0 and 0xFFFF mean "no bound".
bool revision_bound_set(uint16_t rev_full) { return rev_full != 0 && rev_full != 0xFFFF; }

uint8_t xor_fold(ByteSpan data, uint8_t acc) {
  uint64_t wide = 0;
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    wide ^= w;
  }
  for (int shift = 0; shift < 64; shift += 8) acc ^= static_cast<uint8_t>(wide >> shift);
  for (; i < data.size(); ++i) acc ^= data[i];
  return acc;
}

crypto::Sha256Digest sha256_field(ByteSpan field) {
  crypto::Sha256Digest out{};
  std::copy_n(field.begin(), out.size(), out.begin());
  return out;
}

Status put_string(ByteWriter& w, std::string_view value, size_t field, std::string_view code,
                  std::string_view name, std::string_view owner) {
  // The fields are C strings: one byte is kept for the terminating NUL.
  if (value.size() >= field)
    return make_error(std::string(code), fmt::format("{} '{}' is {} bytes; at most {} fit in {}", name, value,
                                                     value.size(), field - 1, owner));
  w.fixed_string(value, field);
  return {};
}

}  // namespace

std::span<const Chip> chips() { return kChips; }

const Chip* chip_by_id(uint16_t id) {
  for (const Chip& chip : kChips)
    if (chip.id == id) return &chip;
  return nullptr;
}

const Chip* chip_by_name(std::string_view name) {
  for (const Chip& chip : kChips)
    if (chip.name == name) return &chip;
  return nullptr;
}

const Chip& esp32c3() { return *chip_by_id(0x0005); }

const char* spi_mode_name(uint8_t mode) {
  // esptool FLASH_MODES, then ESP-IDF esp_image_spi_mode_t for the two read modes.
  static constexpr const char* kNames[] = {"QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"};
  return mode < std::size(kNames) ? kNames[mode] : "?";
}

const char* flash_size_name(uint8_t size_code) {
  static constexpr const char* kNames[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB"};
  return size_code < std::size(kNames) ? kNames[size_code] : "?";
}

std::string memory_types(const Chip& chip, uint32_t addr) {
  std::string out;
  for (const AddressRange& range : chip.memory_map) {
    if (!range.contains(addr)) continue;
    if (!out.empty()) out += ", ";
    out += range.name;
  }
  return out;
}

std::string revision_text(uint32_t rev_full) { return fmt::format("{}.{}", rev_full / 100, rev_full % 100); }

const char* segment_kind_name(SegmentKind kind) {
  switch (kind) {
    case SegmentKind::kMapped: return "map";
    case SegmentKind::kLoaded: return "load";
    case SegmentKind::kPadding: return "padding";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------

Result<Header> parse_header(ByteSpan bytes) {
  if (bytes.empty()) return fail("image.truncated", "file is empty; an image starts with a 24-byte header");
  if (bytes[0] != kMagic)
    return fail("image.magic", "invalid magic byte 0x{:02x} at offset 0 (expected 0xe9): not an ESP image", bytes[0]);
  if (bytes.size() < kHeaderSize)
    return fail("image.truncated", "file is {} bytes, shorter than the 24-byte image header", bytes.size());
  const uint8_t* p = bytes.data();
  Header h;
  h.segment_count = p[1];
  h.spi_mode = p[2];
  h.spi_speed = p[3] & 0x0F;
  h.spi_size = static_cast<uint8_t>(p[3] >> 4);
  h.entry_addr = load_le32(p + 4);
  h.wp_pin = p[8];
  std::copy_n(p + 9, 3, h.spi_pin_drv.begin());
  h.chip_id = load_le16(p + 12);
  h.min_chip_rev = p[14];
  h.min_chip_rev_full = load_le16(p + 15);
  h.max_chip_rev_full = load_le16(p + 17);
  std::copy_n(p + 19, 4, h.reserved.begin());
  h.hash_appended = p[23];
  return h;
}

std::array<uint8_t, kHeaderSize> serialize_header(const Header& h) {
  std::array<uint8_t, kHeaderSize> out{};
  uint8_t* p = out.data();
  p[0] = kMagic;
  p[1] = h.segment_count;
  p[2] = h.spi_mode;
  p[3] = static_cast<uint8_t>((h.spi_size << 4) | (h.spi_speed & 0x0F));
  store_le32(p + 4, h.entry_addr);
  p[8] = h.wp_pin;
  std::copy(h.spi_pin_drv.begin(), h.spi_pin_drv.end(), p + 9);
  store_le16(p + 12, h.chip_id);
  p[14] = h.min_chip_rev;
  store_le16(p + 15, h.min_chip_rev_full);
  store_le16(p + 17, h.max_chip_rev_full);
  std::copy(h.reserved.begin(), h.reserved.end(), p + 19);
  p[23] = h.hash_appended;
  return out;
}

// ---------------------------------------------------------------------------------------------

Result<AppDesc> parse_app_desc(ByteSpan b) {
  if (b.size() < kAppDescSize)
    return fail("image.app_desc_size", "segment 0 holds {} bytes, too short for the 256-byte esp_app_desc_t",
                b.size());
  AppDesc d;
  d.magic_word = load_le32(b.data());
  if (d.magic_word != kAppDescMagic)
    return fail("image.app_desc_magic", "esp_app_desc_t magic word is 0x{:08x} (expected 0xabcd5432)", d.magic_word);
  d.secure_version = load_le32(b.data() + 4);
  d.version = c_string_field(b.subspan(16, 32));
  d.project_name = c_string_field(b.subspan(48, 32));
  d.time = c_string_field(b.subspan(80, 16));
  d.date = c_string_field(b.subspan(96, 16));
  d.idf_ver = c_string_field(b.subspan(112, 32));
  d.app_elf_sha256 = sha256_field(b.subspan(144, 32));
  d.min_efuse_blk_rev_full = load_le16(b.data() + kAppDescMinEfuseBlkRevOffset);
  d.max_efuse_blk_rev_full = load_le16(b.data() + kAppDescMaxEfuseBlkRevOffset);
  d.mmu_page_size = b[180];
  d.spi_flash_mode = b[181];
  return d;
}

Result<Bytes> serialize_app_desc(const AppDesc& d) {
  ByteWriter w(kAppDescSize);
  w.le32(d.magic_word).le32(d.secure_version).fill(8, 0);
  ESPSEC_TRY(put_string(w, d.version, 32, "image.app_desc_field", "app version", "esp_app_desc_t"));
  ESPSEC_TRY(put_string(w, d.project_name, 32, "image.app_desc_field", "project name", "esp_app_desc_t"));
  ESPSEC_TRY(put_string(w, d.time, 16, "image.app_desc_field", "time", "esp_app_desc_t"));
  ESPSEC_TRY(put_string(w, d.date, 16, "image.app_desc_field", "date", "esp_app_desc_t"));
  ESPSEC_TRY(put_string(w, d.idf_ver, 32, "image.app_desc_field", "IDF version", "esp_app_desc_t"));
  w.raw(d.app_elf_sha256).le16(d.min_efuse_blk_rev_full).le16(d.max_efuse_blk_rev_full);
  w.u8(d.mmu_page_size).u8(d.spi_flash_mode).fill(kAppDescSize - 182, 0);
  return w.take();
}

Result<BootloaderDesc> parse_bootloader_desc(ByteSpan b) {
  if (b.size() < kBootloaderDescSize)
    return fail("image.bootloader_desc_size",
                "segment 0 holds {} bytes, too short for the 80-byte esp_bootloader_desc_t", b.size());
  if (b[0] != kBootloaderDescMagic)
    return fail("image.bootloader_desc_magic", "esp_bootloader_desc_t magic byte is 0x{:02x} (expected 0x50)", b[0]);
  BootloaderDesc d;
  d.secure_version = b[3];
  d.version = load_le32(b.data() + 4);
  d.idf_ver = c_string_field(b.subspan(8, 32));
  d.date_time = c_string_field(b.subspan(40, 24));
  return d;
}

Result<Bytes> serialize_bootloader_desc(const BootloaderDesc& d) {
  ByteWriter w(kBootloaderDescSize);
  w.u8(kBootloaderDescMagic).fill(2, 0).u8(d.secure_version).le32(d.version);
  ESPSEC_TRY(put_string(w, d.idf_ver, 32, "image.bootloader_desc_field", "IDF version", "esp_bootloader_desc_t"));
  ESPSEC_TRY(put_string(w, d.date_time, 24, "image.bootloader_desc_field", "date and time", "esp_bootloader_desc_t"));
  w.fill(16, 0);
  return w.take();
}

// ---------------------------------------------------------------------------------------------

ByteSpan ImageInfo::segment_data(ByteSpan image, size_t index) const {
  const Segment& s = segments.at(index);
  return image.subspan(s.data_offset, s.length);
}

Result<ImageInfo> parse_image(ByteSpan bytes) {
  ESPSEC_ASSIGN_OR_RETURN(Header header, parse_header(bytes));
  if (header.segment_count > kMaxSegments)
    return fail("image.segment_count", "header declares {} segments; at most {} are allowed", header.segment_count,
                kMaxSegments);
  ImageInfo info;
  info.header = header;
  info.chip = chip_by_id(header.chip_id);
  info.file_length = bytes.size();

  uint8_t checksum = kChecksumSeed;
  uint64_t offset = kHeaderSize;
  for (size_t i = 0; i < header.segment_count; ++i) {
    if (bytes.size() - offset < kSegmentHeaderSize)
      return fail("image.segment_header", "segment {} header at offset 0x{:x} is cut off (file is {} bytes)", i,
                  offset, bytes.size());
    Segment s;
    s.header_offset = offset;
    s.load_addr = load_le32(bytes.data() + offset);
    s.length = load_le32(bytes.data() + offset + 4);
    s.data_offset = offset + kSegmentHeaderSize;
    if (s.length % 4 != 0)
      return fail("image.segment_length", "segment {} length 0x{:x} is not a multiple of 4", i, s.length);
    if (s.length >= kMaxSegmentLength)
      return fail("image.segment_length", "segment {} length 0x{:x} is not below the 16 MiB limit", i, s.length);
    if (bytes.size() - s.data_offset < s.length)
      return fail("image.truncated", "segment {} data (0x{:x} bytes at offset 0x{:x}) runs past the end of the file ({} bytes)",
                  i, s.length, s.data_offset, bytes.size());
    s.kind = s.load_addr < kFirstLoadAddress                     ? SegmentKind::kPadding
             : info.chip != nullptr && info.chip->is_mapped(s.load_addr) ? SegmentKind::kMapped
                                                                  : SegmentKind::kLoaded;
    checksum = xor_fold(bytes.subspan(s.data_offset, s.length), checksum);
    offset = s.data_offset + s.length;
    info.segments.push_back(s);
  }
  info.segments_end = offset;
  info.checksum_offset = offset | 0xF;
  if (info.checksum_offset >= bytes.size())
    return fail("image.truncated", "checksum byte at offset 0x{:x} is past the end of the file ({} bytes)",
                info.checksum_offset, bytes.size());
  info.checksum_stored = bytes[info.checksum_offset];
  info.checksum_computed = checksum;
  info.hashed_length = info.checksum_offset + 1;
  info.image_length = info.hashed_length;

  // One pass: the simple hash is a prefix of the signed-region digest.
  crypto::Hasher sha(crypto::HashAlg::kSha256);
  sha.update(bytes.first(info.hashed_length));
  if (header.has_hash()) {
    if (bytes.size() - info.hashed_length < kHashSize)
      return fail("image.truncated", "appended SHA-256 (32 bytes at offset 0x{:x}) runs past the end of the file ({} bytes)",
                  info.hashed_length, bytes.size());
    info.hash_stored = sha256_field(bytes.subspan(info.hashed_length, kHashSize));
    info.hash_computed = sha256_field(sha.clone().finish());
    info.image_length += kHashSize;
  }
  info.signed_length = align_up(info.image_length, kSectorSize);
  info.signed_total_length = info.signed_length + kSectorSize;
  if (bytes.size() >= info.signed_length) {
    sha.update(bytes.subspan(info.hashed_length, info.signed_length - info.hashed_length));
    info.signed_digest = sha256_field(sha.finish());
  }
  info.has_signature_sector = bytes.size() >= info.signed_total_length;

  if (!info.segments.empty()) {
    const ByteSpan seg0 = info.segment_data(bytes, 0);
    if (auto app = parse_app_desc(seg0)) info.app_desc = std::move(*app);
    else if (auto boot = parse_bootloader_desc(seg0)) info.bootloader_desc = std::move(*boot);
  }
  return info;
}

Result<Bytes> signed_region_digest(const ImageInfo& info, ByteSpan image, crypto::HashAlg alg) {
  if (image.size() < info.signed_length)
    return fail("image.truncated", "signed region (0x{:x} bytes) runs past the end of the data ({} bytes)",
                info.signed_length, image.size());
  if (alg == crypto::HashAlg::kSha256 && info.signed_digest)
    return Bytes(info.signed_digest->begin(), info.signed_digest->end());
  return crypto::digest(alg, image.first(info.signed_length));
}

// ---------------------------------------------------------------------------------------------

Status check_chip(const Header& header, const ChipState& chip, Role role) {
  if (header.chip_id != chip.chip_id) {
    const Chip* image_chip = chip_by_id(header.chip_id);
    const Chip* this_chip = chip_by_id(chip.chip_id);
    return fail("image.chip_id", "image is built for chip id {} ({}), this chip is id {} ({})", header.chip_id,
                image_chip ? image_chip->display : "unknown", chip.chip_id,
                this_chip ? this_chip->display : "unknown");
  }
  if (header.min_chip_rev_full > chip.chip_revision)
    return fail("image.chip_revision_min", "image needs chip revision >= v{}, this chip is v{}",
                revision_text(header.min_chip_rev_full), revision_text(chip.chip_revision));
  // The maximum is not checked for bootloaders (bootloader_common_check_chip_validity).
  if (role == Role::kApp && revision_bound_set(header.max_chip_rev_full) &&
      chip.chip_revision > header.max_chip_rev_full && !chip.disable_wafer_version_major)
    return fail("image.chip_revision_max", "image supports chip revisions <= v{}, this chip is v{}",
                revision_text(header.max_chip_rev_full), revision_text(chip.chip_revision));
  return {};
}

uint32_t mmu_page_size(const ImageInfo& info, const Chip& chip, Role role) {
  if (!chip.mmu_page_configurable() || role != Role::kApp || !info.app_desc) return chip.mmu_page_size;
  const unsigned log2 = info.app_desc->mmu_page_size;
  const auto min_log2 = static_cast<unsigned>(std::countr_zero(chip.mmu_page_min));
  const auto max_log2 = static_cast<unsigned>(std::countr_zero(chip.mmu_page_max));
  // Out-of-range values (0 in legacy images) fall back to the default, as ESP-IDF does.
  return log2 >= min_log2 && log2 <= max_log2 ? (1u << log2) : chip.mmu_page_size;
}

Status check_segments(const ImageInfo& info, const Chip& chip, Role role) {
  if (role == Role::kApp && !info.segments.empty()) {
    if (info.segments[0].length < kAppDescSize)
      return fail("image.segment0_length", "segment 0 is 0x{:x} bytes, too short for the app description (256 bytes)",
                  info.segments[0].length);
    if (chip.mmu_page_configurable() && !info.app_desc)
      return fail("image.app_desc_magic", "segment 0 does not start with an app description (magic 0xabcd5432), "
                  "which {} needs for its MMU page size", chip.display);
  }
  const uint32_t page = mmu_page_size(info, chip, role);
  for (size_t i = 0; i < info.segments.size(); ++i) {
    const Segment& s = info.segments[i];
    if (chip.is_mapped(s.load_addr) && s.data_offset % page != s.load_addr % page)
      return fail("image.segment_alignment",
                  "segment {} load address 0x{:08x} does not match its data offset 0x{:x} modulo the {} KiB MMU page", i,
                  s.load_addr, s.data_offset, page / 1024);
  }
  return {};
}

Result<AppDesc> require_app_desc(const ImageInfo& info) {
  if (info.app_desc) return *info.app_desc;
  if (info.segments.empty() || info.segments[0].length < kAppDescSize)
    return fail("image.segment0_length", "segment 0 is too short to hold the 256-byte app description");
  return fail("image.app_desc_magic", "segment 0 does not start with the app description magic word 0xabcd5432");
}

Status check_efuse_block_revision(uint16_t min_rev_full, uint16_t max_rev_full, const ChipState& chip) {
  if (revision_bound_set(min_rev_full) && min_rev_full > chip.efuse_block_revision)
    return fail("image.efuse_block_revision_min", "image needs eFuse block revision >= v{}, this chip is v{}",
                revision_text(min_rev_full), revision_text(chip.efuse_block_revision));
  if (revision_bound_set(max_rev_full) && chip.efuse_block_revision > max_rev_full && !chip.disable_blk_version_major)
    return fail("image.efuse_block_revision_max", "image supports eFuse block revisions <= v{}, this chip is v{}",
                revision_text(max_rev_full), revision_text(chip.efuse_block_revision));
  return {};
}

Status check_checksum(const ImageInfo& info) {
  if (!info.checksum_ok())
    return fail("image.checksum", "checksum at offset 0x{:x} is 0x{:02x}, computed 0x{:02x}", info.checksum_offset,
                info.checksum_stored, info.checksum_computed);
  return {};
}

Status check_hash(const ImageInfo& info) {
  if (info.header.has_hash() && !info.hash_ok())
    return fail("image.hash", "appended SHA-256 at offset 0x{:x} does not match the image: the image is corrupt",
                info.hashed_length);
  return {};
}

Status check_fits(const ImageInfo& info, uint64_t partition_size, bool signed_image) {
  const uint64_t needed = signed_image ? info.signed_total_length : info.image_length;
  if (needed > partition_size)
    return fail("image.partition_size", "image length {}{} does not fit in the partition ({} bytes)", needed,
                signed_image ? " (with its signature sector)" : "", partition_size);
  return {};
}

// ---------------------------------------------------------------------------------------------

std::vector<SegmentData> copy_segments(const ImageInfo& info, ByteSpan image) {
  std::vector<SegmentData> out;
  out.reserve(info.segments.size());
  for (size_t i = 0; i < info.segments.size(); ++i) {
    const ByteSpan data = info.segment_data(image, i);
    out.push_back({info.segments[i].load_addr, Bytes(data.begin(), data.end())});
  }
  return out;
}

Result<Bytes> build_image(const Header& header, std::span<const SegmentData> segments) {
  if (segments.size() > kMaxSegments)
    return fail("image.segment_count", "{} segments; an image holds at most {}", segments.size(), kMaxSegments);
  size_t total = kHeaderSize + 16 + kHashSize;
  for (size_t i = 0; i < segments.size(); ++i) {
    const size_t length = segments[i].data.size();
    if (length % 4 != 0)
      return fail("image.segment_length", "segment {} length 0x{:x} is not a multiple of 4", i, length);
    if (length >= kMaxSegmentLength)
      return fail("image.segment_length", "segment {} length 0x{:x} is not below the 16 MiB limit", i, length);
    total += kSegmentHeaderSize + length;
  }
  Header h = header;
  h.segment_count = static_cast<uint8_t>(segments.size());
  ByteWriter w(total);
  w.raw(serialize_header(h));
  uint8_t checksum = kChecksumSeed;
  for (const SegmentData& s : segments) {
    w.le32(s.load_addr).le32(static_cast<uint32_t>(s.data.size())).raw(s.data);
    checksum = xor_fold(s.data, checksum);
  }
  // esptool append_checksum: the checksum is the last byte of a 16-byte block.
  w.fill(15 - w.size() % 16, 0).u8(checksum);
  Bytes out = w.take();
  if (h.has_hash()) {
    const auto digest = crypto::sha256(out);
    out.insert(out.end(), digest.begin(), digest.end());
  }
  return out;
}

Result<std::vector<SegmentData>> arrange_segments(const Chip& chip, std::vector<SegmentData> segments,
                                                  const LayoutOptions& options) {
  const int64_t page = options.mmu_page_size ? options.mmu_page_size : chip.mmu_page_size;
  if (options.secure_pad_v2 && !options.hash_appended)
    return fail("image.layout_pad", "secure padding only applies when a SHA-256 digest is appended");
  // esptool ImageSegment: every real segment's data is padded to a multiple of 4.
  for (SegmentData& s : segments)
    if (s.load_addr != 0) s.data.resize(align_up(s.data.size(), 4), 0);
  std::stable_sort(segments.begin(), segments.end(),
                   [](const SegmentData& a, const SegmentData& b) { return a.load_addr < b.load_addr; });
  std::vector<SegmentData> flash, ram;
  for (SegmentData& s : segments) (chip.is_mapped(s.load_addr) ? flash : ram).push_back(std::move(s));
  for (size_t i = 1; i < flash.size(); ++i)
    if (flash[i].load_addr / page == flash[i - 1].load_addr / page)
      return fail("image.layout_same_page", "segment at 0x{:08x} lands in the same {} KiB flash mapping as the one at 0x{:08x}",
                  flash[i].load_addr, page / 1024, flash[i - 1].load_addr);

  std::vector<SegmentData> out;
  int64_t pos = static_cast<int64_t>(kHeaderSize);
  const auto seg_header = static_cast<int64_t>(kSegmentHeaderSize);
  auto emit = [&](SegmentData s) {
    pos += seg_header + static_cast<int64_t>(s.data.size());
    out.push_back(std::move(s));
  };
  // esptool get_alignment_data_needed: data bytes of a padding segment placed before `s` so
  // that, after both headers, the file offset matches s.load_addr modulo the page.
  auto padding_needed = [&](const SegmentData& s) -> int64_t {
    const int64_t align_past = static_cast<int64_t>(s.load_addr % page) - seg_header;
    int64_t pad = (page - pos % page) + align_past;
    if (pad == 0 || pad == page) return 0;
    pad -= seg_header;
    if (pad < 0) pad += page;
    return pad;
  };
  size_t next_flash = 0;
  size_t next_ram = 0;
  while (next_flash < flash.size()) {
    SegmentData& segment = flash[next_flash];
    const int64_t pad = padding_needed(segment);
    if (pad > 0) {
      if (next_ram < ram.size() && pad > seg_header) {
        SegmentData& source = ram[next_ram];
        const size_t take = std::min(static_cast<size_t>(pad), source.data.size());
        SegmentData piece{source.load_addr, Bytes(source.data.begin(), source.data.begin() + static_cast<std::ptrdiff_t>(take))};
        source.data.erase(source.data.begin(), source.data.begin() + static_cast<std::ptrdiff_t>(take));
        source.load_addr += static_cast<uint32_t>(take);
        if (source.data.empty()) ++next_ram;
        emit(std::move(piece));
      } else {
        emit({0, Bytes(static_cast<size_t>(pad), 0)});
      }
      continue;
    }
    if (chip.id == 0x0000) {
      // esptool save_flash_segment: the ESP32 2nd-stage bootloader did not map the last page
      // when a mapped segment ended less than 0x24 bytes past a page boundary.
      const int64_t end_mod = (pos + seg_header + static_cast<int64_t>(segment.data.size())) % page;
      if (end_mod < 0x24) segment.data.resize(segment.data.size() + static_cast<size_t>(0x24 - end_mod), 0);
    }
    emit(std::move(segment));
    ++next_flash;
  }
  for (; next_ram < ram.size(); ++next_ram) emit(std::move(ram[next_ram]));
  if (options.secure_pad_v2) {
    // esptool secure_pad "2": checksum block (16) and SHA-256 (32) end on a page boundary.
    const int64_t align_past = (pos + seg_header) % page;
    const int64_t pad = ((page - align_past - 16 - static_cast<int64_t>(kHashSize)) % page + page) % page;
    emit({0, Bytes(static_cast<size_t>(pad), 0)});
  }
  return out;
}

}  // namespace espsec::image
