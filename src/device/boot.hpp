// Powering on a virtual ESP32-C3: the ROM stage, the ESP-IDF 2nd-stage bootloader (with
// first-boot Secure Boot v2 and flash-encryption enablement) and the security part of the app's
// startup, as one call that returns the boot log and what booted, or exactly why nothing did.
//
// Order (boot-chain fact sheet 8):
//   ROM          SPI boot (decrypting when SPI_BOOT_CRYPT_CNT is odd); the bootloader image at
//                0x0 must load; with SECURE_BOOT_EN its signature must verify against a
//                non-revoked SECURE_BOOT_DIGESTn (aggressive revocation burns the slot of a key
//                whose signature fails). Otherwise the ROM halts.
//   Bootloader   partition table (MD5, bounds); otadata selection with rollback and
//                anti-rollback; each candidate app verified (image, Secure Boot v2, secure
//                version) in IDF's fallback order; then, for the app it loads, first-boot
//                security enablement: Secure Boot v2 (key digests, revocation of unused slots,
//                ROM download / JTAG restrictions, SECURE_BOOT_EN) and flash encryption (key,
//                security eFuses, in-place encryption, SPI_BOOT_CRYPT_CNT, reset).
//   App          the security checks of esp-idf's startup (secure download mode, digest slots,
//                anti-rollback) and the rollback checkpoint: an app pending verification
//                confirms itself only when its self-test passes (see BootOptions).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/device.hpp"
#include "format/image.hpp"
#include "ota/otadata_ops.hpp"

namespace espsec::device {

enum class BootStatus {
  kBooted,            // an app is running
  kRomNoBootloader,   // ROM: no loadable bootloader at 0x0
  kRomSignature,      // ROM: Secure Boot rejected the bootloader
  kPartitionTable,    // bootloader: the partition table does not verify
  kSecurityEnable,    // bootloader: first-boot security enablement failed and it halted
  kNoBootableApp,     // bootloader: every candidate app was refused
};

// Process exit codes of `espsec device boot`, one per outcome (0 = an app booted). Refusals
// of a candidate app get the code of the first candidate's reason.
inline constexpr int kExitBooted = 0;
inline constexpr int kExitRomNoBootloader = 10;
inline constexpr int kExitRomSignature = 11;
inline constexpr int kExitPartitionTable = 20;
inline constexpr int kExitSecurityEnable = 21;
inline constexpr int kExitAppImageInvalid = 30;
inline constexpr int kExitAppSignature = 31;
inline constexpr int kExitAppSecureVersion = 32;
inline constexpr int kExitAppTooLarge = 33;
inline constexpr int kExitNoAppPartition = 34;
inline constexpr int kExitAppPlaintextOnEncrypted = 35;

struct BootedApp {
  std::string label;
  uint32_t offset = 0;
  uint32_t size = 0;
  ota::AppSlot slot;
  image::AppDesc desc;
  std::optional<uint32_t> ota_state;  // otadata state of the slot after boot (OTA slots)
};

// Why one candidate app was refused.
struct Refusal {
  std::string partition;
  std::string code;
  std::string reason;
};

struct BootReport {
  BootStatus status = BootStatus::kBooted;
  std::string code;    // error code of the reason ("secure_boot.key_revoked"), empty when booted
  std::string reason;  // one sentence, empty when booted
  std::optional<BootedApp> app;
  std::vector<Refusal> refused;    // candidates tried before (or instead of) the one that booted
  std::vector<std::string> notes;  // what changed: eFuses burned, otadata rewritten, rollbacks
  std::vector<std::string> log;    // the serial console, ROM and ESP-IDF lines
  unsigned resets = 0;             // software resets during this power-on (first-boot encryption)
};

int exit_code(const BootReport& report);
std::string_view to_string(BootStatus status);

struct BootOptions {
  // The app's rollback checkpoint. Called when the app that booted is PENDING_VERIFY: a Status
  // without error confirms it (mark valid, raise the eFuse secure version); an error leaves it
  // pending, so the next boot rolls back. Unset: the self-test passes.
  std::function<Status(const BootedApp&)> self_test;
  unsigned max_resets = 4;
};

// One power-on. Errors are failures of the emulation itself (I/O, or "flash.power_lost" /
// "efuse.power_lost" when a test cut the power); every refusal the chip would make is a
// BootReport.
[[nodiscard]] Result<BootReport> power_on(Device& device, const BootOptions& options = {});

}  // namespace espsec::device
