// A virtual ESP32-C3: its SPI flash, its eFuses, its hardware random source and the
// configuration its firmware was built with. On disk a device is a directory:
//   DIR/device.json        configuration (config.hpp)
//   DIR/flash.bin          the SPI flash, physical bytes (ciphertext where encrypted)
//   DIR/efuse.bin          the eFuses, espefuse's virtual file format
//                          (espefuse --virt --chip esp32c3 --path-efuse-file DIR/efuse.bin ...)
//   DIR/efuse.bin.hwkeys   read-protected key blocks as only the hardware engines see them (0600)
// Tests attach a device to memory instead, so that a power cut is simply dropping the Device
// and attaching again to the same flash and eFuse storage.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "chip/flash.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "device/config.hpp"
#include "efuse/controller.hpp"

namespace espsec::device {

class Device {
 public:
  // Creates DIR with an erased flash and fresh eFuses; refuses an existing device.json.
  [[nodiscard]] static Result<std::unique_ptr<Device>> create(const std::filesystem::path& dir,
                                                              const DeviceConfig& config);
  [[nodiscard]] static Result<std::unique_ptr<Device>> open(const std::filesystem::path& dir);
  // A device over caller-owned flash and eFuse storage (tests, benchmarks).
  [[nodiscard]] static Result<std::unique_ptr<Device>> attach(const DeviceConfig& config, chip::Flash& flash,
                                                              std::unique_ptr<efuse::Storage> efuse_storage,
                                                              Rng& rng);
  ~Device();

  const DeviceConfig& config() const { return config_; }
  // Replaces the configuration (and saves it for an on-disk device).
  [[nodiscard]] Status update_config(const DeviceConfig& config);
  chip::Flash& flash() { return *flash_; }  // physical flash as a flash programmer sees it
  efuse::Controller& efuses() { return *efuses_; }
  Rng& rng() { return *rng_; }
  const std::optional<std::filesystem::path>& dir() const { return dir_; }

  // Makes every completed flash write durable (on-disk devices).
  [[nodiscard]] Status sync();

 private:
  Device() = default;
  DeviceConfig config_;
  std::optional<std::filesystem::path> dir_;
  std::unique_ptr<chip::Flash> owned_flash_;
  chip::Flash* flash_ = nullptr;
  std::unique_ptr<efuse::Controller> efuses_;
  std::unique_ptr<Rng> owned_rng_;
  Rng* rng_ = nullptr;
};

inline constexpr const char* kConfigFile = "device.json";
inline constexpr const char* kFlashFile = "flash.bin";
inline constexpr const char* kEfuseFile = "efuse.bin";

}  // namespace espsec::device
