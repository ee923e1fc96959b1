#include "device/boot.hpp"

#include <map>

#include "boot/image_verify.hpp"
#include "chip/flash_window.hpp"
#include "device/app_nvs.hpp"
#include "device/boot_log.hpp"
#include "device/chip_state.hpp"
#include "device/security_enable.hpp"
#include "format/partition_table.hpp"
#include "format/sbv2.hpp"

namespace espsec::device {
namespace {

using ota::AppSlot;

constexpr uint8_t kImageMagic = 0xE9;

// ---- Reading images the way the loader does --------------------------------------------------

// Bytes of the image at `offset` the loader reads: header, segments, checksum and simple hash,
// then (signed images) the padding to 4 KiB and the signature sector. Walking the segment
// headers first keeps a 2 MiB app in a 4 MiB slot from costing 4 MiB of reads. Reads never
// leave the first `limit` bytes; an image that claims to end beyond them gives its claimed
// length, which the caller compares with the partition.
Result<uint64_t> image_extent(chip::Flash& flash, uint32_t offset, uint32_t limit, bool signed_image) {
  uint8_t header[image::kHeaderSize];
  if (limit < sizeof header) return limit;
  ESPSEC_TRY(flash.read(offset, header));
  if (header[0] != kImageMagic || header[1] > image::kMaxSegments) return sizeof header;
  uint64_t pos = sizeof header;
  for (unsigned i = 0; i < header[1]; ++i) {
    if (pos + 8 > limit) return pos + 8;
    uint8_t seg[8];
    ESPSEC_TRY(flash.read(offset + static_cast<uint32_t>(pos), seg));
    pos += 8 + static_cast<uint64_t>(load_le32(seg + 4));
  }
  uint64_t length = (pos | 0xF) + 1 + (header[23] != 0 ? 32 : 0);
  if (signed_image) length = align_up(length, chip::kSectorSize) + sbv2::kSectorSize;
  return length;
}

Result<Bytes> read_image(chip::Flash& flash, uint32_t offset, uint32_t limit, bool signed_image) {
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t length, image_extent(flash, offset, limit, signed_image));
  return flash.read_bytes(offset, static_cast<uint32_t>(std::min<uint64_t>(length, limit)));
}

// A first word that is an image magic in the raw flash but not through the decrypting cache:
// plaintext written onto a flash-encrypted device.
Result<bool> plaintext_under_encryption(CacheView& view, uint32_t offset) {
  if (!view.encrypted()) return false;
  uint8_t raw = 0, seen = 0;
  ESPSEC_TRY(view.raw().read(offset, MutableByteSpan(&raw, 1)));
  ESPSEC_TRY(view.flash().read(offset, MutableByteSpan(&seen, 1)));
  return raw == kImageMagic && seen != kImageMagic;
}

std::string spi_speed_text(uint8_t code) {
  switch (code) {
    case 0xF: return "80MHz";
    case 0x0: return "40MHz";
    case 0x1: return "26.7MHz";
    case 0x2: return "20MHz";
    default: return "unknown";
  }
}

std::string spi_mode_text(uint8_t mode) {
  static constexpr const char* kModes[] = {"QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"};
  return mode < 6 ? kModes[mode] : "unknown";
}

std::string partition_usage(const partition::Entry& e) {
  namespace st = partition::subtype;
  switch (e.type) {
    case partition::type::kApp:
      if (e.subtype == st::kFactory) return "factory app";
      if (e.subtype == st::kTest) return "test app";
      if (e.ota_slot()) return "OTA app";
      return "Unknown app";
    case partition::type::kData:
      switch (e.subtype) {
        case st::kDataOta: return "OTA data";
        case st::kPhy: return "RF data";
        case st::kNvs: return "WiFi data";
        case st::kNvsKeys: return "NVS keys";
        case st::kEfuse: return "efuse";
        default: return "Unknown data";
      }
    case partition::type::kBootloader: return "bootloader";
    case partition::type::kPartitionTable: return "partition table";
    default: return "unknown";
  }
}

const partition::Entry* slot_entry(const partition::Table& table, AppSlot slot) {
  switch (slot.kind) {
    case AppSlot::Kind::kFactory: return table.find(partition::type::kApp, partition::subtype::kFactory);
    case AppSlot::Kind::kTest: return table.find(partition::type::kApp, partition::subtype::kTest);
    case AppSlot::Kind::kOta:
      return table.find(partition::type::kApp, static_cast<uint8_t>(partition::subtype::kOta0 + slot.ota));
  }
  return nullptr;
}

void log_segments(BootLog& log, const image::ImageInfo& info, uint32_t flash_offset) {
  for (size_t i = 0; i < info.segments.size(); ++i) {
    const auto& s = info.segments[i];
    const char* kind = s.kind == image::SegmentKind::kMapped ? "map" : s.kind == image::SegmentKind::kLoaded ? "load" : "";
    log.info("esp_image", fmt::format("segment {}: paddr={:08x} vaddr={:08x} size={:05x}h ({:6}) {}", i,
                                      flash_offset + s.data_offset, s.load_addr, s.length, s.length, kind));
  }
}

// ---- One power-on ------------------------------------------------------------------------------

struct LoadedImage {
  Bytes bytes;
  boot::VerifiedImage verified;
};

struct Candidate {
  std::optional<LoadedImage> image;
  Error refusal;
};

class PowerOn {
 public:
  PowerOn(Device& device, const BootOptions& options, BootReport& report)
      : device_(device), options_(options), report_(report) {}

  // One pass from reset to a running app, a halt, or a software reset (true).
  Result<bool> run(bool software_reset) {
    log_.reset();
    ESPSEC_ASSIGN_OR_RETURN(auto view, CacheView::open(device_));
    rom_banner(software_reset);
    ESPSEC_ASSIGN_OR_RETURN(const bool rom_ok, rom_stage(view));
    if (!rom_ok) return false;
    return bootloader_stage(view);
  }

  void finish() { report_.log.insert(report_.log.end(), log_.lines().begin(), log_.lines().end()); }

 private:
  void halt(BootStatus status, std::string code, std::string reason) {
    report_.status = status;
    report_.code = std::move(code);
    report_.reason = std::move(reason);
  }

  void rom_banner(bool software_reset) {
    log_.rom("ESP-ROM:esp32c3-api1-20210207");
    log_.rom("Build:Feb  7 2021");
    log_.rom(software_reset ? "rst:0x3 (RTC_SW_SYS_RST),boot:0xc (SPI_FAST_FLASH_BOOT)"
                            : "rst:0x1 (POWERON),boot:0xc (SPI_FAST_FLASH_BOOT)");
  }

  // ---- ROM: load the bootloader at 0x0, Secure Boot v2 check when SECURE_BOOT_EN is set.
  Result<bool> rom_stage(CacheView& view) {
    efuse::Controller& efuses = device_.efuses();
    const uint32_t limit = device_.config().partition_table_offset;
    const bool secure_boot = efuses.secure_boot_enabled();
    // With Secure Boot configured but not yet enabled the bootloader reads its own signature
    // sector too (first-boot key digests).
    const bool signed_image = secure_boot || device_.config().security.secure_boot;
    ESPSEC_ASSIGN_OR_RETURN(bootloader_bytes_, read_image(view.flash(), 0, limit, signed_image));
    boot::VerifyOptions options;
    options.role = image::Role::kBootloader;
    options.partition_size = limit;
    options.require_app_desc = false;
    if (secure_boot) options.secure_boot = secure_boot_efuses(efuses);
    auto verified = boot::verify_image(bootloader_bytes_, chip_state(efuses), options);
    if (!verified) {
      const Error& e = verified.error();
      const bool signature = e.code.starts_with("secure_boot.");
      if (!signature) {
        const uint32_t word = bootloader_bytes_.size() >= 4 ? load_le32(bootloader_bytes_.data()) : 0;
        log_.rom(fmt::format("invalid header: 0x{:08x}", word));
        ESPSEC_ASSIGN_OR_RETURN(const bool plaintext, plaintext_under_encryption(view, 0));
        halt(BootStatus::kRomNoBootloader, plaintext ? "rom.plaintext_on_encrypted_flash" : e.code,
             plaintext ? "the bootloader at 0x0 is plaintext but flash encryption is enabled (SPI_BOOT_CRYPT_CNT "
                         "odd): the ROM reads it decrypted, as garbage"
                       : "ROM: no valid bootloader at 0x0: " + e.message);
        return false;
      }
      log_.rom("Secure boot check fail");
      ESPSEC_TRY(aggressive_revoke(*options.secure_boot));
      halt(BootStatus::kRomSignature, e.code, "ROM: bootloader rejected by Secure Boot v2: " + e.message);
      return false;
    }
    bootloader_ = std::move(*verified);
    for (const auto& s : bootloader_->info.segments)
      if (s.kind == image::SegmentKind::kLoaded) log_.rom(fmt::format("load:0x{:08x},len:0x{:x}", s.load_addr, s.length));
    log_.rom(fmt::format("entry 0x{:08x}", bootloader_->info.header.entry_addr));
    return true;
  }

  // SECURE_BOOT_AGGRESSIVE_REVOKE: a trusted key whose signature fails is revoked by the ROM
  // (not for bad blocks or digest mismatches). Boot-chain fact sheet 2.7 step 5.
  Status aggressive_revoke(const boot::SecureBootConfig& config) {
    efuse::Controller& efuses = device_.efuses();
    if (efuses.read_uint("SECURE_BOOT_AGGRESSIVE_REVOKE").value_or(0) == 0) return {};
    auto info = image::parse_image(bootloader_bytes_);
    if (!info || !info->signed_digest || bootloader_bytes_.size() < info->signed_total_length) return {};
    const auto slots = sbv2::parse_sector(ByteSpan(bootloader_bytes_).subspan(info->signed_length, sbv2::kSectorSize));
    efuse::Batch batch = efuses.begin_batch();
    for (const auto& slot : slots) {
      if (!slot.block || !crypto::constant_time_equal(slot.block->image_digest, *info->signed_digest)) continue;
      const auto digest = sbv2::key_digest(slot.block->key_field);
      for (size_t i = 0; i < boot::kDigestSlots; ++i) {
        if (config.revoked[i] || !config.key_digests[i] || *config.key_digests[i] != digest) continue;
        if (sbv2::signature_verifies(*slot.block)) continue;
        ESPSEC_TRY(batch.set_field(fmt::format("SECURE_BOOT_KEY_REVOKE{}", i), 1));
        report_.notes.push_back(fmt::format("ROM revoked Secure Boot digest slot {} (aggressive revocation)", i));
      }
    }
    return batch.commit();
  }

  // ---- 2nd-stage bootloader.
  Result<bool> bootloader_stage(CacheView& view) {
    efuse::Controller& efuses = device_.efuses();
    const auto& desc = bootloader_->info.bootloader_desc;
    log_.info("boot", fmt::format("ESP-IDF {} 2nd stage bootloader", desc ? desc->idf_ver : "v5.x"));
    if (desc) log_.info("boot", "compile time " + desc->date_time);
    log_.info("boot", fmt::format("chip revision: v{}.{}", kChipRevision / 100, kChipRevision % 100));
    log_.info("boot", fmt::format("efuse block revision: v{}.{}", efuses.block_version() / 100,
                                  efuses.block_version() % 100));
    const auto& h = bootloader_->info.header;
    log_.info("boot.esp32c3", "SPI Speed      : " + spi_speed_text(h.spi_speed));
    log_.info("boot.esp32c3", "SPI Mode       : " + spi_mode_text(h.spi_mode));
    log_.info("boot.esp32c3", fmt::format("SPI Flash Size : {}MB", device_.config().flash_size >> 20));
    log_.info("boot", "Enabling RNG early entropy source...");

    // Partition table.
    const uint32_t table_offset = device_.config().partition_table_offset;
    ESPSEC_ASSIGN_OR_RETURN(const Bytes table_bytes, view.flash().read_bytes(table_offset, partition::kTableMaxLength));
    auto table = partition::verify_table(table_bytes, device_.config().flash_size);
    if (!table) {
      log_.error("flash_parts", table.error().message);
      log_.error("boot", "Failed to verify partition table");
      log_.error("boot", "load partition table error!");
      halt(BootStatus::kPartitionTable, table.error().code,
           fmt::format("partition table at 0x{:x} does not verify: {}", table_offset, table.error().message));
      return false;
    }
    table_ = std::move(*table);
    log_partition_table();

    // Apps: which slots hold a bootable image (full verification; cached per slot).
    layout_ = ota::AppLayout::from_table(table_);
    ESPSEC_TRY(prepare_app_verification());
    ota::Config ota_config{device_.config().security.app_rollback, device_.config().security.anti_rollback};
    if (ota_config.anti_rollback)
      log_.info("boot", fmt::format("Secure version (from eFuse) = {}", efuses.secure_version()));
    std::optional<chip::FlashWindow> otadata;
    if (const auto* e = table_.find(partition::type::kData, partition::subtype::kDataOta)) {
      ESPSEC_ASSIGN_OR_RETURN(auto window, chip::FlashWindow::make(view.flash(), e->offset, e->size));
      otadata.emplace(window);
      ESPSEC_ASSIGN_OR_RETURN(const auto pair, ota::read_otadata(*otadata));
      note_otadata_damage(pair);
    }
    std::vector<std::string> refused_order;
    auto bootable = [&](AppSlot slot) -> bool {
      const Candidate& c = candidate(view, slot);
      const bool ok = c.image && (!ota_config.anti_rollback || secure_version_ok(*c.image));
      if (!ok && std::find(refused_order.begin(), refused_order.end(), ota::to_string(slot)) == refused_order.end()) {
        refused_order.push_back(ota::to_string(slot));
        record_refusal(slot, c);
      }
      return ok;
    };
    auto version_ok = [&](AppSlot slot) -> bool {
      const Candidate& c = candidate(view, slot);
      const bool ok = c.image && secure_version_ok(*c.image);
      const std::string note = c.image ? fmt::format("{} skipped: its secure_version {} is below the eFuse secure version {}",
                                                     ota::to_string(slot), c.image->verified.secure_version.value_or(0),
                                                     efuses.secure_version())
                                       : std::string();
      if (!ok && c.image && std::find(report_.notes.begin(), report_.notes.end(), note) == report_.notes.end())
        report_.notes.push_back(note);
      return ok;
    };
    auto decision = ota::bootloader_select(otadata ? &*otadata : nullptr, layout_, ota_config, bootable, version_ok);
    if (!decision) return std::unexpected(decision.error());
    for (const auto& line : decision->log) log_.info("boot", line);
    for (const auto& w : decision->writes)
      report_.notes.push_back(fmt::format("bootloader rewrote otadata sector {}{}", w.sector,
                                          w.entry ? fmt::format(" (seq {}, state {})", w.entry->ota_seq,
                                                                otadata::state_name(w.entry->ota_state))
                                                  : " (erased)"));
    if (!decision->boot) {
      const bool no_apps = !layout_.has_factory && !layout_.has_test && layout_.ota_entries == 0;
      if (no_apps) {
        halt(BootStatus::kNoBootableApp, "boot.no_app_partition", "the partition table has no app partition");
      } else {
        const Refusal& first = report_.refused.front();
        halt(BootStatus::kNoBootableApp, first.code,
             fmt::format("no bootable app: {}: {}", first.partition, first.reason));
      }
      return false;
    }
    const AppSlot slot = *decision->boot;
    const partition::Entry* entry = slot_entry(table_, slot);
    const LoadedImage& app = *candidate(view, slot).image;
    if (decision->raise_secure_version) ESPSEC_TRY(raise_secure_version(app));

    // load_image(): first-boot security enablement, then the app is mapped and started.
    if (device_.config().security.secure_boot) {
      ESPSEC_ASSIGN_OR_RETURN(const auto halted,
                              enable_secure_boot(device_, log_, report_.notes,
                                                 ImageRef{bootloader_bytes_, &bootloader_->info},
                                                 ImageRef{app.bytes, &app.verified.info}));
      if (halted) {
        log_.error("boot", "Bootloader failed to enable secure boot: " + halted->reason);
        halt(BootStatus::kSecurityEnable, halted->code, halted->reason);
        return false;
      }
    }
    if (device_.config().security.flash_encryption != FlashEncryption::kNone) {
      ESPSEC_ASSIGN_OR_RETURN(const auto step, check_and_update_flash_encryption(device_, log_, report_.notes, table_));
      if (const auto* halted = std::get_if<Halt>(&step)) {
        log_.error("boot", "Flash encryption failed: " + halted->reason);
        halt(BootStatus::kSecurityEnable, halted->code, halted->reason);
        return false;
      }
      if (std::get<FlashEncryptionStep>(step) == FlashEncryptionStep::kEnabledResetNeeded) return true;
    }
    log_segments(log_, app.verified.info, entry->offset);
    log_.info("boot", fmt::format("Loaded app from partition at offset 0x{:x}", entry->offset));
    log_.info("boot", "Disabling RNG early entropy source...");

    booted_ = BootedApp{entry->label, entry->offset, entry->size, slot, *app.verified.info.app_desc, std::nullopt};
    ESPSEC_TRY(app_startup(app, otadata ? &*otadata : nullptr, ota_config));
    return false;
  }

  // What the bootloader silently works around: entries with a bad CRC are ignored.
  void note_otadata_damage(const ota::Pair& pair) {
    bool corrupt[2];
    for (int i = 0; i < 2; ++i) {
      const otadata::Entry& e = pair[i];
      corrupt[i] = e.ota_seq != otadata::kSeqEmpty && !e.crc_matches();
    }
    if (corrupt[0] && corrupt[1]) {
      report_.notes.push_back("otadata: both sectors hold corrupt entries (CRC mismatch); the bootloader "
                              "ignores them and boots the default app partition");
    } else {
      for (int i = 0; i < 2; ++i)
        if (corrupt[i])
          report_.notes.push_back(fmt::format("otadata: sector {} holds a corrupt entry (CRC mismatch); the "
                                              "bootloader ignores it and uses sector {}",
                                              i, 1 - i));
    }
  }

  void log_partition_table() {
    log_.info("boot", "Partition Table:");
    log_.info("boot", "## Label            Usage          Type ST Offset   Length");
    for (size_t i = 0; i < table_.entries.size(); ++i) {
      const auto& e = table_.entries[i];
      log_.info("boot", fmt::format("{:2} {:<16} {:<16} {:02x} {:02x} {:08x} {:08x}", i, e.label, partition_usage(e),
                                    e.type, e.subtype, e.offset, e.size));
    }
    log_.info("boot", "End of partition table");
  }

  // Which keys an app must be signed by: the eFuse digests once Secure Boot is enabled; before
  // that (first boot) the keys of the bootloader's own signature blocks, as ESP-IDF does.
  Status prepare_app_verification() {
    efuse::Controller& efuses = device_.efuses();
    if (efuses.secure_boot_enabled()) {
      app_secure_boot_ = secure_boot_efuses(efuses);
      return {};
    }
    if (!device_.config().security.secure_boot) return {};
    log_.info("secure_boot_v2", "Secure boot V2 is not enabled yet and eFuse digest keys are not set");
    boot::SecureBootConfig own;
    auto digests = boot::signature_key_digests(bootloader_->info, bootloader_bytes_, sbv2::Scheme::kRsa3072);
    if (digests)
      for (size_t i = 0; i < digests->size() && i < boot::kDigestSlots; ++i) own.key_digests[i] = (*digests)[i];
    if (!digests || digests->empty()) {
      log_.error("secure_boot_v2", "the bootloader has no valid signature block: no app can be verified");
      report_.notes.push_back("Secure Boot is configured but the bootloader is not signed (or its signature does "
                              "not verify): sign it with the same key as the app");
    }
    app_secure_boot_ = own;
    return {};
  }

  const Candidate& candidate(CacheView& view, AppSlot slot) {
    const std::string key = ota::to_string(slot);
    if (auto it = candidates_.find(key); it != candidates_.end()) return it->second;
    Candidate c = load_candidate(view, slot);
    return candidates_.emplace(key, std::move(c)).first->second;
  }

  Candidate load_candidate(CacheView& view, AppSlot slot) {
    const partition::Entry* entry = slot_entry(table_, slot);
    if (!entry) return Candidate{std::nullopt, Error{"boot.no_partition", "no such partition"}};
    auto extent = image_extent(view.flash(), entry->offset, entry->size, app_secure_boot_.has_value());
    if (extent && *extent > entry->size)
      return Candidate{std::nullopt,
                       Error{"image.partition_size",
                             fmt::format("the image needs 0x{:x} bytes but partition {} holds 0x{:x}", *extent,
                                         entry->label, entry->size)}};
    auto bytes = read_image(view.flash(), entry->offset, entry->size, app_secure_boot_.has_value());
    if (!bytes) {
      if (emulation_failure(bytes.error())) emulation_error_ = bytes.error();
      return Candidate{std::nullopt, bytes.error()};
    }
    boot::VerifyOptions options;
    options.role = image::Role::kApp;
    options.partition_size = entry->size;
    options.secure_boot = app_secure_boot_;
    auto verified = boot::verify_image(*bytes, chip_state(device_.efuses()), options);
    if (!verified) {
      Error refusal = verified.error();
      if (refusal.code == "image.magic") {
        auto plaintext = plaintext_under_encryption(view, entry->offset);
        if (plaintext && *plaintext)
          refusal = Error{"boot.plaintext_on_encrypted_flash",
                          "the partition holds a plaintext image but flash encryption is enabled: the cache "
                          "decrypts it into garbage"};
      }
      return Candidate{std::nullopt, std::move(refusal)};
    }
    return Candidate{LoadedImage{std::move(*bytes), std::move(*verified)}, Error{}};
  }

  bool secure_version_ok(const LoadedImage& image) const {
    return image.verified.secure_version.value_or(0) >= device_.efuses().secure_version();
  }

  void record_refusal(AppSlot slot, const Candidate& c) {
    const partition::Entry* entry = slot_entry(table_, slot);
    Refusal r{entry ? entry->label : ota::to_string(slot), c.refusal.code, c.refusal.message};
    if (c.image) {
      r.code = "anti_rollback.secure_version";
      r.reason = fmt::format("app secure_version {} is below the eFuse secure version {}",
                             c.image->verified.secure_version.value_or(0), device_.efuses().secure_version());
    }
    log_.error("esp_image", fmt::format("{}: {}", r.partition, r.reason));
    report_.refused.push_back(std::move(r));
  }

  // esp_efuse_update_secure_version: burn only the new bits of the thermometer code.
  Status raise_secure_version(const LoadedImage& app) {
    efuse::Controller& efuses = device_.efuses();
    const uint32_t target = app.verified.secure_version.value_or(0);
    const unsigned current = efuses.secure_version();
    if (target <= current) return {};
    if (target > boot::kEsp32c3SecureVersionBits)
      return fail("anti_rollback.too_large", "secure_version {} does not fit the 16-bit eFuse field", target);
    efuse::Batch batch = efuses.begin_batch();
    ESPSEC_TRY(batch.set_field("SECURE_VERSION", (uint64_t{1} << target) - 1));
    ESPSEC_TRY(batch.commit());
    log_.info("efuse", fmt::format("Anti-rollback is set. eFuse field is updated({}).", target));
    report_.notes.push_back(fmt::format("eFuse SECURE_VERSION raised {} -> {}", current, target));
    return {};
  }

  // The security part of the app's startup (esp-idf startup + esp_efuse_startup) and its
  // rollback checkpoint.
  Status app_startup(const LoadedImage& app, chip::Flash* otadata, const ota::Config& ota_config) {
    efuse::Controller& efuses = device_.efuses();
    const image::AppDesc& desc = *app.verified.info.app_desc;
    log_.info("app_init", "Application information:");
    log_.info("app_init", "Project name:     " + desc.project_name);
    log_.info("app_init", "App version:      " + desc.version);
    log_.info("app_init", fmt::format("Secure version:   {}", desc.secure_version));
    log_.info("app_init", fmt::format("Compile time:     {} {}", desc.date, desc.time));
    log_.info("app_init", "ESP-IDF:          " + desc.idf_ver);

    if (efuses.flash_encryption_enabled()) {
      if (efuses.flash_encryption_mode() == efuse::FlashEncryptionMode::kRelease)
        log_.info("flash_encrypt", "Flash encryption mode is RELEASE");
      else
        log_.warn("flash_encrypt", "Flash encryption mode is DEVELOPMENT (not secure)");
    }
    ESPSEC_TRY(secure_boot_init_checks());
    ESPSEC_TRY(rom_download_mode_checks());
    if (otadata && booted_->slot.kind == AppSlot::Kind::kOta) {
      ESPSEC_ASSIGN_OR_RETURN(auto pair, ota::read_otadata(*otadata));
      auto state = ota::slot_state(pair, booted_->slot.ota, layout_);
      if (state && *state == otadata::state::kPendingVerify && ota_config.rollback) {
        const Status test = options_.self_test ? options_.self_test(*booted_) : Status{};
        if (test) {
          ESPSEC_TRY(ota::mark_app_valid_cancel_rollback(*otadata, layout_));
          log_.info("app", "self-test passed: app marked valid, rollback cancelled");
          report_.notes.push_back(fmt::format("{} confirmed itself: otadata state VALID", booted_->label));
          if (ota_config.anti_rollback) ESPSEC_TRY(raise_secure_version(app));
        } else {
          if (emulation_failure(test.error())) return std::unexpected(test.error());
          log_.warn("app", "self-test failed (" + test.error().message +
                               "): the app stays PENDING_VERIFY and the next reset rolls back");
          report_.notes.push_back(fmt::format("{} did not confirm itself: {}", booted_->label, test.error().message));
        }
        ESPSEC_ASSIGN_OR_RETURN(pair, ota::read_otadata(*otadata));
        state = ota::slot_state(pair, booted_->slot.ota, layout_);
      }
      if (state) booted_->ota_state = *state;
    }
    ESPSEC_TRY(app_storage());
    report_.app = booted_;
    return {};
  }

  // nvs_flash_init, then what the app keeps there itself: how often it booted and its version.
  Status app_storage() {
    auto nvs = AppNvs::open(device_);
    if (!nvs) {
      if (emulation_failure(nvs.error())) return std::unexpected(nvs.error());
      if (nvs.error().code == "device.no_nvs") return {};
      log_.error("nvs", "nvs_flash_init failed: " + nvs.error().message);
      report_.notes.push_back("NVS unusable: " + nvs.error().message);
      return {};
    }
    if ((*nvs)->keys_generated()) {
      log_.info("nvs", "NVS encryption keys generated in the nvs_keys partition");
      report_.notes.push_back("generated NVS encryption keys (nvs_keys partition, written through flash encryption)");
    }
    log_.info("nvs", fmt::format("partition '{}' mounted{}", (*nvs)->partition(),
                                 (*nvs)->encrypted() ? " with NVS encryption (XTS-AES, keys in nvs_keys)" : ""));
    auto handle = (*nvs)->storage().open_namespace("app", nvs::OpenMode::kReadWrite);
    if (!handle) return nvs_failure(handle.error());
    const uint32_t boots = handle->get<uint32_t>("boot_count").value_or(0) + 1;
    if (auto s = handle->set<uint32_t>("boot_count", boots); !s) return nvs_failure(s.error());
    if (auto s = handle->set_string("version", booted_->desc.version); !s) return nvs_failure(s.error());
    if (auto s = handle->commit(); !s) return nvs_failure(s.error());
    log_.info("app", fmt::format("boot #{} of this device", boots));
    return {};
  }

  Status nvs_failure(const Error& e) {
    if (emulation_failure(e)) return std::unexpected(e);
    log_.error("nvs", e.message);
    report_.notes.push_back("NVS write failed: " + e.message);
    return {};
  }

  // esp_secure_boot_init_checks: digest blocks write-protected; unused digest slots revoked
  // unless CONFIG_SECURE_BOOT_ALLOW_UNUSED_DIGEST_SLOTS.
  Status secure_boot_init_checks() {
    efuse::Controller& efuses = device_.efuses();
    if (!efuses.secure_boot_enabled()) return {};
    const efuse::KeyPurpose purposes[] = {efuse::KeyPurpose::kSecureBootDigest0,
                                          efuse::KeyPurpose::kSecureBootDigest1,
                                          efuse::KeyPurpose::kSecureBootDigest2};
    efuse::Batch batch = efuses.begin_batch();
    for (unsigned i = 0; i < boot::kDigestSlots; ++i) {
      if (const auto block = efuses.key_block_with_purpose(purposes[i])) {
        ESPSEC_TRY(batch.write_protect(efuses.block(*block).wr_dis_bit));
        const auto* purpose_field = efuses.find_field(efuses.block(*block).key_purpose_field);
        if (purpose_field) ESPSEC_TRY(batch.write_protect(purpose_field->wr_dis_bit));
      } else if (!device_.config().security.allow_unused_digest_slots && !efuses.secure_boot_key_revoked(i)) {
        log_.info("secure_boot", fmt::format("Revoking empty key digest slot ({})...", i));
        ESPSEC_TRY(batch.set_field(fmt::format("SECURE_BOOT_KEY_REVOKE{}", i), 1));
        report_.notes.push_back(fmt::format("app startup revoked unused Secure Boot digest slot {}", i));
      }
    }
    return batch.commit();
  }

  // CONFIG_SECURE_UART_ROM_DL_MODE applied by the app at startup.
  Status rom_download_mode_checks() {
    efuse::Controller& efuses = device_.efuses();
    const bool disabled = efuses.read_uint("DIS_DOWNLOAD_MODE").value_or(0) != 0;
    efuse::Batch batch = efuses.begin_batch();
    switch (device_.config().security.rom_download_mode) {
      case RomDownloadMode::kSecure:
        if (!disabled && efuses.read_uint("ENABLE_SECURITY_DOWNLOAD").value_or(0) == 0) {
          log_.info("app_init", "Enabling Security download mode...");
          ESPSEC_TRY(batch.set_field("ENABLE_SECURITY_DOWNLOAD", 1));
          report_.notes.push_back("app startup enabled secure ROM download mode (ENABLE_SECURITY_DOWNLOAD)");
        }
        break;
      case RomDownloadMode::kDisabled:
        if (!disabled) {
          log_.info("app_init", "Disabling ROM Download mode...");
          ESPSEC_TRY(batch.set_field("DIS_DOWNLOAD_MODE", 1));
          report_.notes.push_back("app startup disabled ROM download mode (DIS_DOWNLOAD_MODE)");
        }
        break;
      case RomDownloadMode::kEnabled: break;
    }
    return batch.commit();
  }

  Device& device_;
  const BootOptions& options_;
  BootReport& report_;
  BootLog log_;
  Bytes bootloader_bytes_;
  std::optional<boot::VerifiedImage> bootloader_;
  partition::Table table_;
  ota::AppLayout layout_;
  std::optional<boot::SecureBootConfig> app_secure_boot_;
  std::map<std::string, Candidate> candidates_;
  std::optional<Error> emulation_error_;
  std::optional<BootedApp> booted_;

 public:
  const std::optional<Error>& emulation_error() const { return emulation_error_; }
};

int refusal_exit_code(const std::string& code) {
  if (code == "anti_rollback.secure_version") return kExitAppSecureVersion;
  if (code.starts_with("secure_boot.")) return kExitAppSignature;
  if (code == "image.partition_size") return kExitAppTooLarge;
  if (code == "boot.plaintext_on_encrypted_flash") return kExitAppPlaintextOnEncrypted;
  if (code == "boot.no_app_partition") return kExitNoAppPartition;
  return kExitAppImageInvalid;
}

}  // namespace

std::string_view to_string(BootStatus status) {
  switch (status) {
    case BootStatus::kBooted: return "booted";
    case BootStatus::kRomNoBootloader: return "rom_no_bootloader";
    case BootStatus::kRomSignature: return "rom_signature";
    case BootStatus::kPartitionTable: return "partition_table";
    case BootStatus::kSecurityEnable: return "security_enable";
    case BootStatus::kNoBootableApp: return "no_bootable_app";
  }
  return "?";
}

int exit_code(const BootReport& report) {
  switch (report.status) {
    case BootStatus::kBooted: return kExitBooted;
    case BootStatus::kRomNoBootloader: return kExitRomNoBootloader;
    case BootStatus::kRomSignature: return kExitRomSignature;
    case BootStatus::kPartitionTable: return kExitPartitionTable;
    case BootStatus::kSecurityEnable: return kExitSecurityEnable;
    case BootStatus::kNoBootableApp: return refusal_exit_code(report.code);
  }
  return kExitAppImageInvalid;
}

Result<BootReport> power_on(Device& device, const BootOptions& options) {
  BootReport report;
  for (bool software_reset = false;; software_reset = true) {
    PowerOn pass(device, options, report);
    auto reset = pass.run(software_reset);
    pass.finish();
    if (!reset) return std::unexpected(reset.error());
    if (pass.emulation_error()) return std::unexpected(*pass.emulation_error());
    if (!*reset) break;
    if (++report.resets > options.max_resets) {
      report.status = BootStatus::kSecurityEnable;
      report.code = "boot.reset_loop";
      report.reason = fmt::format("the bootloader reset {} times in a row", report.resets);
      break;
    }
  }
  if (report.status == BootStatus::kBooted && !report.app) {
    report.status = BootStatus::kNoBootableApp;
    report.code = "boot.no_app";
    report.reason = "nothing booted";
  }
  return report;
}

}  // namespace espsec::device
