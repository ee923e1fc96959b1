#include "device/chip_state.hpp"

#include <algorithm>

namespace espsec::device {

image::ChipState chip_state(const efuse::Controller& efuses) {
  image::ChipState state;
  state.chip_id = kChipIdEsp32c3;
  state.chip_revision = kChipRevision;
  state.efuse_block_revision = static_cast<uint16_t>(efuses.block_version());
  state.disable_wafer_version_major = efuses.read_uint("DISABLE_WAFER_VERSION_MAJOR").value_or(0) != 0;
  state.disable_blk_version_major = efuses.read_uint("DISABLE_BLK_VERSION_MAJOR").value_or(0) != 0;
  return state;
}

boot::SecureBootConfig secure_boot_efuses(const efuse::Controller& efuses) {
  boot::SecureBootConfig config;
  config.scheme = sbv2::Scheme::kRsa3072;  // the only Secure Boot v2 scheme of the ESP32-C3
  const efuse::KeyPurpose purposes[] = {efuse::KeyPurpose::kSecureBootDigest0, efuse::KeyPurpose::kSecureBootDigest1,
                                        efuse::KeyPurpose::kSecureBootDigest2};
  for (size_t slot = 0; slot < boot::kDigestSlots; ++slot) {
    config.revoked[slot] = efuses.secure_boot_key_revoked(static_cast<unsigned>(slot));
    const auto block = efuses.key_block_with_purpose(purposes[slot]);
    if (!block) continue;
    const Bytes bits = efuses.read_block(*block);
    crypto::Sha256Digest digest{};
    std::copy_n(bits.begin(), std::min(bits.size(), digest.size()), digest.begin());
    config.key_digests[slot] = digest;
  }
  return config;
}

Result<chip::EncryptedFlash> encryption_engine(Device& device) {
  ESPSEC_ASSIGN_OR_RETURN(const SecretBytes key, device.efuses().flash_encryption_key());
  ESPSEC_ASSIGN_OR_RETURN(auto xts, flashcrypt::FlashXts::from_key_file_bytes(key));
  return chip::EncryptedFlash(device.flash(), std::move(xts));
}

Result<CacheView> CacheView::open(Device& device) {
  CacheView view(device.flash());
  if (device.efuses().flash_encryption_enabled()) {
    ESPSEC_ASSIGN_OR_RETURN(auto engine, encryption_engine(device));
    view.encrypted_.emplace(std::move(engine));
  }
  return view;
}

}  // namespace espsec::device
