#include "format/synthetic_image.hpp"

#include <fmt/format.h>

#include "crypto/hash.hpp"
#include "crypto/random.hpp"

namespace espsec::image {
namespace {

constexpr uint32_t kPage = 0x10000;
constexpr uint32_t kAppDromAddr = 0x3C000020;
constexpr uint32_t kAppDramAddr = 0x3FC8B400;
constexpr uint32_t kAppDramLength = 0x1800;
constexpr uint32_t kAppIramAddr = 0x40380000;
constexpr uint32_t kAppIramLength = 0xA000;
constexpr uint32_t kAppIromBase = 0x42000000;
constexpr uint32_t kAppDromGap = 0x4000;
// Secure padding left in front of the 64 KiB boundary, so the padding segment is not empty.
constexpr uint64_t kSecurePadSlack = 0x100;

constexpr uint32_t kBootDramAddr = 0x3FCD5710;
constexpr uint32_t kBootIramAddr = 0x403CC710;
constexpr uint32_t kBootIramLoaderAddr = 0x403CE710;
constexpr size_t kBootDramLength = 0x2000;
constexpr size_t kBootIramLength = 0x1C00;
constexpr size_t kBootIramLoaderLength = 0x2400;

// ESP-IDF defaults for the C3: min chip revision v0.3 (ESP32C3_REV_MIN_3), max v1.99
// (ESP32C3_REV_MAX_FULL), max eFuse block revision v1.99 (ESP_EFUSE_BLOCK_REV_MAX_FULL).
constexpr uint16_t kMinChipRevFull = 3;
constexpr uint16_t kMaxRevFull = 199;
// Fixed build stamps keep images reproducible from their options.
constexpr const char* kBuildDate = "Jan  1 2025";
constexpr const char* kBuildTime = "00:00:00";

Result<const Chip*> c3_only(const std::string& name) {
  const Chip* chip = chip_by_name(name);
  if (chip == nullptr) return fail("image_new.chip", "unknown chip '{}'", name);
  if (chip->id != esp32c3().id) return fail("image_new.chip", "image new makes ESP32-C3 images only, not {}", chip->display);
  return chip;
}

Header c3_header(uint32_t entry) {
  Header h;
  h.spi_mode = 2;    // DIO
  h.spi_speed = 0xF;  // 80 MHz
  h.spi_size = 2;    // 4 MB
  h.entry_addr = entry;
  h.chip_id = esp32c3().id;
  h.min_chip_rev = static_cast<uint8_t>(kMinChipRevFull);
  h.min_chip_rev_full = kMinChipRevFull;
  h.max_chip_rev_full = kMaxRevFull;
  h.hash_appended = 1;
  return h;
}

uint64_t segments_end(std::span<const SegmentData> segments) {
  uint64_t end = kHeaderSize;
  for (const SegmentData& s : segments) end += kSegmentHeaderSize + s.data.size();
  return end;
}

}  // namespace

Result<Bytes> make_app_image(const AppImageSpec& spec) {
  ESPSEC_ASSIGN_OR_RETURN(const Chip* chip, c3_only(spec.chip));
  if (spec.size < kMinAppImageSize || spec.size > kMaxAppImageSize)
    return fail("image_new.size", "--size {} is out of range: app images are {} to {} bytes", spec.size,
                kMinAppImageSize, kMaxAppImageSize);
  if (spec.secure_version > kMaxSecureVersionEsp32c3)
    return fail("image_new.secure_version", "--secure-version {} is above {}, the most the ESP32-C3 eFuse can count",
                spec.secure_version, kMaxSecureVersionEsp32c3);
  const uint64_t target = spec.secure_pad ? spec.size / kPage * kPage : spec.size / 16 * 16;

  crypto::DeterministicRng rng(spec.seed);
  AppDesc desc;
  desc.secure_version = spec.secure_version;
  desc.version = spec.version;
  desc.project_name = spec.project_name;
  desc.time = kBuildTime;
  desc.date = kBuildDate;
  desc.idf_ver = spec.idf_version;
  desc.max_efuse_blk_rev_full = kMaxRevFull;
  desc.mmu_page_size = 16;  // log2(64 KiB)
  desc.spi_flash_mode = 2;  // DIO, CONFIG_ESPTOOLPY_FLASHMODE_VAL

  // About a quarter of the image, ending kAppDromGap short of a page boundary: esptool then
  // fills the gap before IROM with DRAM and a slice of IRAM, and the rest of IRAM follows IROM.
  const uint64_t drom_length = target / 4 / kPage * kPage + kPage - kAppDromGap - kAppDromAddr % kPage;
  const uint64_t drom_pages = (kAppDromAddr % kPage + drom_length + kPage - 1) / kPage;
  const auto irom_addr = static_cast<uint32_t>(kAppIromBase + drom_pages * kPage + kAppDromAddr % kPage);
  Bytes drom_filler = rng.bytes(drom_length - kAppDescSize);
  Bytes dram = rng.bytes(kAppDramLength);
  Bytes iram = rng.bytes(kAppIramLength);

  // The IROM length is what is left once everything else is laid out; only its length matters
  // to the layout, which places nothing but RAM remainders after it.
  auto layout = [&](Bytes irom, Bytes drom) {
    std::vector<SegmentData> segments{{kAppDromAddr, std::move(drom)},
                                      {kAppDramAddr, dram},
                                      {kAppIramAddr, iram},
                                      {irom_addr, std::move(irom)}};
    LayoutOptions options;
    options.secure_pad_v2 = spec.secure_pad;
    return arrange_segments(*chip, std::move(segments), options);
  };
  ESPSEC_ASSIGN_OR_RETURN(const auto probe, layout(Bytes(4, 0), Bytes(drom_length, 0)));
  const uint64_t fixed_end = segments_end(probe) - 4 - (spec.secure_pad ? probe.back().data.size() + kSegmentHeaderSize : 0);
  // Without padding: end of segments E with (E | 0xF) + 1 + 32 == target. With secure padding:
  // the padding segment header and 48 bytes of checksum block and hash fit before the boundary.
  const uint64_t wanted_end = spec.secure_pad ? target - kSegmentHeaderSize - 48 - kSecurePadSlack : target - 36;
  if (wanted_end < fixed_end + 0x100)
    return fail("image_new.size", "--size {} is too small for this layout", spec.size);
  const uint64_t irom_length = wanted_end - fixed_end;

  Bytes irom = rng.bytes(irom_length);
  // There is no ELF: the IROM contents stand in for it.
  desc.app_elf_sha256 = crypto::sha256(irom);
  ESPSEC_ASSIGN_OR_RETURN(Bytes drom, serialize_app_desc(desc));
  drom.insert(drom.end(), drom_filler.begin(), drom_filler.end());
  ESPSEC_ASSIGN_OR_RETURN(const auto segments, layout(std::move(irom), std::move(drom)));
  return build_image(c3_header(kAppIramAddr), segments);
}

Result<Bytes> make_bootloader_image(const BootloaderImageSpec& spec) {
  ESPSEC_TRY(c3_only(spec.chip));
  crypto::DeterministicRng rng(spec.seed);
  BootloaderDesc desc;
  desc.version = spec.version;
  desc.idf_ver = spec.idf_version;
  desc.date_time = fmt::format("{} {}", kBuildDate, kBuildTime);
  ESPSEC_ASSIGN_OR_RETURN(Bytes dram, serialize_bootloader_desc(desc));
  const Bytes dram_filler = rng.bytes(kBootDramLength - dram.size());
  dram.insert(dram.end(), dram_filler.begin(), dram_filler.end());
  const std::vector<SegmentData> segments{{kBootDramAddr, std::move(dram)},
                                          {kBootIramAddr, rng.bytes(kBootIramLength)},
                                          {kBootIramLoaderAddr, rng.bytes(kBootIramLoaderLength)}};
  return build_image(c3_header(kBootIramLoaderAddr), segments);
}

}  // namespace espsec::image
