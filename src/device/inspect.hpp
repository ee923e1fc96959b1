// What a security reviewer wants to know about a virtual device at a glance: the security
// eFuses as the chip interprets them, the partition table and the otadata selection.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "device/device.hpp"

namespace espsec::device {

struct SecurityState {
  bool secure_boot_enabled = false;
  std::vector<std::string> key_digests;  // per slot: hex digest, "revoked", or "empty"
  bool aggressive_revoke = false;
  std::string flash_encryption;          // "disabled", "development", "release"
  unsigned crypt_cnt = 0;
  unsigned plaintext_flashes_left = 0;
  std::string download_mode;             // "normal", "secure download mode", "disabled"
  bool jtag_disabled = false;
  unsigned secure_version = 0;
};

struct DeviceInfo {
  DeviceConfig config;
  SecurityState security;
  std::vector<std::string> partitions;  // one line each, or the reason the table does not verify
  std::string otadata;                  // the selected slot and state, or why there is none
};

[[nodiscard]] Result<DeviceInfo> inspect(Device& device);
nlohmann::json to_json(const DeviceInfo& info);
std::string to_text(const DeviceInfo& info);

}  // namespace espsec::device
