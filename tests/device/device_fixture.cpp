#include "device/device_fixture.hpp"

#include <gtest/gtest.h>

#include "chip/flash_window.hpp"
#include "device/chip_state.hpp"
#include "device/layout.hpp"
#include "format/synthetic_image.hpp"
#include "image_fixtures.hpp"

namespace espsec::test {
namespace {

template <class T>
T must(Result<T> r) {
  if (!r) {
    ADD_FAILURE() << r.error().code << ": " << r.error().message;
    std::abort();
  }
  return std::move(*r);
}

}  // namespace

const Bytes& plain_bootloader() {
  static const Bytes image = must(image::make_bootloader_image({}));
  return image;
}

const Bytes& signed_bootloader() {
  static const Bytes image = sign_image(plain_bootloader(), rsa_key_a());
  return image;
}

Bytes plain_app(const std::string& version, uint32_t secure_version, uint64_t size) {
  image::AppImageSpec spec;
  spec.project_name = "thermostat";
  spec.version = version;
  spec.secure_version = secure_version;
  spec.size = size;
  spec.seed = secure_version * 131 + version.size();
  return must(image::make_app_image(spec));
}

Bytes signed_app(const std::string& version, uint32_t secure_version, uint64_t size) {
  return sign_image(plain_app(version, secure_version, size), rsa_key_a());
}

VirtualC3::VirtualC3(device::SecurityConfig security, uint32_t flash_size) : memory(flash_size) {
  config.id = "test-c3";
  config.flash_size = flash_size;
  config.security = security;
}

std::unique_ptr<device::Device> VirtualC3::attach() {
  flash.restore_power();
  return must(device::Device::attach(config, flash, std::make_unique<efuse::MemoryStorage>(efuse_slot), rng));
}

void VirtualC3::write(uint32_t address, ByteSpan bytes) {
  const uint32_t end = static_cast<uint32_t>(align_up(address + bytes.size(), chip::kSectorSize));
  for (uint32_t a = address & ~(chip::kSectorSize - 1); a < end; a += chip::kSectorSize)
    ASSERT_TRUE(memory.erase_sector(a));
  ASSERT_TRUE(memory.program(address, bytes));
}

void VirtualC3::erase(uint32_t address, uint32_t length) { ASSERT_TRUE(memory.erase_range(address, length)); }

void VirtualC3::write_default_table() { write(0x8000, must(device::default_partition_table(config.flash_size))); }

void VirtualC3::install(const Bytes& bootloader, const Bytes& app) {
  write(0, bootloader);
  write_default_table();
  write(kOta0, app);
}

device::BootReport VirtualC3::boot(const device::BootOptions& options) {
  auto device = attach();
  auto report = device::power_on(*device, options);
  if (!report) {
    ADD_FAILURE() << report.error().code << ": " << report.error().message;
    return {};
  }
  return std::move(*report);
}

void VirtualC3::set_boot_partition(ota::AppSlot slot) {
  auto device = attach();
  auto view = must(device::CacheView::open(*device));
  const auto table = must(partition::verify_table(must(view.flash().read_bytes(0x8000, 0xC00)), config.flash_size));
  const auto* otadata = table.find(partition::type::kData, partition::subtype::kDataOta);
  ASSERT_NE(otadata, nullptr);
  auto window = must(chip::FlashWindow::make(view.flash(), otadata->offset, otadata->size));
  const auto status = ota::set_boot_partition(window, slot, ota::AppLayout::from_table(table),
                                              {config.security.app_rollback, config.security.anti_rollback});
  ASSERT_TRUE(status) << status.error().message;
}

void VirtualC3::write_encrypted(uint32_t address, ByteSpan bytes) {
  auto device = attach();
  auto engine = must(device::encryption_engine(*device));
  const uint32_t end = static_cast<uint32_t>(align_up(address + bytes.size(), chip::kSectorSize));
  for (uint32_t a = address & ~(chip::kSectorSize - 1); a < end; a += chip::kSectorSize)
    ASSERT_TRUE(memory.erase_sector(a));
  Bytes padded(bytes.begin(), bytes.end());
  padded.resize(align_up(padded.size(), 16), 0xFF);
  ASSERT_TRUE(engine.program(address, padded));
}

void VirtualC3::burn(const std::string& field, uint64_t value) {
  auto device = attach();
  auto batch = device->efuses().begin_batch();
  ASSERT_TRUE(batch.set_field(field, value));
  ASSERT_TRUE(batch.commit());
}

device::SecurityConfig no_security() {
  device::SecurityConfig s;
  s.secure_boot = false;
  s.flash_encryption = device::FlashEncryption::kNone;
  s.rom_download_mode = device::RomDownloadMode::kEnabled;
  return s;
}

device::SecurityConfig full_security(device::FlashEncryption mode) {
  device::SecurityConfig s;
  s.secure_boot = true;
  s.flash_encryption = mode;
  s.rom_download_mode = device::RomDownloadMode::kSecure;
  return s;
}

}  // namespace espsec::test
