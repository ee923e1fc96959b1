#include "device/download.hpp"

#include <algorithm>

#include "device/chip_state.hpp"

namespace espsec::device {

DownloadMode download_mode(const efuse::Controller& efuses) {
  if (efuses.read_uint("DIS_DOWNLOAD_MODE").value_or(0) != 0) return DownloadMode::kDisabled;
  if (efuses.read_uint("ENABLE_SECURITY_DOWNLOAD").value_or(0) != 0) return DownloadMode::kSecure;
  return DownloadMode::kNormal;
}

std::string_view to_string(DownloadMode mode) {
  switch (mode) {
    case DownloadMode::kNormal: return "normal";
    case DownloadMode::kSecure: return "secure download mode";
    case DownloadMode::kDisabled: return "disabled";
  }
  return "?";
}

namespace {

Status refuse_if_disabled(const efuse::Controller& efuses) {
  if (download_mode(efuses) == DownloadMode::kDisabled)
    return fail("download.disabled",
                "ROM download mode is disabled by eFuse DIS_DOWNLOAD_MODE: the chip does not answer a flashing tool");
  return {};
}

Status check_write(const Device& device, const efuse::Controller& efuses, const FlashWrite& w,
                   const FlashWriteOptions& options) {
  const uint64_t padded = align_up(w.data.size(), options.encrypt ? 16 : 4);
  if (w.data.empty() || w.address + padded > device.config().flash_size)
    return fail("download.range", "{} at 0x{:x} ({} bytes) does not fit in the {} MiB flash", w.name, w.address,
                w.data.size(), device.config().flash_size >> 20);
  const bool sdm = download_mode(efuses) == DownloadMode::kSecure;
  const bool encrypted_device = efuses.flash_encryption_enabled();
  const bool manual_encrypt_disabled = efuses.read_uint("DIS_DOWNLOAD_MANUAL_ENCRYPT").value_or(0) != 0;
  if (options.encrypt) {
    if (!sdm && manual_encrypt_disabled)
      return fail("download.manual_encrypt_disabled",
                  "This chip has encrypt functionality in UART download mode disabled (DIS_DOWNLOAD_MANUAL_ENCRYPT). "
                  "This is the Flash Encryption configuration for Production mode instead of Development mode.");
    if (!efuses.key_block_with_purpose(efuse::KeyPurpose::kXtsAes128Key))
      return fail("download.no_flash_key", "Flash encryption key is not programmed: can't perform encrypted flash write");
    if (w.address % 16 != 0)
      return fail("download.encrypt_alignment", "{} (address 0x{:x}) is not 16 byte aligned, can't flash encrypted",
                  w.name, w.address);
    return {};
  }
  if (encrypted_device && !options.force) {
    if (sdm)
      return fail("download.plaintext_on_encrypted",
                  "Detected flash encryption and secure download mode enabled: flashing plaintext {} would brick the "
                  "device (use --encrypt, or --force to override)",
                  w.name);
    if (manual_encrypt_disabled)
      return fail("download.plaintext_on_encrypted",
                  "Detected flash encryption enabled and download manual encrypt disabled: {} must be encrypted "
                  "appropriately before flashing (use --force to override)",
                  w.name);
    return fail("download.plaintext_on_encrypted",
                "flash encryption is enabled: plaintext {} would be decrypted into garbage at boot (use --encrypt, or "
                "--force to write it anyway)",
                w.name);
  }
  return {};
}

}  // namespace

Status write_flash(Device& device, std::span<const FlashWrite> writes, const FlashWriteOptions& options) {
  efuse::Controller& efuses = device.efuses();
  ESPSEC_TRY(refuse_if_disabled(efuses));
  for (const FlashWrite& w : writes) ESPSEC_TRY(check_write(device, efuses, w, options));
  for (size_t i = 0; i < writes.size(); ++i)
    for (size_t j = i + 1; j < writes.size(); ++j) {
      const auto& a = writes[i];
      const auto& b = writes[j];
      if (a.address < b.address + b.data.size() && b.address < a.address + a.data.size())
        return fail("download.overlap", "{} and {} overlap", a.name, b.name);
    }
  std::optional<chip::EncryptedFlash> engine;
  if (options.encrypt) {
    ESPSEC_ASSIGN_OR_RETURN(auto e, encryption_engine(device));
    engine.emplace(std::move(e));
  }
  for (const FlashWrite& w : writes) {
    Bytes data = w.data;
    data.resize(align_up(data.size(), options.encrypt ? 16 : 4), 0xFF);
    const uint32_t first = w.address & ~(chip::kSectorSize - 1);
    const uint32_t end = static_cast<uint32_t>(align_up(w.address + data.size(), chip::kSectorSize));
    ESPSEC_TRY(device.flash().erase_range(first, end - first));
    if (engine) ESPSEC_TRY(engine->program(w.address, data));
    else ESPSEC_TRY(device.flash().program(w.address, data));
  }
  return device.sync();
}

Result<Bytes> read_flash(Device& device, uint32_t address, uint32_t size) {
  ESPSEC_TRY(refuse_if_disabled(device.efuses()));
  if (download_mode(device.efuses()) == DownloadMode::kSecure)
    return fail("download.secure_mode", "reading flash is not supported in Secure Download Mode (ENABLE_SECURITY_DOWNLOAD)");
  if (size == 0 || static_cast<uint64_t>(address) + size > device.config().flash_size)
    return fail("download.range", "0x{:x} bytes at 0x{:x} are not inside the {} MiB flash", size, address,
                device.config().flash_size >> 20);
  return device.flash().read_bytes(address, size);
}

}  // namespace espsec::device
