// The chip's ROM download mode as esptool meets it (esptool cmds.py write_flash / read_flash
// and the ROM's Secure Download Mode): what a flashing tool may write or read, given the eFuses.
//
//   DIS_DOWNLOAD_MODE                  the chip never enters download mode: nothing is possible
//   ENABLE_SECURITY_DOWNLOAD (SDM)     flash writes only; reads are refused
//   --encrypt                          written through the flash-encryption engine (key in
//                                      eFuse); refused when DIS_DOWNLOAD_MANUAL_ENCRYPT is set
//                                      (outside SDM), without a key, or at an address that is
//                                      not 16-byte aligned
//   plaintext onto an encrypted device refused unless forced: the ROM would decrypt it into
//                                      garbage at boot (esptool refuses it in SDM and in release
//                                      mode; espsec also in development mode)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/device.hpp"

namespace espsec::device {

enum class DownloadMode { kNormal, kSecure, kDisabled };
DownloadMode download_mode(const efuse::Controller& efuses);
std::string_view to_string(DownloadMode mode);

struct FlashWrite {
  uint32_t address = 0;
  Bytes data;
  std::string name;  // for messages
};

struct FlashWriteOptions {
  bool encrypt = false;
  bool force = false;  // esptool --force: write plaintext onto an encrypted device anyway
};

// Checks every write first (nothing is written when one is refused), then erases the sectors
// each write touches and programs it (0xFF-padded to 4 bytes, 16 when encrypted). Codes:
// download.disabled, download.manual_encrypt_disabled, download.no_flash_key,
// download.encrypt_alignment, download.plaintext_on_encrypted, download.range, download.overlap.
[[nodiscard]] Status write_flash(Device& device, std::span<const FlashWrite> writes, const FlashWriteOptions& options);

// Raw flash bytes (ciphertext where encrypted), as esptool read-flash returns them. Codes:
// download.disabled, download.secure_mode, download.range.
[[nodiscard]] Result<Bytes> read_flash(Device& device, uint32_t address, uint32_t size);

}  // namespace espsec::device
