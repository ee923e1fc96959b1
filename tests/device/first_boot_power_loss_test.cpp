// Power cut after every single flash operation and every eFuse burn of a first boot that
// enables Secure Boot v2 and flash encryption, then power on again (MCUboot-simulator style).
// Every cut must end in a device that boots the signed app, except inside the window where
// the real chip is also bricked: once in-place encryption has started and until
// SPI_BOOT_CRYPT_CNT is burned, the flash is partly ciphertext that the ROM does not decrypt
// (docs/SECURITY-MODEL.md, "First boot power loss").
#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>

#include "device/boot.hpp"
#include "device/device_fixture.hpp"

namespace espsec::device {
namespace {

struct Sweep {
  size_t cut_points = 0;
  size_t booted = 0;
  size_t bricked_in_window = 0;
  size_t recovered = 0;
};

Sweep run_sweep(FlashEncryption mode, bool torn) {
  const Bytes bootloader = test::signed_bootloader();
  const Bytes app = test::signed_app("1.0.0", 1);

  // Reference run: the interleaving of flash operations (F) and eFuse burns (E).
  std::string trace;
  {
    test::VirtualC3 c3(test::full_security(mode));
    c3.install(bootloader, app);
    test::TracingFlash tracing(c3.memory, trace);
    auto device = Device::attach(c3.config, tracing, std::make_unique<efuse::MemoryStorage>(c3.efuse_slot), c3.rng);
    EXPECT_TRUE(device);
    tracing.watch(&(*device)->efuses());
    auto report = power_on(**device, {});
    tracing.flush_burns();
    EXPECT_TRUE(report && report->status == BootStatus::kBooted);
  }
  // The brick window: from the first flash operation after the flash-encryption eFuse batch
  // (the 3rd burn: anti-rollback, Secure Boot, flash-encryption key) to the CRYPT_CNT burn.
  size_t burns = 0, window_begin = 0, window_end = 0;
  for (size_t i = 0; i < trace.size(); ++i) {
    if (trace[i] != 'E') continue;
    ++burns;
    // The first encryption operation: once it lands (or, torn, once it starts) sector 0 is gone.
    if (burns == 3) window_begin = i + (torn ? 1 : 2);
    if (burns == 4) window_end = i + 1;    // CRYPT_CNT burned
  }
  EXPECT_GT(window_end, window_begin) << trace;

  Sweep sweep;
  for (size_t k = 0; k < trace.size(); ++k) {
    test::VirtualC3 c3(test::full_security(mode));
    c3.install(bootloader, app);
    const uint64_t flash_ops = static_cast<uint64_t>(std::count(trace.begin(), trace.begin() + k, 'F'));
    const uint64_t burn_ops = static_cast<uint64_t>(std::count(trace.begin(), trace.begin() + k, 'E'));
    {
      auto device = c3.attach();
      c3.flash.cut_power_after(flash_ops, torn);
      device->efuses().cut_power_after(burn_ops);
      auto first = power_on(*device, {});
      EXPECT_FALSE(first) << "cut point " << k << " did not cut the power";
      if (first) continue;
      EXPECT_TRUE(first.error().code == "flash.power_lost" || first.error().code == "efuse.power_lost")
          << first.error().code;
    }
    ++sweep.cut_points;
    const BootReport again = c3.boot();
    const bool in_window = k >= window_begin && k < window_end;
    if (again.status == BootStatus::kBooted && again.app && again.app->desc.version == "1.0.0") {
      ++sweep.booted;
      // A second power cycle must keep booting.
      EXPECT_EQ(c3.boot().status, BootStatus::kBooted) << "cut point " << k;
    } else {
      EXPECT_TRUE(in_window) << "cut point " << k << " (" << trace.substr(0, k) << ") left the device unbootable: "
                             << again.code << ": " << again.reason;
      EXPECT_EQ(again.status, BootStatus::kRomNoBootloader) << "cut point " << k << ": " << again.reason;
      ++sweep.bricked_in_window;
      // Recovery as on the chip: CRYPT_CNT is still even, so download mode accepts plaintext;
      // re-flashing the images lets the bootloader finish with the key already burned.
      c3.install(bootloader, app);
      const BootReport recovered = c3.boot();
      EXPECT_EQ(recovered.status, BootStatus::kBooted) << "cut point " << k << " could not be recovered: "
                                                       << recovered.code << ": " << recovered.reason;
      if (recovered.status == BootStatus::kBooted) ++sweep.recovered;
    }
  }
  std::cout << "[ power loss ] first boot, flash encryption " << to_string(mode) << (torn ? ", torn operations" : "")
            << ": " << sweep.cut_points << " cut points, " << sweep.booted << " boot the signed app, "
            << sweep.bricked_in_window << " bricked inside the in-place encryption window ("
            << window_end - window_begin << " points wide), " << sweep.recovered
            << " of them recovered by re-flashing plaintext\n";
  return sweep;
}

TEST(FirstBootPowerLoss, ReleaseModeEveryCutBootsOrIsInsideTheEncryptionWindow) {
  const Sweep s = run_sweep(FlashEncryption::kRelease, false);
  EXPECT_GT(s.cut_points, 50u);
  EXPECT_GT(s.booted, 0u);
  EXPECT_EQ(s.recovered, s.bricked_in_window);
}

TEST(FirstBootPowerLoss, DevelopmentModeWithTornOperations) {
  const Sweep s = run_sweep(FlashEncryption::kDevelopment, true);
  EXPECT_GT(s.cut_points, 50u);
  EXPECT_GT(s.booted, 0u);
  EXPECT_EQ(s.recovered, s.bricked_in_window);
}

}  // namespace
}  // namespace espsec::device
