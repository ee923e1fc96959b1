// A virtual ESP32-C3 in memory for boot-chain tests: flash and eFuses outlive the Device, so a
// power cycle is attaching a new Device to the same state.
#pragma once

#include <memory>

#include "chip/flash.hpp"
#include "crypto/random.hpp"
#include "device/boot.hpp"
#include "device/device.hpp"
#include "efuse/storage.hpp"
#include "ota/otadata_ops.hpp"

namespace espsec::test {

inline constexpr uint32_t kOta0 = 0x20000;
inline constexpr uint32_t kOta1 = 0x210000;  // 4 MiB default layout
inline constexpr uint32_t kOtadata = 0xF000;

// Images made once per test run.
const Bytes& plain_bootloader();
const Bytes& signed_bootloader();        // signed with rsa_key_a
Bytes plain_app(const std::string& version, uint32_t secure_version, uint64_t size = 0x20000);
Bytes signed_app(const std::string& version, uint32_t secure_version, uint64_t size = 0x20000);  // rsa_key_a

class VirtualC3 {
 public:
  explicit VirtualC3(device::SecurityConfig security, uint32_t flash_size = 4 * 1024 * 1024);

  device::DeviceConfig config;
  chip::MemoryFlash memory;
  chip::FaultInjectingFlash flash{memory};
  std::shared_ptr<efuse::MemoryStorage::Slot> efuse_slot = std::make_shared<efuse::MemoryStorage::Slot>();
  crypto::DeterministicRng rng{42};

  // A fresh Device over the same flash and eFuses (a power cycle).
  std::unique_ptr<device::Device> attach();
  // Writes plaintext bytes as a flash programmer would (erase, program).
  void write(uint32_t address, ByteSpan bytes);
  void write_default_table();
  // Erases [address, address + length) (sector-aligned).
  void erase(uint32_t address, uint32_t length);
  // Standard contents: bootloader, default table, app in ota_0.
  void install(const Bytes& bootloader, const Bytes& app);
  device::BootReport boot(const device::BootOptions& options = {});
  // esp_ota_set_boot_partition on the device's otadata (through flash encryption when on).
  void set_boot_partition(ota::AppSlot slot);
  // Writes `bytes` through the flash-encryption engine, as esptool --encrypt would.
  void write_encrypted(uint32_t address, ByteSpan bytes);
  // Burns one eFuse field to `value` (test setup).
  void burn(const std::string& field, uint64_t value);
};

// Records the order of flash operations and eFuse burns during a run.
// Flash operations appear as 'F', eFuse burns (counted by the watched controller) as 'E'.
class TracingFlash final : public chip::Flash {
 public:
  TracingFlash(chip::Flash& inner, std::string& trace) : inner_(inner), trace_(trace) {}
  void watch(const efuse::Controller* efuses) {
    efuses_ = efuses;
    burns_seen_ = efuses ? efuses->burn_count() : 0;
  }
  void flush_burns() {
    if (!efuses_) return;
    for (; burns_seen_ < efuses_->burn_count(); ++burns_seen_) trace_ += 'E';
  }
  uint32_t size() const override { return inner_.size(); }
  Status read(uint32_t a, MutableByteSpan out) override { return inner_.read(a, out); }
  Status program(uint32_t a, ByteSpan data) override {
    flush_burns();
    ESPSEC_TRY(inner_.program(a, data));
    trace_ += 'F';
    return {};
  }
  Status erase_sector(uint32_t a) override {
    flush_burns();
    ESPSEC_TRY(inner_.erase_sector(a));
    trace_ += 'F';
    return {};
  }

 private:
  chip::Flash& inner_;
  std::string& trace_;
  const efuse::Controller* efuses_ = nullptr;
  uint64_t burns_seen_ = 0;
};

device::SecurityConfig no_security();
device::SecurityConfig full_security(device::FlashEncryption mode = device::FlashEncryption::kRelease);

}  // namespace espsec::test
