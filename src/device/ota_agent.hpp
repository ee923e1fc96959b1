// The virtual device's OTA agent: what an ESP-IDF app with esp_https_ota and rollback does,
// from checking the server to confirming the new firmware (storage-and-OTA fact sheet 5).
//
//   1. Power on; the running app reaches the server (its rollback checkpoint).
//   2. Fetch the manifest; nothing to do when the version is the running one.
//   3. Stream the image (decrypting a pre-encrypted one on the fly). Before the first byte
//      reaches flash, the header and app description are checked: chip, secure_version against
//      the eFuse, version policy, size against the passive slot. A dropped connection resumes
//      with an HTTP Range request from the last byte received.
//   4. esp_ota_end: download digest, GCM tag (pre-encrypted), then the full image check of the
//      passive slot (Secure Boot v2 signature when Secure Boot is on); esp_ota_set_boot_partition.
//   5. Reboot. The new app is PENDING_VERIFY until it reaches the server again; then it is marked
//      valid and the eFuse SECURE_VERSION is raised. If it cannot, the next boot rolls back.
// Every step reports to the server (downloading, installed, valid, rolled_back, failed + reason).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "device/boot.hpp"
#include "device/device.hpp"
#include "encimg/keys.hpp"
#include "ota/transport.hpp"

namespace espsec::device {

struct UpdateOptions {
  std::string url;  // manifest URL (.../manifest) or a direct image URL (.bin)
  std::optional<encimg::DecryptionKey> decryption_key;  // for pre-encrypted images
  unsigned max_connections = 16;                        // one download, resumed this many times at most
};

enum class UpdateStatus {
  kUpToDate,        // the server offers the version already running
  kUpdated,         // the new app booted and confirmed itself
  kPendingConfirm,  // the new app booted but could not reach the server: the next boot rolls back
  kRefused,         // refused before switching: nothing changed on the device
  kNotBooted,       // switched, but the new app did not boot (the bootloader fell back)
};
std::string_view to_string(UpdateStatus status);

struct UpdateReport {
  UpdateStatus status = UpdateStatus::kRefused;
  std::string code;    // reason code when refused or not booted
  std::string reason;
  std::string from_version;
  std::string to_version;
  unsigned connections = 0;  // HTTP connections the download took (1 = no resume)
  uint64_t bytes_received = 0;
  std::vector<std::string> log;
  std::optional<BootReport> boot;  // the reboot into the new app
};

// The app's check-in: POST /v1/devices/{id}/checkin. Used as the rollback self-test.
[[nodiscard]] Status check_in(ota::Transport& transport, const Device& device, const BootedApp& app,
                              const std::string& product, const std::string& channel);

// Product and channel from a manifest URL (/v1/products/{p}/channels/{c}/manifest).
struct ManifestLocation {
  std::string product;
  std::string channel;
};
std::optional<ManifestLocation> manifest_location(const ota::Url& url);

// Power on, update, reboot. Errors are emulation failures (power cut by a test, host I/O) and
// a device that does not boot at all; every refusal is an UpdateReport.
[[nodiscard]] Result<UpdateReport> run_update(Device& device, ota::Transport& transport, const UpdateOptions& options);

// The trust anchor of a device's OTA configuration ("bundle": an ESP x509 bundle; "ca": one CA
// certificate; "pinned": the server's own certificate), read from its file.
[[nodiscard]] Result<std::shared_ptr<const certs::TrustAnchor>> load_trust_anchor(const std::string& kind, ByteSpan data);
// The key the firmware decrypts pre-encrypted images with, per `config.ota->decryption`.
[[nodiscard]] Result<std::optional<encimg::DecryptionKey>> firmware_decryption_key(Device& device,
                                                                                   const DeviceConfig& config);
inline constexpr const char* kOtaDecryptKeyFile = "ota-decrypt-key.pem";

// BootOptions whose self-test is the check-in, for a device whose firmware knows its server.
BootOptions boot_options_with_server(ota::Transport& transport, const Device& device, const std::string& product,
                                     const std::string& channel);

}  // namespace espsec::device
