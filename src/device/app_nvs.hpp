// The app's NVS, set up as an ESP-IDF app with CONFIG_NVS_ENCRYPTION does at startup
// (nvs_flash_init): the first data/nvs partition, encrypted with the XTS keys of the nvs_keys
// partition when flash encryption is on (the keys partition itself is then only ever read and
// written through flash encryption), plain otherwise. Keys are generated on first use, and
// never over existing encrypted data (nvs/key_init.hpp).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "device/chip_state.hpp"
#include "device/device.hpp"
#include "nvs/storage.hpp"

namespace espsec::device {

class AppNvs {
 public:
  // "device.no_nvs" when the partition table has no data/nvs partition.
  [[nodiscard]] static Result<std::unique_ptr<AppNvs>> open(Device& device);

  nvs::Storage& storage() { return *storage_; }
  bool encrypted() const { return encrypted_; }
  bool keys_generated() const { return keys_generated_; }
  const std::string& partition() const { return label_; }
  uint32_t offset() const { return offset_; }
  uint32_t size() const { return size_; }

 private:
  explicit AppNvs(CacheView view) : view_(std::move(view)) {}
  CacheView view_;  // the storage reads and writes through it
  std::unique_ptr<nvs::Storage> storage_;
  bool encrypted_ = false;
  bool keys_generated_ = false;
  std::string label_;
  uint32_t offset_ = 0;
  uint32_t size_ = 0;
};

}  // namespace espsec::device
