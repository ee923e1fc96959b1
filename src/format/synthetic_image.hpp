// Well-formed ESP32-C3 app and bootloader images with deterministic content, for rehearsing the
// boot chain, OTA and signing without an ESP-IDF build. The segment layout follows what ESP-IDF
// links and esptool elf2image arranges; segment contents are filler from a seeded generator.
//
// App (all addresses ESP32-C3):
//   DROM  0x3C000020            esp_app_desc_t, then filler (about a quarter of the image)
//   DRAM  0x3FC8B400 (6 KiB)    \ sliced by esptool's layout into the gap before IROM,
//   IRAM  0x40380000 (40 KiB)       / the rest after it
//   IROM  0x42000020 + (pages DROM occupies) x 64 KiB: the C3 instruction and data windows
//         index one shared MMU table, so the two must not use the same page numbers
//   [secure padding v2: a zero segment so the SHA-256 ends on a 64 KiB boundary]
// Bootloader (ESP-IDF components/bootloader/subproject/main/ld/esp32c3/bootloader.memory.ld.in):
//   DRAM  0x3FCD5710 (8 KiB)    esp_bootloader_desc_t, then filler
//   IRAM  0x403CC710 (7 KiB)    (iram_seg)
//   IRAM  0x403CE710 (9 KiB)    (iram_loader_seg)
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "format/image.hpp"

namespace espsec::image {

inline constexpr uint64_t kMinAppImageSize = 0x20000;  // 128 KiB
// The C3 flash MMU maps 8 MiB (ESP-IDF soc.h SOC_IROM_HIGH - SOC_IROM_LOW); the IROM segment's
// virtual offset equals its file offset, so a larger image could not be mapped.
inline constexpr uint64_t kMaxAppImageSize = 0x800000;
inline constexpr uint32_t kMaxSecureVersionEsp32c3 = 16;  // eFuse SECURE_VERSION is 16 bits (thermometer)

struct AppImageSpec {
  std::string chip = "esp32c3";
  std::string project_name;
  std::string version;               // PROJECT_VER, at most 31 bytes
  std::string idf_version = "v5.4.1";
  uint32_t secure_version = 0;
  uint64_t size = 0;                 // wanted file length; the result is within 16 bytes below it
                                     // (with secure_pad: the 64 KiB multiple at or below it)
  bool secure_pad = false;           // esptool --secure-pad-v2
  uint64_t seed = 1;
};

// Codes: "image_new.chip", "image_new.size", "image_new.secure_version", and
// "image.app_desc_field" when a string does not fit esp_app_desc_t.
[[nodiscard]] Result<Bytes> make_app_image(const AppImageSpec& spec);

struct BootloaderImageSpec {
  std::string chip = "esp32c3";
  uint32_t version = 1;              // CONFIG_BOOTLOADER_PROJECT_VER
  std::string idf_version = "v5.4.1";
  uint64_t seed = 1;
};

// Codes: "image_new.chip", "image.bootloader_desc_field". The result leaves room below the partition table
// (0x8000) for 4 KiB alignment and a signature sector.
[[nodiscard]] Result<Bytes> make_bootloader_image(const BootloaderImageSpec& spec);

}  // namespace espsec::image
