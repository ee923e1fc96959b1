#include "device/config.hpp"

#include <nlohmann/json.hpp>

#include "chip/file_flash.hpp"

namespace espsec::device {

using nlohmann::json;

std::string_view to_string(FlashEncryption mode) {
  switch (mode) {
    case FlashEncryption::kNone: return "none";
    case FlashEncryption::kDevelopment: return "development";
    case FlashEncryption::kRelease: return "release";
  }
  return "?";
}

std::string_view to_string(RomDownloadMode mode) {
  switch (mode) {
    case RomDownloadMode::kEnabled: return "enabled";
    case RomDownloadMode::kSecure: return "secure";
    case RomDownloadMode::kDisabled: return "disabled";
  }
  return "?";
}

Result<FlashEncryption> parse_flash_encryption(std::string_view text) {
  if (text == "none") return FlashEncryption::kNone;
  if (text == "development") return FlashEncryption::kDevelopment;
  if (text == "release") return FlashEncryption::kRelease;
  return fail("device.config_flash_encryption", "flash encryption must be none, development or release, not '{}'",
              text);
}

Result<RomDownloadMode> parse_rom_download_mode(std::string_view text) {
  if (text == "enabled") return RomDownloadMode::kEnabled;
  if (text == "secure") return RomDownloadMode::kSecure;
  if (text == "disabled") return RomDownloadMode::kDisabled;
  return fail("device.config_download_mode", "ROM download mode must be enabled, secure or disabled, not '{}'", text);
}

RomDownloadMode default_rom_download_mode(bool secure_boot, FlashEncryption flash_encryption) {
  return secure_boot || flash_encryption == FlashEncryption::kRelease ? RomDownloadMode::kSecure
                                                                       : RomDownloadMode::kEnabled;
}

Status validate(const DeviceConfig& c) {
  if (c.chip != "esp32c3") return fail("device.config_chip", "chip '{}' is not emulated (esp32c3)", c.chip);
  if (!chip::FileFlash::supported_size(c.flash_size))
    return fail("device.config_flash_size", "flash size {} is not one of 2, 4, 8 or 16 MiB", c.flash_size);
  if (c.partition_table_offset % 0x1000 != 0 || c.partition_table_offset < 0x8000 ||
      c.partition_table_offset + 0x1000 > c.flash_size)
    return fail("device.config_table_offset",
                "partition table offset 0x{:x} must be 4 KiB aligned, at or above 0x8000 and inside the flash",
                c.partition_table_offset);
  if (c.security.anti_rollback && !c.security.app_rollback)
    return fail("device.config_anti_rollback", "anti-rollback needs app rollback (ESP-IDF Kconfig dependency)");
  if (c.id.empty() || c.id.size() > 64) return fail("device.config_id", "device id must be 1 to 64 characters");
  if (c.ota) {
    if (c.ota->trust != "bundle" && c.ota->trust != "ca" && c.ota->trust != "pinned")
      return fail("device.config_ota", "OTA trust must be bundle, ca or pinned, not '{}'", c.ota->trust);
    if (c.ota->decryption != "none" && c.ota->decryption != "rsa" && c.ota->decryption != "efuse-hmac")
      return fail("device.config_ota", "OTA decryption must be none, rsa or efuse-hmac, not '{}'", c.ota->decryption);
  }
  return {};
}

Result<DeviceConfig> parse_config(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("device.config_json", "device.json is not a JSON object");
  DeviceConfig c;
  try {
    c.chip = j.at("chip").get<std::string>();
    c.id = j.at("id").get<std::string>();
    c.flash_size = j.at("flash_size").get<uint32_t>();
    c.partition_table_offset = j.value("partition_table_offset", 0x8000u);
    const json& s = j.at("security");
    c.security.secure_boot = s.at("secure_boot").get<bool>();
    ESPSEC_ASSIGN_OR_RETURN(c.security.flash_encryption,
                            parse_flash_encryption(s.at("flash_encryption").get<std::string>()));
    ESPSEC_ASSIGN_OR_RETURN(c.security.rom_download_mode,
                            parse_rom_download_mode(s.at("rom_download_mode").get<std::string>()));
    c.security.allow_jtag = s.value("allow_jtag", false);
    c.security.allow_unused_digest_slots = s.value("allow_unused_digest_slots", false);
    c.security.aggressive_revoke = s.value("aggressive_revoke", false);
    c.security.app_rollback = s.value("app_rollback", true);
    c.security.anti_rollback = s.value("anti_rollback", true);
    if (j.contains("ota") && !j["ota"].is_null()) {
      const json& o = j["ota"];
      c.ota = OtaConfig{o.at("url").get<std::string>(), o.at("trust").get<std::string>(),
                        o.at("trust_file").get<std::string>(), o.value("decryption", std::string("none"))};
    }
  } catch (const json::exception& e) {
    return fail("device.config_field", "device.json: missing or mistyped field ({})", e.what());
  }
  ESPSEC_TRY(validate(c));
  return c;
}

std::string serialize_config(const DeviceConfig& c) {
  json j{{"chip", c.chip},
         {"id", c.id},
         {"flash_size", c.flash_size},
         {"partition_table_offset", c.partition_table_offset},
         {"security",
          {{"secure_boot", c.security.secure_boot},
           {"flash_encryption", to_string(c.security.flash_encryption)},
           {"rom_download_mode", to_string(c.security.rom_download_mode)},
           {"allow_jtag", c.security.allow_jtag},
           {"allow_unused_digest_slots", c.security.allow_unused_digest_slots},
           {"aggressive_revoke", c.security.aggressive_revoke},
           {"app_rollback", c.security.app_rollback},
           {"anti_rollback", c.security.anti_rollback}}}};
  if (c.ota)
    j["ota"] = {{"url", c.ota->url},
                {"trust", c.ota->trust},
                {"trust_file", c.ota->trust_file},
                {"decryption", c.ota->decryption}};
  return j.dump(2) + "\n";
}

}  // namespace espsec::device
