#include "device/device.hpp"

#include "chip/file_flash.hpp"
#include "core/file_io.hpp"
#include "crypto/random.hpp"
#include "efuse/storage.hpp"

namespace espsec::device {

namespace fs = std::filesystem;

Device::~Device() = default;

Result<std::unique_ptr<Device>> Device::create(const fs::path& dir, const DeviceConfig& config) {
  ESPSEC_TRY(validate(config));
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("device.create_dir", "cannot create {}: {}", dir.string(), ec.message());
  if (fs::exists(dir / kConfigFile)) return fail("device.exists", "{} already holds a device", dir.string());
  if (fs::exists(dir / kEfuseFile))
    return fail("device.exists", "{} already exists; refusing to reuse another chip's eFuses",
                (dir / kEfuseFile).string());
  {
    // Created, then closed (releasing its lock) before open() takes the device.
    ESPSEC_ASSIGN_OR_RETURN(auto flash, chip::FileFlash::create(dir / kFlashFile, config.flash_size));
    ESPSEC_TRY(flash.sync());
  }
  ESPSEC_TRY(create_file_exclusive(dir / kConfigFile, as_bytes(serialize_config(config)), FileMode::kPublic));
  return open(dir);
}

Result<std::unique_ptr<Device>> Device::open(const fs::path& dir) {
  ESPSEC_ASSIGN_OR_RETURN(const Bytes text, read_file(dir / kConfigFile));
  auto config = parse_config(as_chars(text));
  if (!config) return std::unexpected(with_context(config.error(), (dir / kConfigFile).string()));
  auto device = std::unique_ptr<Device>(new Device());
  device->config_ = *config;
  device->dir_ = dir;
  ESPSEC_ASSIGN_OR_RETURN(auto flash, chip::FileFlash::open(dir / kFlashFile, config->flash_size));
  device->owned_flash_ = std::make_unique<chip::FileFlash>(std::move(flash));
  device->flash_ = device->owned_flash_.get();
  ESPSEC_ASSIGN_OR_RETURN(device->efuses_,
                          efuse::Controller::open(efuse::esp32c3(), std::make_unique<efuse::FileStorage>(dir / kEfuseFile)));
  device->owned_rng_ = std::make_unique<crypto::SystemRng>();
  device->rng_ = device->owned_rng_.get();
  return device;
}

Result<std::unique_ptr<Device>> Device::attach(const DeviceConfig& config, chip::Flash& flash,
                                               std::unique_ptr<efuse::Storage> efuse_storage, Rng& rng) {
  ESPSEC_TRY(validate(config));
  if (flash.size() != config.flash_size)
    return fail("device.flash_size", "flash is {} bytes but the configuration says {}", flash.size(), config.flash_size);
  auto device = std::unique_ptr<Device>(new Device());
  device->config_ = config;
  device->flash_ = &flash;
  ESPSEC_ASSIGN_OR_RETURN(device->efuses_, efuse::Controller::open(efuse::esp32c3(), std::move(efuse_storage)));
  device->rng_ = &rng;
  return device;
}

Status Device::update_config(const DeviceConfig& config) {
  ESPSEC_TRY(validate(config));
  if (dir_) ESPSEC_TRY(write_file_atomic(*dir_ / kConfigFile, as_bytes(serialize_config(config))));
  config_ = config;
  return {};
}

Status Device::sync() {
  if (auto* file = dynamic_cast<chip::FileFlash*>(owned_flash_.get())) return file->sync();
  return {};
}

}  // namespace espsec::device
