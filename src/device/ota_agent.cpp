#include "device/ota_agent.hpp"

#include <nlohmann/json.hpp>

#include "boot/image_verify.hpp"
#include "certs/x509.hpp"
#include "core/file_io.hpp"
#include "chip/flash_window.hpp"
#include "crypto/hash.hpp"
#include "device/chip_state.hpp"
#include "device/security_enable.hpp"
#include "encimg/decryptor.hpp"
#include "format/image.hpp"
#include "format/partition_table.hpp"
#include "ota/manifest.hpp"
#include "ota/otadata_ops.hpp"

namespace espsec::device {
namespace {

using nlohmann::json;
using ota::AppSlot;

// esp_https_ota reads this much of the image (header + esp_app_desc_t) before writing flash.
constexpr size_t kPrecheckBytes = 1024;

struct Target {
  partition::Table table;
  ota::AppLayout layout;
  const partition::Entry* running = nullptr;
  const partition::Entry* passive = nullptr;
  AppSlot passive_slot;
  const partition::Entry* otadata = nullptr;
};

// esp_ota_get_next_update_partition: the ota_N after the running one, wrapping; ota_0 from factory.
Result<Target> find_target(CacheView& view, const Device& device, const BootedApp& running) {
  Target t;
  ESPSEC_ASSIGN_OR_RETURN(const Bytes bytes,
                          view.flash().read_bytes(device.config().partition_table_offset, partition::kTableMaxLength));
  ESPSEC_ASSIGN_OR_RETURN(t.table, partition::verify_table(bytes, device.config().flash_size));
  t.layout = ota::AppLayout::from_table(t.table);
  t.otadata = t.table.find(partition::type::kData, partition::subtype::kDataOta);
  if (!t.otadata) return fail("ota.no_otadata", "the partition table has no otadata partition: OTA is impossible");
  const uint32_t slots = t.layout.app_side_ota_count();
  if (slots == 0) return fail("ota.no_slot", "the partition table has no ota_N app partition");
  const uint8_t next = running.slot.kind == AppSlot::Kind::kOta ? static_cast<uint8_t>((running.slot.ota + 1) % slots) : 0;
  if (running.slot.kind == AppSlot::Kind::kOta && next == running.slot.ota)
    return fail("ota.no_slot", "only one OTA slot: the running app cannot be updated in place");
  t.passive_slot = AppSlot::ota_slot(next);
  t.passive = t.table.find(partition::type::kApp, static_cast<uint8_t>(partition::subtype::kOta0 + next));
  if (!t.passive) return fail("ota.no_slot", "partition ota_{} is missing", next);
  return t;
}

// The checks esp_https_ota and the example app make on the first bytes, before writing flash.
Status precheck(ByteSpan head, Device& device, const BootedApp& running, uint32_t slot_size,
                std::optional<uint64_t> image_size) {
  if (head.empty() || head[0] != 0xE9)
    return fail("ota.not_an_image", "the download does not start with an app image (ESP_ERR_OTA_VALIDATE_FAILED)");
  auto header = image::parse_header(head);
  if (!header) return fail("ota.not_an_image", "the image header is unreadable: {}", header.error().message);
  if (header->chip_id != kChipIdEsp32c3)
    return fail("ota.wrong_chip", "the image is for chip id {} , not the ESP32-C3 (chip id 5)", header->chip_id);
  if (head.size() < 32 + image::kAppDescSize)
    return fail("ota.no_app_desc", "the image is too short to hold an app description");
  auto desc = image::parse_app_desc(head.subspan(32, image::kAppDescSize));
  if (!desc) return fail("ota.no_app_desc", "the image has no valid app description: {}", desc.error().message);
  const unsigned efuse_version = device.efuses().secure_version();
  if (device.config().security.anti_rollback && desc->secure_version < efuse_version)
    return fail("ota.secure_version", "image secure_version {} is below the eFuse secure version {} (downgrade refused)",
                desc->secure_version, efuse_version);
  if (desc->version == running.desc.version)
    return fail("ota.same_version", "the image has the running version {}", desc->version);
  if (image_size && *image_size > slot_size)
    return fail("ota.too_large", "the image is {} bytes but the update slot holds {}", *image_size, slot_size);
  return {};
}

// One download into the passive slot: served bytes -> (decrypt) -> precheck -> sector writes.
class Download {
 public:
  // `begin` runs once, when the first bytes passed the checks and before anything is written
  // (esp_ota_begin).
  Download(Device& device, chip::Flash& view, const BootedApp& running, const partition::Entry& slot,
           const std::optional<encimg::DecryptionKey>& key, std::optional<uint64_t> plaintext_size,
           std::function<Status()> begin)
      : device_(device), view_(view), running_(running), slot_(slot), key_(key), plaintext_size_(plaintext_size),
        begin_(std::move(begin)) {
    restart();
  }

  // From byte 0 again (a server that ignored the Range request).
  void restart() {
    served_ = 0;
    written_ = 0;
    checked_ = false;
    pending_.clear();
    head_.clear();
    hasher_ = crypto::Hasher(crypto::HashAlg::kSha256);
    if (key_) decryptor_.emplace(*key_);
  }

  bool sink(ByteSpan chunk) {
    hasher_.update(chunk);
    served_ += chunk.size();
    Bytes plain;
    if (decryptor_) {
      if (auto s = decryptor_->feed(chunk, plain); !s) return stop(s.error());
      if (decryptor_->image_size()) plaintext_size_ = *decryptor_->image_size();
    } else {
      plain.assign(chunk.begin(), chunk.end());
    }
    return accept(plain);
  }

  // End of the served stream: the rest of the checks, the last sector.
  Status finish(const std::optional<std::string>& expected_sha256, std::optional<uint64_t> expected_size) {
    if (error_) return std::unexpected(*error_);
    if (expected_size && served_ != *expected_size)
      return fail("ota.size", "received {} bytes, the manifest announced {}", served_, *expected_size);
    if (expected_sha256 && to_hex(hasher_.finish()) != *expected_sha256)
      return fail("ota.digest", "the download's SHA-256 differs from the manifest's: the image was altered in transit "
                                "or on the server");
    if (decryptor_) ESPSEC_TRY(decryptor_->finish());
    if (!checked_) {
      // An image shorter than the precheck window: checked and written only now.
      ESPSEC_TRY(run_precheck());
      const Bytes head = std::move(head_);
      if (!write(head)) return std::unexpected(*error_);
    }
    if (!pending_.empty()) {
      pending_.resize(align_up(pending_.size(), 16), 0xFF);  // esp_ota_end pads the last block
      ESPSEC_TRY(write_sector());
    }
    return {};
  }

  uint64_t served() const { return served_; }
  const std::optional<Error>& error() const { return error_; }

 private:
  bool stop(Error e) {
    error_ = std::move(e);
    return false;
  }

  Status run_precheck() {
    checked_ = true;
    ESPSEC_TRY(precheck(head_, device_, running_, slot_.size, plaintext_size_));
    if (!begun_) {
      begun_ = true;
      return begin_();
    }
    return {};
  }

  bool accept(ByteSpan plain) {
    if (!checked_) {
      head_.insert(head_.end(), plain.begin(), plain.end());
      const bool enough = head_.size() >= kPrecheckBytes;
      if (!enough) return true;
      if (auto s = run_precheck(); !s) return stop(s.error());
      plain = head_;
      return write(plain);
    }
    return write(plain);
  }

  bool write(ByteSpan plain) {
    if (written_ + pending_.size() + plain.size() > slot_.size)
      return stop(Error{"ota.too_large", fmt::format("the image outgrows the {}-byte update slot", slot_.size)});
    pending_.insert(pending_.end(), plain.begin(), plain.end());
    while (pending_.size() >= chip::kSectorSize) {
      if (auto s = write_sector(); !s) return stop(s.error());
    }
    return true;
  }

  // Erase the next sector of the slot, then write up to one sector (16-byte multiple).
  Status write_sector() {
    const size_t n = std::min<size_t>(pending_.size(), chip::kSectorSize);
    const uint32_t address = slot_.offset + static_cast<uint32_t>(written_);
    ESPSEC_TRY(view_.erase_sector(address));
    ESPSEC_TRY(view_.program(address, ByteSpan(pending_).first(n)));
    written_ += n;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    return {};
  }

  Device& device_;
  chip::Flash& view_;
  const BootedApp& running_;
  const partition::Entry& slot_;
  const std::optional<encimg::DecryptionKey>& key_;
  std::optional<uint64_t> plaintext_size_;
  std::optional<encimg::ImageDecryptor> decryptor_;
  crypto::Hasher hasher_{crypto::HashAlg::kSha256};
  uint64_t served_ = 0;
  uint64_t written_ = 0;
  bool checked_ = false;
  bool begun_ = false;
  std::function<Status()> begin_;
  Bytes head_;
  Bytes pending_;
  std::optional<Error> error_;
};

void report(ota::Transport& transport, const Device& device, const std::string& status, const std::string& version,
            const std::string& reason, std::vector<std::string>& log) {
  const json body{{"status", status}, {"version", version}, {"reason", reason}};
  auto r = transport.post_json("/v1/devices/" + device.config().id + "/report", body.dump());
  log.push_back(r ? fmt::format("reported '{}' to the server", status)
                  : fmt::format("could not report '{}' to the server: {}", status, r.error().message));
}

}  // namespace

std::string_view to_string(UpdateStatus status) {
  switch (status) {
    case UpdateStatus::kUpToDate: return "up_to_date";
    case UpdateStatus::kUpdated: return "updated";
    case UpdateStatus::kPendingConfirm: return "pending_confirm";
    case UpdateStatus::kRefused: return "refused";
    case UpdateStatus::kNotBooted: return "not_booted";
  }
  return "?";
}

std::optional<ManifestLocation> manifest_location(const ota::Url& url) {
  // /v1/products/{product}/channels/{channel}/manifest
  constexpr std::string_view kPrefix = "/v1/products/";
  std::string_view p = url.path;
  if (!p.starts_with(kPrefix)) return std::nullopt;
  p.remove_prefix(kPrefix.size());
  const size_t a = p.find("/channels/");
  if (a == std::string_view::npos) return std::nullopt;
  const std::string_view product = p.substr(0, a);
  std::string_view rest = p.substr(a + 10);
  const size_t b = rest.find('/');
  if (b == std::string_view::npos || rest.substr(b) != "/manifest") return std::nullopt;
  const std::string_view channel = rest.substr(0, b);
  if (!ota::valid_name(product) || !ota::valid_name(channel)) return std::nullopt;
  return ManifestLocation{std::string(product), std::string(channel)};
}

Status check_in(ota::Transport& transport, const Device& device, const BootedApp& app, const std::string& product,
                const std::string& channel) {
  const json body{{"product", product},
                  {"channel", channel},
                  {"version", app.desc.version},
                  {"secure_version", app.desc.secure_version}};
  ESPSEC_TRY(transport.post_json("/v1/devices/" + device.config().id + "/checkin", body.dump()));
  return {};
}

Result<std::shared_ptr<const certs::TrustAnchor>> load_trust_anchor(const std::string& kind, ByteSpan data) {
  if (kind == "bundle") {
    ESPSEC_ASSIGN_OR_RETURN(auto anchor, certs::TrustAnchor::bundle(data));
    return std::make_shared<const certs::TrustAnchor>(std::move(anchor));
  }
  ESPSEC_ASSIGN_OR_RETURN(auto certs, certs::Certificate::load_all(data));
  if (certs.size() != 1)
    return fail("ota.trust", "the {} file must hold exactly one certificate, it holds {}", kind, certs.size());
  if (kind == "ca") return std::make_shared<const certs::TrustAnchor>(certs::TrustAnchor::ca(certs.front()));
  if (kind == "pinned") return std::make_shared<const certs::TrustAnchor>(certs::TrustAnchor::pinned(certs.front()));
  return fail("ota.trust", "unknown trust kind '{}'", kind);
}

Result<std::optional<encimg::DecryptionKey>> firmware_decryption_key(Device& device, const DeviceConfig& config) {
  const auto& ota = config.ota;
  if (!ota || ota->decryption == "none") return std::optional<encimg::DecryptionKey>();
  if (ota->decryption == "rsa") {
    if (!device.dir()) return fail("ota.decryption_key", "the RSA decryption key lives in the device directory");
    ESPSEC_ASSIGN_OR_RETURN(const SecretBytes pem, read_secret_file(*device.dir() / kOtaDecryptKeyFile));
    ESPSEC_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::load(pem.expose()));
    ESPSEC_ASSIGN_OR_RETURN(auto decryption, encimg::DecryptionKey::from_private_key(std::move(key)));
    return std::optional<encimg::DecryptionKey>(std::move(decryption));
  }
  const auto block = device.efuses().key_block_with_purpose(efuse::KeyPurpose::kHmacUp);
  if (!block) return fail("ota.decryption_key", "no eFuse key block has purpose HMAC_UP");
  ESPSEC_ASSIGN_OR_RETURN(const SecretBytes hmac_key, device.efuses().hardware_key(*block));
  ESPSEC_ASSIGN_OR_RETURN(auto decryption, encimg::DecryptionKey::from_hmac_key(hmac_key));
  return std::optional<encimg::DecryptionKey>(std::move(decryption));
}

BootOptions boot_options_with_server(ota::Transport& transport, const Device& device, const std::string& product,
                                     const std::string& channel) {
  BootOptions options;
  options.self_test = [&transport, &device, product, channel](const BootedApp& app) {
    return check_in(transport, device, app, product, channel);
  };
  return options;
}

Result<UpdateReport> run_update(Device& device, ota::Transport& transport, const UpdateOptions& options) {
  UpdateReport out;
  ESPSEC_ASSIGN_OR_RETURN(const ota::Url url, ota::parse_https_url(options.url));
  const auto location = manifest_location(url);
  if (!location)
    return fail("ota.url", "'{}' is not a channel manifest URL (https://HOST/v1/products/P/channels/C/manifest)",
                options.url);

  // 1. The running app (its boot is also its rollback checkpoint).
  ESPSEC_ASSIGN_OR_RETURN(const BootReport booted,
                          power_on(device, boot_options_with_server(transport, device, location->product, location->channel)));
  if (!booted.app) return fail("ota.not_running", "the device does not boot ({}): nothing can run an update", booted.reason);
  const BootedApp running = *booted.app;
  out.from_version = running.desc.version;
  auto refuse = [&](Error e) -> Result<UpdateReport> {
    if (emulation_failure(e)) return std::unexpected(std::move(e));
    out.status = UpdateStatus::kRefused;
    out.code = e.code;
    out.reason = e.message;
    out.log.push_back("update refused: " + e.message);
    report(transport, device, "failed", out.to_version, e.message, out.log);
    return out;
  };
  if (running.ota_state == otadata::state::kPendingVerify && device.config().security.app_rollback)
    return refuse(Error{"ota.rollback_invalid_state",
                        "the running app has not confirmed itself yet (ESP_ERR_OTA_ROLLBACK_INVALID_STATE)"});

  // 2. Check in (the server learns the running version), then the manifest. Failing to reach a
  // trusted server stops here: nothing was written.
  if (auto s = check_in(transport, device, running, location->product, location->channel); !s) return refuse(s.error());
  std::string manifest_text;
  auto manifest_response = transport.get(url.path, std::nullopt, [&](ByteSpan chunk) {
    if (manifest_text.size() + chunk.size() > 64 * 1024) return false;
    manifest_text.append(as_chars(chunk));
    return true;
  });
  if (!manifest_response) return refuse(manifest_response.error());
  if (manifest_response->status != 200)
    return refuse(Error{"ota.manifest", fmt::format("the manifest request answered HTTP {}", manifest_response->status)});
  auto manifest = ota::parse_manifest(manifest_text);
  if (!manifest) return refuse(manifest.error());
  out.to_version = manifest->release.version;
  out.log.push_back(fmt::format("server offers {} (secure_version {}), running {}", manifest->release.version,
                                manifest->release.secure_version, running.desc.version));
  if (manifest->release.version == running.desc.version) {
    out.status = UpdateStatus::kUpToDate;
    return out;
  }
  if (manifest->release.encrypted && !options.decryption_key)
    return refuse(Error{"ota.no_decryption_key", "the release is pre-encrypted but the device has no decryption key"});
  ESPSEC_ASSIGN_OR_RETURN(const ota::Url image_url, ota::resolve(url, manifest->url));

  // 3. esp_ota_begin + streaming download into the passive slot.
  ESPSEC_ASSIGN_OR_RETURN(auto view, CacheView::open(device));
  auto target = find_target(view, device, running);
  if (!target) return refuse(target.error());
  ESPSEC_ASSIGN_OR_RETURN(auto otadata, chip::FlashWindow::make(view.flash(), target->otadata->offset, target->otadata->size));
  const ota::Config ota_config{device.config().security.app_rollback, device.config().security.anti_rollback};
  report(transport, device, "downloading", out.to_version, "", out.log);
  const std::optional<encimg::DecryptionKey> key = manifest->release.encrypted ? options.decryption_key : std::nullopt;
  const std::optional<uint64_t> plain_size =
      manifest->release.encrypted ? std::nullopt : std::optional<uint64_t>(manifest->release.image_size);
  // esp_ota_begin with rollback: the inactive otadata entry must not roll back into the slot
  // about to be overwritten.
  auto begin = [&]() -> Status {
    if (!ota_config.rollback) return {};
    return ota::invalidate_inactive_slot(otadata, target->layout, running.slot);
  };
  Download download(device, view.flash(), running, *target->passive, key, plain_size, begin);
  std::optional<uint64_t> resume_at;
  for (;;) {
    if (++out.connections > options.max_connections)
      return refuse(Error{"ota.transport", fmt::format("the download failed {} times; giving up", options.max_connections)});
    auto response = transport.get(image_url.path, resume_at, [&](ByteSpan chunk) { return download.sink(chunk); });
    if (download.error()) return refuse(*download.error());
    if (!response) {
      if (response.error().code != "ota.transport") return refuse(response.error());
      out.log.push_back(fmt::format("connection lost after {} bytes; resuming", download.served()));
      resume_at = download.served();
      continue;
    }
    if (resume_at && response->status == 200) {
      // The server ignored the Range request and sent everything again: start over.
      out.log.push_back("the server ignored the Range request; the download restarted from byte 0");
      download.restart();
      resume_at = std::nullopt;
      continue;
    }
    if (response->status != 200 && response->status != 206)
      return refuse(Error{"ota.http_status", fmt::format("the image request answered HTTP {}", response->status)});
    break;
  }
  out.bytes_received = download.served();
  if (auto s = download.finish(manifest->release.sha256, manifest->release.size); !s) return refuse(s.error());

  // 4. esp_ota_end: the whole image in the slot, as the bootloader will check it.
  const partition::Entry& slot = *target->passive;
  ESPSEC_ASSIGN_OR_RETURN(const Bytes written, view.flash().read_bytes(slot.offset, slot.size));
  boot::VerifyOptions verify;
  verify.role = image::Role::kApp;
  verify.partition_size = slot.size;
  if (device.efuses().secure_boot_enabled()) verify.secure_boot = secure_boot_efuses(device.efuses());
  auto verified = boot::verify_image(written, chip_state(device.efuses()), verify);
  if (!verified) return refuse(Error{verified.error().code, "the downloaded image does not verify: " + verified.error().message});
  if (ota_config.anti_rollback && verified->secure_version.value_or(0) < device.efuses().secure_version()) {
    ESPSEC_TRY(device.flash().erase_range(slot.offset, slot.size));
    return refuse(Error{"ota.small_sec_ver", "secure_version below the eFuse: the partition was erased (ESP_ERR_OTA_SMALL_SEC_VER)"});
  }
  ESPSEC_TRY(ota::set_boot_partition(otadata, target->passive_slot, target->layout, ota_config));
  ESPSEC_TRY(device.sync());
  out.log.push_back(fmt::format("{} written to {} and selected for the next boot", out.to_version, slot.label));
  report(transport, device, "installed", out.to_version, "", out.log);

  // 5. Reboot into it; it confirms itself by reaching the server again.
  ESPSEC_ASSIGN_OR_RETURN(out.boot,
                          power_on(device, boot_options_with_server(transport, device, location->product, location->channel)));
  ESPSEC_TRY(device.sync());
  const BootReport& reboot = *out.boot;
  if (!reboot.app || reboot.app->label != slot.label) {
    out.status = UpdateStatus::kNotBooted;
    out.code = reboot.code.empty() ? "ota.not_booted" : reboot.code;
    out.reason = reboot.app ? fmt::format("the bootloader refused {} and booted {}: {}", slot.label, reboot.app->label,
                                          reboot.refused.empty() ? "" : reboot.refused.front().reason)
                            : reboot.reason;
    report(transport, device, "failed", out.to_version, out.reason, out.log);
    return out;
  }
  if (reboot.app->ota_state == otadata::state::kPendingVerify) {
    out.status = UpdateStatus::kPendingConfirm;
    out.reason = "the new app could not reach the server; it stays PENDING_VERIFY and the next boot rolls back";
    return out;
  }
  out.status = UpdateStatus::kUpdated;
  report(transport, device, "valid", out.to_version, "", out.log);
  return out;
}

}  // namespace espsec::device
