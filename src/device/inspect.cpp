#include "device/inspect.hpp"

#include "chip/flash_window.hpp"
#include "device/chip_state.hpp"
#include "device/download.hpp"
#include "format/partition_table.hpp"
#include "ota/otadata_ops.hpp"

namespace espsec::device {

Result<DeviceInfo> inspect(Device& device) {
  DeviceInfo info;
  info.config = device.config();
  efuse::Controller& efuses = device.efuses();
  SecurityState& s = info.security;
  s.secure_boot_enabled = efuses.secure_boot_enabled();
  const boot::SecureBootConfig sb = secure_boot_efuses(efuses);
  for (size_t i = 0; i < boot::kDigestSlots; ++i)
    s.key_digests.push_back(sb.revoked[i] ? "revoked" : sb.key_digests[i] ? to_hex(*sb.key_digests[i]) : "empty");
  s.aggressive_revoke = efuses.read_uint("SECURE_BOOT_AGGRESSIVE_REVOKE").value_or(0) != 0;
  switch (efuses.flash_encryption_mode()) {
    case efuse::FlashEncryptionMode::kDisabled: s.flash_encryption = "disabled"; break;
    case efuse::FlashEncryptionMode::kDevelopment: s.flash_encryption = "development"; break;
    case efuse::FlashEncryptionMode::kRelease: s.flash_encryption = "release"; break;
  }
  s.crypt_cnt = static_cast<unsigned>(efuses.read_uint("SPI_BOOT_CRYPT_CNT").value_or(0));
  s.plaintext_flashes_left = efuses.flash_encryption_enabled() ? efuses.plaintext_flashes_left() : 0;
  s.download_mode = std::string(to_string(download_mode(efuses)));
  s.jtag_disabled = efuses.read_uint("DIS_PAD_JTAG").value_or(0) != 0 && efuses.read_uint("DIS_USB_JTAG").value_or(0) != 0;
  s.secure_version = efuses.secure_version();

  auto view = CacheView::open(device);
  if (!view) {
    info.partitions.push_back("flash unreadable: " + view.error().message);
    return info;
  }
  ESPSEC_ASSIGN_OR_RETURN(const Bytes table_bytes,
                          view->flash().read_bytes(device.config().partition_table_offset, partition::kTableMaxLength));
  auto table = partition::verify_table(table_bytes, device.config().flash_size);
  if (!table) {
    info.partitions.push_back("partition table does not verify: " + table.error().message);
    return info;
  }
  for (const auto& e : table->entries)
    info.partitions.push_back(fmt::format("{:<16} {:<15} 0x{:06x} 0x{:06x}{}", e.label,
                                          partition::type_name(e.type) + "/" + partition::subtype_name(e.type, e.subtype),
                                          e.offset, e.size, e.encrypted() ? " encrypted" : ""));
  const auto* otadata = table->find(partition::type::kData, partition::subtype::kDataOta);
  if (!otadata) {
    info.otadata = "no otadata partition";
    return info;
  }
  ESPSEC_ASSIGN_OR_RETURN(auto window, chip::FlashWindow::make(view->flash(), otadata->offset, otadata->size));
  ESPSEC_ASSIGN_OR_RETURN(const auto pair, ota::read_otadata(window));
  const auto layout = ota::AppLayout::from_table(*table);
  const auto slot = ota::boot_partition(pair, layout);
  std::string detail;
  for (int i = 0; i < 2; ++i) {
    const auto& e = pair[i];
    detail += fmt::format("; sector {}: {}", i,
                          e.ota_seq == otadata::kSeqEmpty ? std::string("empty")
                          : !e.crc_matches()              ? std::string("corrupt (CRC)")
                                                          : fmt::format("seq {} {}", e.ota_seq, otadata::state_name(e.ota_state)));
  }
  info.otadata = (slot ? "selects " + ota::to_string(*slot) : std::string("selects nothing")) + detail;
  return info;
}

nlohmann::json to_json(const DeviceInfo& info) {
  const SecurityState& s = info.security;
  return {{"id", info.config.id},
          {"chip", info.config.chip},
          {"flash_size", info.config.flash_size},
          {"configured",
           {{"secure_boot", info.config.security.secure_boot},
            {"flash_encryption", to_string(info.config.security.flash_encryption)},
            {"rom_download_mode", to_string(info.config.security.rom_download_mode)},
            {"app_rollback", info.config.security.app_rollback},
            {"anti_rollback", info.config.security.anti_rollback}}},
          {"efuses",
           {{"secure_boot_enabled", s.secure_boot_enabled},
            {"secure_boot_key_digests", s.key_digests},
            {"aggressive_revoke", s.aggressive_revoke},
            {"flash_encryption", s.flash_encryption},
            {"spi_boot_crypt_cnt", s.crypt_cnt},
            {"plaintext_flashes_left", s.plaintext_flashes_left},
            {"download_mode", s.download_mode},
            {"jtag_disabled", s.jtag_disabled},
            {"secure_version", s.secure_version}}},
          {"partitions", info.partitions},
          {"otadata", info.otadata}};
}

std::string to_text(const DeviceInfo& info) {
  const SecurityState& s = info.security;
  std::string out = fmt::format("Device {} ({}, {} MiB flash)\n", info.config.id, info.config.chip,
                                info.config.flash_size >> 20);
  out += fmt::format("Configured:  secure boot {}, flash encryption {}, ROM download mode {}, rollback {}, "
                     "anti-rollback {}\n",
                     info.config.security.secure_boot ? "on" : "off", to_string(info.config.security.flash_encryption),
                     to_string(info.config.security.rom_download_mode), info.config.security.app_rollback ? "on" : "off",
                     info.config.security.anti_rollback ? "on" : "off");
  out += fmt::format("Secure Boot: {}\n", s.secure_boot_enabled ? "enabled (SECURE_BOOT_EN)" : "not enabled");
  for (size_t i = 0; i < s.key_digests.size(); ++i) out += fmt::format("  digest slot {}: {}\n", i, s.key_digests[i]);
  out += fmt::format("Flash encryption: {} (SPI_BOOT_CRYPT_CNT 0b{:03b}{})\n", s.flash_encryption, s.crypt_cnt,
                     s.flash_encryption == "development" ? fmt::format(", {} plaintext flashes left", s.plaintext_flashes_left)
                                                         : "");
  out += fmt::format("Download mode: {}; JTAG {}; secure version {}\n", s.download_mode,
                     s.jtag_disabled ? "disabled" : "enabled", s.secure_version);
  out += "Partitions:\n";
  for (const auto& p : info.partitions) out += "  " + p + "\n";
  if (!info.otadata.empty()) out += "otadata: " + info.otadata + "\n";
  return out;
}

}  // namespace espsec::device
