#include "device/security_enable.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <variant>

#include "boot/image_verify.hpp"
#include "chip/encrypted_flash.hpp"
#include "device/chip_state.hpp"
#include "format/sbv2.hpp"

namespace espsec::device {
namespace {

using efuse::KeyPurpose;
using efuse::Staged;

constexpr std::array<KeyPurpose, 3> kDigestPurposes = {KeyPurpose::kSecureBootDigest0, KeyPurpose::kSecureBootDigest1,
                                                       KeyPurpose::kSecureBootDigest2};
// WR_DIS bits (boot-chain fact sheet 4.4).
constexpr int kWrDisRdDis = 0;
constexpr int kWrDisDisIcacheGroup = 2;

// A staging request the bootloader makes unconditionally: a refusal means the eFuses are in a
// state the bootloader cannot handle, and it aborts.
Status stage(Result<Staged> staged) {
  if (!staged) return std::unexpected(staged.error());
  return {};
}

Result<std::optional<Halt>> halt_or_fail(Error error, std::string_view what) {
  if (emulation_failure(error)) return std::unexpected(std::move(error));
  return std::optional<Halt>(Halt{error.code, fmt::format("{}: {}", what, error.message)});
}

// Key digests of the app's valid signature blocks whose image digest matches the app.
std::vector<crypto::Sha256Digest> app_key_digests(ImageRef app) {
  std::vector<crypto::Sha256Digest> out;
  const auto& info = *app.info;
  if (!info.has_signature_sector || !info.signed_digest || app.bytes.size() < info.signed_total_length) return out;
  const auto slots = sbv2::parse_sector(app.bytes.subspan(info.signed_length, sbv2::kSectorSize));
  for (const auto& slot : slots)
    if (slot.block && slot.block->scheme == sbv2::Scheme::kRsa3072 &&
        crypto::constant_time_equal(slot.block->image_digest, *info.signed_digest))
      out.push_back(sbv2::key_digest(slot.block->key_field));
  return out;
}

// esp_secure_boot_enable_secure_features (ESP32-C3), staged into `batch`.
Status stage_secure_boot_features(efuse::Controller& efuses, efuse::Batch& batch, const SecurityConfig& config,
                                  BootLog& log) {
  ESPSEC_TRY(stage(batch.set_field("DIS_DIRECT_BOOT", 1)));
  switch (config.rom_download_mode) {
    case RomDownloadMode::kSecure:
      if (efuses.read_uint("DIS_DOWNLOAD_MODE").value_or(0) == 0) {
        log.info("secure_boot", "Enabling Security download mode...");
        ESPSEC_TRY(stage(batch.set_field("ENABLE_SECURITY_DOWNLOAD", 1)));
      }
      break;
    case RomDownloadMode::kDisabled:
      log.info("secure_boot", "Disabling ROM Download mode...");
      ESPSEC_TRY(stage(batch.set_field("DIS_DOWNLOAD_MODE", 1)));
      break;
    case RomDownloadMode::kEnabled:
      log.warn("secure_boot", "Insecure allowing ROM download mode");
      break;
  }
  if (!config.allow_jtag) {
    ESPSEC_TRY(stage(batch.set_field("DIS_PAD_JTAG", 1)));
    ESPSEC_TRY(stage(batch.set_field("DIS_USB_JTAG", 1)));
    ESPSEC_TRY(stage(batch.set_field("SOFT_DIS_JTAG", 7)));
  } else {
    log.warn("secure_boot", "Not disabling JTAG - SECURITY COMPROMISED");
  }
  if (config.aggressive_revoke) ESPSEC_TRY(stage(batch.set_field("SECURE_BOOT_AGGRESSIVE_REVOKE", 1)));
  ESPSEC_TRY(stage(batch.set_field("SECURE_BOOT_EN", 1)));
  // With flash encryption still to come, RD_DIS stays writable so the flash-encryption key can
  // be read-protected; that step locks it.
  const bool fe_pending = config.flash_encryption != FlashEncryption::kNone && !efuses.flash_encryption_enabled();
  if (!fe_pending) ESPSEC_TRY(stage(batch.write_protect(kWrDisRdDis)));
  return {};
}

}  // namespace

bool emulation_failure(const Error& error) {
  return error.code == "flash.power_lost" || error.code == "efuse.power_lost" || error.code.starts_with("io.");
}

Result<std::optional<Halt>> enable_secure_boot(Device& device, BootLog& log, std::vector<std::string>& notes,
                                               ImageRef bootloader, ImageRef app) {
  efuse::Controller& efuses = device.efuses();
  if (efuses.secure_boot_enabled()) {
    log.info("secure_boot_v2", "secure boot v2 is already enabled, continuing..");
    return std::optional<Halt>();
  }
  log.info("secure_boot_v2", "enabling secure boot v2...");
  efuse::Batch batch = efuses.begin_batch();

  std::vector<crypto::Sha256Digest> boot_digests;
  std::array<bool, boot::kDigestSlots> preloaded{};
  for (size_t i = 0; i < boot::kDigestSlots; ++i)
    preloaded[i] = efuses.key_block_with_purpose(kDigestPurposes[i]).has_value();
  if (!preloaded[0] && !preloaded[1] && !preloaded[2]) {
    log.info("secure_boot_v2", "Secure boot digests absent, generating..");
    auto digests = boot::signature_key_digests(*bootloader.info, bootloader.bytes, sbv2::Scheme::kRsa3072);
    if (!digests) return halt_or_fail(digests.error(), "bootloader signature");
    if (digests->empty())
      return std::optional<Halt>(Halt{"secure_boot.no_bootloader_signature",
                                      "the bootloader has no valid signature block; Secure Boot cannot be enabled"});
    log.info("secure_boot_v2", fmt::format("{} signature block(s) found appended to the bootloader.", digests->size()));
    for (size_t i = 0; i < digests->size(); ++i) {
      const auto key = SecretBytes::copy_of((*digests)[i]);
      auto block = batch.write_key_to_unused_block(kDigestPurposes[i], key);
      if (!block) return halt_or_fail(block.error(), "burning the Secure Boot key digest");
      log.info("efuse", fmt::format("Writing EFUSE_BLK_KEY{} with purpose {}", *block - 4,
                                    static_cast<int>(kDigestPurposes[i])));
      notes.push_back(fmt::format("burned SECURE_BOOT_DIGEST{} = {} into BLOCK_KEY{}", i, to_hex((*digests)[i]),
                                  *block - 4));
    }
    log.info("secure_boot_v2", "Digests successfully calculated, " + std::to_string(digests->size()) +
                                   " valid signatures (image offset 0x0)");
    boot_digests = std::move(*digests);
  } else {
    log.info("secure_boot_v2", "Using pre-loaded public key digest in eFuse");
    const boot::SecureBootConfig burned = secure_boot_efuses(efuses);
    for (size_t i = 0; i < boot::kDigestSlots; ++i) {
      if (!preloaded[i]) continue;
      const unsigned block = *efuses.key_block_with_purpose(kDigestPurposes[i]);
      if (!efuses.block_readable(block) || std::all_of(burned.key_digests[i]->begin(), burned.key_digests[i]->end(),
                                                       [](uint8_t b) { return b == 0; }))
        return std::optional<Halt>(Halt{"secure_boot.digest_unusable",
                                        fmt::format("SECURE_BOOT_DIGEST{} is read-protected or empty", i)});
      if (auto s = stage(batch.write_protect(efuses.block(block).wr_dis_bit)); !s)
        return halt_or_fail(s.error(), "write-protecting the key digest");
      boot_digests.push_back(*burned.key_digests[i]);
    }
  }

  // The app must be signed by one of the bootloader's (non-revoked) keys.
  const auto app_digests = app_key_digests(app);
  bool matched = false;
  for (size_t a = 0; a < app_digests.size() && !matched; ++a)
    for (size_t b = 0; b < boot_digests.size() && !matched; ++b)
      if (!efuses.secure_boot_key_revoked(static_cast<unsigned>(b)) &&
          crypto::constant_time_equal(app_digests[a], boot_digests[b])) {
        log.info("secure_boot_v2", fmt::format("Application key({}) matches with bootloader key({}).", a, b));
        matched = true;
      }
  if (!matched)
    return std::optional<Halt>(Halt{"secure_boot.app_key_mismatch",
                                    "No application key digest matches the bootloader key digest."});

  for (size_t i = boot_digests.size(); i < boot::kDigestSlots; ++i) {
    log.info("secure_boot_v2", fmt::format("Revoking empty key digest slot ({})...", i));
    if (auto s = stage(batch.set_field(fmt::format("SECURE_BOOT_KEY_REVOKE{}", i), 1)); !s)
      return halt_or_fail(s.error(), "revoking an empty digest slot");
    notes.push_back(fmt::format("revoked unused Secure Boot digest slot {}", i));
  }
  if (auto s = stage_secure_boot_features(efuses, batch, device.config().security, log); !s)
    return halt_or_fail(s.error(), "Secure Boot security eFuses");
  log.info("secure_boot_v2", "blowing secure boot efuse...");
  if (auto s = batch.commit(); !s) return halt_or_fail(s.error(), "burning the Secure Boot eFuses");
  notes.push_back("Secure Boot v2 permanently enabled (SECURE_BOOT_EN, DIS_DIRECT_BOOT, JTAG and download-mode "
                  "restrictions as configured)");
  log.info("secure_boot_v2", "Secure boot permanently enabled");
  return std::optional<Halt>();
}

namespace {

// In place, sector by sector, as esp_flash_encrypt_region does.
Status encrypt_region(Device& device, chip::EncryptedFlash& engine, uint32_t offset, uint32_t length) {
  Bytes sector(chip::kSectorSize);
  const uint32_t end = static_cast<uint32_t>(align_up(static_cast<uint64_t>(offset) + length, chip::kSectorSize));
  for (uint32_t addr = offset; addr < end; addr += chip::kSectorSize) {
    ESPSEC_TRY(device.flash().read(addr, sector));
    ESPSEC_TRY(device.flash().erase_sector(addr));
    ESPSEC_TRY(engine.program(addr, sector));
  }
  return {};
}

// Length ESP-IDF encrypts for an app or bootloader partition: the verified plaintext image
// (with the signature sector when Secure Boot is configured), or nothing when it holds none.
Result<std::optional<uint64_t>> plaintext_image_length(Device& device, uint32_t offset, uint32_t size,
                                                       image::Role role) {
  ESPSEC_ASSIGN_OR_RETURN(const Bytes bytes, device.flash().read_bytes(offset, size));
  boot::VerifyOptions options;
  options.role = role;
  options.partition_size = size;
  options.require_app_desc = false;
  // Parsed (and hashed) once for both the key digests and the verification.
  auto info = image::parse_image(bytes);
  if (!info) return std::optional<uint64_t>();
  if (device.config().security.secure_boot) {
    // First boot: the digests just burned (or to be burned) are the bootloader's own keys; the
    // length only needs a structurally valid signed image, so verify against its own blocks.
    auto digests = boot::signature_key_digests(*info, bytes, sbv2::Scheme::kRsa3072);
    if (!digests || digests->empty()) return std::optional<uint64_t>();
    boot::SecureBootConfig own;
    for (size_t i = 0; i < digests->size() && i < boot::kDigestSlots; ++i) own.key_digests[i] = (*digests)[i];
    options.secure_boot = own;
  }
  auto verified = boot::verify_image(std::move(*info), bytes, chip_state(device.efuses()), options);
  if (!verified) return std::optional<uint64_t>();
  return std::optional<uint64_t>(verified->length);
}

std::string_view partition_kind(const partition::Entry& e) {
  if (e.type == partition::type::kApp) return "app";
  if (e.type == partition::type::kData && e.subtype == partition::subtype::kDataOta) return "otadata";
  if (e.type == partition::type::kData && e.subtype == partition::subtype::kNvsKeys) return "nvs_keys";
  return "data";
}

// esp_flash_encrypt_contents.
Result<std::optional<Halt>> encrypt_contents(Device& device, BootLog& log, std::vector<std::string>& notes,
                                             const partition::Table& table, chip::EncryptedFlash& engine) {
  const uint32_t table_offset = device.config().partition_table_offset;
  ESPSEC_ASSIGN_OR_RETURN(const auto boot_len, plaintext_image_length(device, 0, table_offset, image::Role::kBootloader));
  if (!boot_len)
    return std::optional<Halt>(Halt{"flash_encryption.no_bootloader",
                                    "no valid bootloader was found; flash encryption aborted"});
  ESPSEC_TRY(encrypt_region(device, engine, 0, static_cast<uint32_t>(*boot_len)));
  log.info("flash_encrypt", "bootloader encrypted successfully");
  ESPSEC_TRY(encrypt_region(device, engine, table_offset, partition::kTableSectorSize));
  log.info("flash_encrypt", "partition table encrypted and loaded successfully");
  for (size_t i = 0; i < table.entries.size(); ++i) {
    const partition::Entry& e = table.entries[i];
    if (e.type == partition::type::kBootloader || e.type == partition::type::kPartitionTable) continue;
    uint64_t length = 0;
    if (e.type == partition::type::kApp) {
      ESPSEC_ASSIGN_OR_RETURN(const auto len, plaintext_image_length(device, e.offset, e.size, image::Role::kApp));
      if (!len) continue;  // no plaintext image in this slot: nothing to protect yet
      length = *len;
    } else if (e.type == partition::type::kData &&
               (e.subtype == partition::subtype::kDataOta || e.subtype == partition::subtype::kNvsKeys ||
                e.subtype == partition::subtype::kTeeOta)) {
      length = e.size;
    } else if (e.encrypted()) {
      length = e.size;
    } else {
      continue;
    }
    log.info("flash_encrypt",
             fmt::format("Encrypting partition {} at offset 0x{:x} (length 0x{:x})...", i, e.offset, length));
    ESPSEC_TRY(encrypt_region(device, engine, e.offset, static_cast<uint32_t>(length)));
    log.info("flash_encrypt", "Done encrypting");
    notes.push_back(fmt::format("encrypted {} partition '{}' in place (0x{:x} bytes)", partition_kind(e), e.label,
                                align_up(length, chip::kSectorSize)));
  }
  return std::optional<Halt>();
}

// esp_flash_encrypt_init + flash_encryption_secure_features (ESP32-C3), one batch.
Result<std::optional<Halt>> init_flash_encryption(Device& device, BootLog& log, std::vector<std::string>& notes) {
  efuse::Controller& efuses = device.efuses();
  const SecurityConfig& config = device.config().security;
  const bool release = config.flash_encryption == FlashEncryption::kRelease;
  efuse::Batch batch = efuses.begin_batch();
  if (const auto block = efuses.key_block_with_purpose(KeyPurpose::kXtsAes128Key)) {
    const auto& info = efuses.block(*block);
    if (efuses.block_readable(*block) || efuses.block_writeable(*block))
      return std::optional<Halt>(Halt{"flash_encryption.key_unprotected",
                                      fmt::format("the flash-encryption key in {} is not read- and write-protected",
                                                  info.name)});
    log.info("flash_encrypt", "Using pre-loaded flash encryption key in efuse");
  } else {
    log.info("flash_encrypt", "Generating new flash encryption key...");
    const SecretBytes key = device.rng().secret(32);
    auto burned = batch.write_key_to_unused_block(KeyPurpose::kXtsAes128Key, key);
    if (!burned) return halt_or_fail(burned.error(), "burning the flash-encryption key");
    log.info("efuse", fmt::format("Writing EFUSE_BLK_KEY{} with purpose {}", *burned - 4,
                                  static_cast<int>(KeyPurpose::kXtsAes128Key)));
    notes.push_back(fmt::format("generated the XTS-AES-128 flash-encryption key in BLOCK_KEY{} (read- and "
                                "write-protected)",
                                *burned - 4));
  }
  auto staged = [&]() -> Status {
    if (release) ESPSEC_TRY(stage(batch.set_field("DIS_DOWNLOAD_MANUAL_ENCRYPT", 1)));
    ESPSEC_TRY(stage(batch.set_field("DIS_DOWNLOAD_ICACHE", 1)));
    if (!config.allow_jtag) {
      ESPSEC_TRY(stage(batch.set_field("DIS_PAD_JTAG", 1)));
      ESPSEC_TRY(stage(batch.set_field("DIS_USB_JTAG", 1)));
    }
    ESPSEC_TRY(stage(batch.set_field("DIS_DIRECT_BOOT", 1)));
    if (config.secure_boot) ESPSEC_TRY(stage(batch.write_protect(kWrDisRdDis)));
    // Development mode leaves the DIS_ICACHE group writable: it would also lock
    // DIS_DOWNLOAD_MANUAL_ENCRYPT, which a later switch to release mode must burn.
    if (release) ESPSEC_TRY(stage(batch.write_protect(kWrDisDisIcacheGroup)));
    return {};
  }();
  if (!staged) return halt_or_fail(staged.error(), "flash-encryption security eFuses");
  if (auto s = batch.commit(); !s) return halt_or_fail(s.error(), "burning the flash-encryption eFuses");
  notes.push_back(release ? "burned release-mode flash-encryption eFuses (DIS_DOWNLOAD_MANUAL_ENCRYPT, "
                            "DIS_DOWNLOAD_ICACHE, JTAG, DIS_DIRECT_BOOT, WR_DIS of the cache group)"
                          : "burned development-mode flash-encryption eFuses (DIS_DOWNLOAD_ICACHE, JTAG, "
                            "DIS_DIRECT_BOOT)");
  return std::optional<Halt>();
}

}  // namespace

Result<std::variant<FlashEncryptionStep, Halt>> check_and_update_flash_encryption(Device& device, BootLog& log,
                                                                                  std::vector<std::string>& notes,
                                                                                  const partition::Table& table) {
  using Out = std::variant<FlashEncryptionStep, Halt>;
  efuse::Controller& efuses = device.efuses();
  log.info("boot", "Checking flash encryption...");
  if (efuses.flash_encryption_enabled()) {
    log.info("flash_encrypt",
             fmt::format("flash encryption is enabled ({} plaintext flashes left)", efuses.plaintext_flashes_left()));
    return Out(FlashEncryptionStep::kAlreadyEnabled);
  }
  ESPSEC_ASSIGN_OR_RETURN(const auto init_halt, init_flash_encryption(device, log, notes));
  if (init_halt) return Out(*init_halt);

  auto engine = encryption_engine(device);
  if (!engine) {
    if (emulation_failure(engine.error())) return std::unexpected(engine.error());
    return Out(Halt{engine.error().code, "flash-encryption key unavailable: " + engine.error().message});
  }
  ESPSEC_ASSIGN_OR_RETURN(const auto contents_halt, encrypt_contents(device, log, notes, table, *engine));
  if (contents_halt) return Out(*contents_halt);

  // esp_flash_encrypt_enable: one more bit (development) or every remaining bit (release).
  const uint64_t cnt = efuses.read_uint("SPI_BOOT_CRYPT_CNT").value_or(0);
  const uint64_t next =
      device.config().security.flash_encryption == FlashEncryption::kRelease ? 0x7 : (cnt | (cnt + 1)) & 0x7;
  efuse::Batch batch = efuses.begin_batch();
  Status burned = stage(batch.set_field("SPI_BOOT_CRYPT_CNT", next));
  if (burned) burned = batch.commit();
  if (!burned) {
    if (emulation_failure(burned.error())) return std::unexpected(burned.error());
    return Out(Halt{burned.error().code, "burning SPI_BOOT_CRYPT_CNT: " + burned.error().message});
  }
  notes.push_back(fmt::format("SPI_BOOT_CRYPT_CNT 0b{:03b} -> 0b{:03b}: flash encryption enabled", cnt, next));
  log.info("flash_encrypt", "Flash encryption completed");
  log.info("boot", "Resetting with flash encryption enabled...");
  return Out(FlashEncryptionStep::kEnabledResetNeeded);
}

}  // namespace espsec::device
