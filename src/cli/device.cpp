// `espsec device ...`: a virtual ESP32-C3 in a directory: create it, flash it as esptool would,
// power it on, inspect it.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/https.hpp"
#include "core/file_io.hpp"
#include "crypto/random.hpp"
#include "device/app_nvs.hpp"
#include "device/boot.hpp"
#include "device/device.hpp"
#include "device/download.hpp"
#include "device/inspect.hpp"
#include "device/layout.hpp"
#include "device/ota_agent.hpp"
#include "encimg/keys.hpp"
#include "ota/transport.hpp"
#include "partition/gen_esp32part.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;
using namespace espsec::device;

struct CreateOptions {
  std::string dir;
  std::string chip = "esp32c3";
  std::string flash_size = "4MB";
  bool secure_boot = false;
  std::string flash_encryption = "none";
  std::string rom_download_mode;
  bool allow_jtag = false;
  bool allow_unused_digest_slots = false;
  bool aggressive_revoke = false;
  bool no_rollback = false;
  bool no_anti_rollback = false;
  std::string id;
  std::string partition_table = "default";
  std::string table_offset = "0x8000";
};

// The table to flash: the default layout, none, or a CSV / binary file (gen_esp32part rules).
Result<std::optional<Bytes>> partition_table_bytes(const CreateOptions& o, uint32_t flash_size, uint32_t offset) {
  if (o.partition_table == "none") return std::optional<Bytes>();
  if (o.partition_table == "default") {
    ESPSEC_ASSIGN_OR_RETURN(Bytes table, default_partition_table(flash_size));
    return std::optional<Bytes>(std::move(table));
  }
  ESPSEC_ASSIGN_OR_RETURN(const Bytes input, read_file(o.partition_table));
  partition::ConvertOptions options;
  options.gen.table_offset = offset;
  options.flash_size = flash_size;
  auto conversion = partition::convert(input, options, [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
  if (!conversion) return std::unexpected(with_context(conversion.error(), o.partition_table));
  if (conversion->input_was_binary) return std::optional<Bytes>(input);
  return std::optional<Bytes>(std::move(conversion->output));
}

Status create(const CreateOptions& o) {
  DeviceConfig config;
  config.chip = o.chip;
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t flash_size, parse_size("--flash-size", o.flash_size));
  config.flash_size = static_cast<uint32_t>(std::min<uint64_t>(flash_size, UINT32_MAX));
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t offset, parse_number("--partition-table-offset", o.table_offset));
  config.partition_table_offset = static_cast<uint32_t>(std::min<uint64_t>(offset, UINT32_MAX));
  config.security.secure_boot = o.secure_boot;
  ESPSEC_ASSIGN_OR_RETURN(config.security.flash_encryption, parse_flash_encryption(o.flash_encryption));
  if (o.rom_download_mode.empty()) {
    config.security.rom_download_mode =
        default_rom_download_mode(config.security.secure_boot, config.security.flash_encryption);
  } else {
    ESPSEC_ASSIGN_OR_RETURN(config.security.rom_download_mode, parse_rom_download_mode(o.rom_download_mode));
  }
  config.security.allow_jtag = o.allow_jtag;
  config.security.allow_unused_digest_slots = o.allow_unused_digest_slots;
  config.security.aggressive_revoke = o.aggressive_revoke;
  config.security.app_rollback = !o.no_rollback;
  config.security.anti_rollback = !o.no_rollback && !o.no_anti_rollback;
  if (o.id.empty()) {
    crypto::SystemRng rng;
    config.id = "c3-" + to_hex(rng.bytes(4));
  } else {
    config.id = o.id;
  }
  ESPSEC_TRY(validate(config));
  ESPSEC_ASSIGN_OR_RETURN(const auto table, partition_table_bytes(o, config.flash_size, config.partition_table_offset));
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::create(o.dir, config));
  if (table) {
    const FlashWrite write{config.partition_table_offset, *table, "partition table"};
    ESPSEC_TRY(write_flash(*dev, std::span(&write, 1), {}));
  }
  fmt::print("Created virtual {} {} in {}: {} MiB flash, secure boot {}, flash encryption {}, ROM download mode {}{}\n",
             config.chip, config.id, o.dir, config.flash_size >> 20, config.security.secure_boot ? "on" : "off",
             to_string(config.security.flash_encryption), to_string(config.security.rom_download_mode),
             table ? fmt::format(", partition table at 0x{:x}", config.partition_table_offset) : "");
  return {};
}

Status flash(const std::string& dir, const std::vector<std::string>& pairs, bool encrypt, bool force) {
  if (pairs.empty() || pairs.size() % 2 != 0)
    return fail("device.flash_args", "give ADDRESS FILE pairs (e.g. 0x0 bootloader.bin 0x10000 app.bin)");
  std::vector<FlashWrite> writes;
  for (size_t i = 0; i < pairs.size(); i += 2) {
    ESPSEC_ASSIGN_OR_RETURN(const uint64_t address, parse_number("address", pairs[i]));
    if (address > UINT32_MAX) return fail("device.flash_args", "address {} is beyond the flash", pairs[i]);
    ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(pairs[i + 1]));
    if (data.empty()) return fail("device.flash_args", "{} is empty", pairs[i + 1]);
    writes.push_back(FlashWrite{static_cast<uint32_t>(address), std::move(data), pairs[i + 1]});
  }
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  ESPSEC_TRY(write_flash(*dev, writes, {encrypt, force}));
  for (const auto& w : writes)
    fmt::print("Wrote {} bytes{} at 0x{:08x} ({})\n", w.data.size(), encrypt ? " (encrypted)" : "", w.address, w.name);
  return {};
}

Status read(const std::string& dir, const std::string& address, const std::string& size, const std::string& out) {
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t a, parse_number("address", address));
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t n, parse_size("size", size));
  if (a > UINT32_MAX || n > UINT32_MAX) return fail("download.range", "address or size beyond the flash");
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  ESPSEC_ASSIGN_OR_RETURN(const Bytes data, read_flash(*dev, static_cast<uint32_t>(a), static_cast<uint32_t>(n)));
  ESPSEC_TRY(write_file_atomic(out, data));
  fmt::print("Read {} bytes at 0x{:08x} into {}\n", data.size(), a, out);
  return {};
}

nlohmann::json report_json(const BootReport& r) {
  nlohmann::json j{{"status", to_string(r.status)}, {"exit_code", exit_code(r)}, {"code", r.code},
                   {"reason", r.reason},           {"resets", r.resets},        {"notes", r.notes},
                   {"log", r.log}};
  nlohmann::json refused = nlohmann::json::array();
  for (const auto& x : r.refused) refused.push_back({{"partition", x.partition}, {"code", x.code}, {"reason", x.reason}});
  j["refused"] = refused;
  if (r.app) {
    j["app"] = {{"partition", r.app->label},          {"offset", r.app->offset},
                {"project", r.app->desc.project_name}, {"version", r.app->desc.version},
                {"secure_version", r.app->desc.secure_version}, {"idf_version", r.app->desc.idf_ver},
                {"date", r.app->desc.date},            {"time", r.app->desc.time}};
    if (r.app->ota_state) j["app"]["ota_state"] = otadata::state_name(*r.app->ota_state);
  } else {
    j["app"] = nullptr;
  }
  return j;
}

void print_report(const BootReport& r) {
  for (const auto& line : r.log) fmt::print("{}\n", line);
  fmt::print("\n");
  if (r.app) {
    fmt::print("== booted {} at 0x{:x}: {} {} (secure_version {}, IDF {}, built {} {}){}\n", r.app->label,
               r.app->offset, r.app->desc.project_name, r.app->desc.version, r.app->desc.secure_version,
               r.app->desc.idf_ver, r.app->desc.date, r.app->desc.time,
               r.app->ota_state ? ", otadata state " + otadata::state_name(*r.app->ota_state) : "");
  } else {
    fmt::print("== nothing booted ({}, exit {}): {}\n", to_string(r.status), exit_code(r), r.reason);
  }
  for (const auto& x : r.refused) fmt::print("   refused {}: {} ({})\n", x.partition, x.reason, x.code);
  for (const auto& n : r.notes) fmt::print("   * {}\n", n);
  if (r.resets) fmt::print("   the chip reset {} time(s) during this power-on\n", r.resets);
}

// The device's connection to its update server, when its firmware has one configured.
struct ServerLink {
  std::unique_ptr<ota::Transport> transport;
  ManifestLocation location;
};

Result<ServerLink> connect_server(const OtaConfig& ota, ByteSpan trust, const Clock& clock) {
  ESPSEC_ASSIGN_OR_RETURN(const ota::Url url, ota::parse_https_url(ota.url));
  const auto location = manifest_location(url);
  if (!location) return fail("device.config_ota", "{} is not a channel manifest URL", ota.url);
  ESPSEC_ASSIGN_OR_RETURN(auto anchor, load_trust_anchor(ota.trust, trust));
  ESPSEC_ASSIGN_OR_RETURN(const ota::HttpsApi* net, https());
  ESPSEC_ASSIGN_OR_RETURN(auto transport, net->connect(url, std::move(anchor), clock));
  return ServerLink{std::move(transport), *location};
}

Result<std::optional<ServerLink>> server_link(Device& dev, const Clock& clock) {
  const auto& ota = dev.config().ota;
  if (!ota) return std::optional<ServerLink>();
  ESPSEC_ASSIGN_OR_RETURN(const Bytes trust, read_file(*dev.dir() / ota->trust_file));
  ESPSEC_ASSIGN_OR_RETURN(auto link, connect_server(*ota, trust, clock));
  return std::optional<ServerLink>(std::move(link));
}

Result<int> boot_device(const std::string& dir, const std::string& format, bool fail_self_test) {
  if (format != "text" && format != "json") return fail("device.format", "unknown format '{}' (text, json)", format);
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  SystemClock clock;
  ESPSEC_ASSIGN_OR_RETURN(auto link, server_link(*dev, clock));
  BootOptions options;
  if (link) options = boot_options_with_server(*link->transport, *dev, link->location.product, link->location.channel);
  if (fail_self_test)
    options.self_test = [](const BootedApp&) -> Status { return fail("app.self_test", "self-test failed (--fail-self-test)"); };
  ESPSEC_ASSIGN_OR_RETURN(const BootReport report, power_on(*dev, options));
  ESPSEC_TRY(dev->sync());
  // An app that comes up after its update was aborted tells the server.
  if (link && report.app && std::any_of(report.log.begin(), report.log.end(), [](const std::string& l) {
        return l.find("is marking as ABORTED") != std::string::npos;
      })) {
    const nlohmann::json body{{"status", "rolled_back"},
                              {"version", report.app->desc.version},
                              {"reason", "the update did not confirm itself; the bootloader rolled back to " +
                                             report.app->label}};
    (void)link->transport->post_json("/v1/devices/" + dev->config().id + "/report", body.dump());
  }
  if (format == "json") fmt::print("{}\n", report_json(report).dump(2));
  else print_report(report);
  return exit_code(report);
}

struct OtaCommand {
  std::string dir;
  std::string url;
  std::string bundle, ca, pin;
  std::string decrypt_key;
  bool decrypt_with_efuse = false;
  std::string format = "text";
};

// Runs the update against the given server; the device's firmware keeps that server (and the
// decryption key) in its configuration once it has talked to it successfully.
Result<int> ota_update(const OtaCommand& c) {
  if (c.format != "text" && c.format != "json") return fail("device.format", "unknown format '{}' (text, json)", c.format);
  const int anchors = !c.bundle.empty() + !c.ca.empty() + !c.pin.empty();
  if (anchors != 1) return fail("device.ota_trust", "give exactly one of --bundle, --ca or --pin to verify the server");
  if (!c.decrypt_key.empty() && c.decrypt_with_efuse)
    return fail("device.ota_decrypt", "--decrypt-key and --decrypt-with-efuse-hmac exclude each other");
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(c.dir));
  OtaConfig ota;
  ota.url = c.url;
  ota.trust = !c.bundle.empty() ? "bundle" : !c.ca.empty() ? "ca" : "pinned";
  ota.trust_file = ota.trust == "bundle" ? "ota-trust.bundle" : "ota-trust.pem";
  ESPSEC_ASSIGN_OR_RETURN(const Bytes trust, read_file(!c.bundle.empty() ? c.bundle : !c.ca.empty() ? c.ca : c.pin));
  SystemClock clock;
  ESPSEC_ASSIGN_OR_RETURN(auto link, connect_server(ota, trust, clock));

  UpdateOptions options;
  options.url = c.url;
  std::optional<SecretBytes> key_pem;
  if (!c.decrypt_key.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(key_pem, read_secret_file(c.decrypt_key));
    ESPSEC_ASSIGN_OR_RETURN(auto key, crypto::PrivateKey::load(key_pem->expose()));
    ESPSEC_ASSIGN_OR_RETURN(options.decryption_key, encimg::DecryptionKey::from_private_key(std::move(key)));
    ota.decryption = "rsa";
  } else if (c.decrypt_with_efuse) {
    ota.decryption = "efuse-hmac";
    DeviceConfig with_hmac = dev->config();
    with_hmac.ota = ota;
    ESPSEC_ASSIGN_OR_RETURN(options.decryption_key, firmware_decryption_key(*dev, with_hmac));
  } else {
    if (dev->config().ota) ota.decryption = dev->config().ota->decryption;
    ESPSEC_ASSIGN_OR_RETURN(options.decryption_key, firmware_decryption_key(*dev, dev->config()));
  }
  ESPSEC_ASSIGN_OR_RETURN(const UpdateReport report, run_update(*dev, *link.transport, options));
  if (report.status != UpdateStatus::kRefused) {
    ESPSEC_TRY(write_file_atomic(*dev->dir() / ota.trust_file, trust));
    if (key_pem) ESPSEC_TRY(write_file_atomic(*dev->dir() / kOtaDecryptKeyFile, key_pem->expose(), FileMode::kSecret));
    DeviceConfig config = dev->config();
    config.ota = ota;
    ESPSEC_TRY(dev->update_config(config));
  }
  if (c.format == "json") {
    nlohmann::json j{{"status", to_string(report.status)}, {"code", report.code},
                     {"reason", report.reason},            {"from_version", report.from_version},
                     {"to_version", report.to_version},    {"connections", report.connections},
                     {"bytes_received", report.bytes_received}, {"log", report.log}};
    if (report.boot) j["boot"] = report_json(*report.boot);
    fmt::print("{}\n", j.dump(2));
  } else {
    for (const auto& line : report.log) fmt::print("ota: {}\n", line);
    if (report.boot) print_report(*report.boot);
    switch (report.status) {
      case UpdateStatus::kUpToDate: fmt::print("== up to date ({})\n", report.from_version); break;
      case UpdateStatus::kUpdated:
        fmt::print("== updated {} -> {} ({} connection(s), {} bytes)\n", report.from_version, report.to_version,
                   report.connections, report.bytes_received);
        break;
      case UpdateStatus::kPendingConfirm: fmt::print("== {} installed but not confirmed: {}\n", report.to_version, report.reason); break;
      case UpdateStatus::kRefused: fmt::print("== update refused ({}): {}\n", report.code, report.reason); break;
      case UpdateStatus::kNotBooted: fmt::print("== update not booted ({}): {}\n", report.code, report.reason); break;
    }
  }
  switch (report.status) {
    case UpdateStatus::kUpToDate:
    case UpdateStatus::kUpdated: return 0;
    case UpdateStatus::kPendingConfirm: return 40;
    case UpdateStatus::kRefused: return 41;
    case UpdateStatus::kNotBooted: return 42;
  }
  return 41;
}

// The running app's NVS: the device is powered on first, as only running firmware can reach it.
Result<std::unique_ptr<AppNvs>> running_app_nvs(Device& dev) {
  ESPSEC_ASSIGN_OR_RETURN(const BootReport report, power_on(dev, {}));
  if (!report.app)
    return fail("device.not_booted", "the device does not boot ({}), so no firmware can reach its NVS", report.reason);
  return AppNvs::open(dev);
}

Status nvs_set(const std::string& dir, const std::string& ns, const std::string& key, const std::string& value,
               const std::string& type) {
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  ESPSEC_ASSIGN_OR_RETURN(auto nvs, running_app_nvs(*dev));
  ESPSEC_ASSIGN_OR_RETURN(auto handle, nvs->storage().open_namespace(ns, nvs::OpenMode::kReadWrite));
  if (type == "string") {
    ESPSEC_TRY(handle.set_string(key, value));
  } else if (type == "u32") {
    ESPSEC_ASSIGN_OR_RETURN(const uint64_t v, parse_number("value", value));
    if (v > UINT32_MAX) return fail("device.nvs_value", "{} does not fit in u32", value);
    ESPSEC_TRY(handle.set<uint32_t>(key, static_cast<uint32_t>(v)));
  } else if (type == "blob") {
    const auto bytes = from_hex(value);
    if (!bytes) return fail("device.nvs_value", "a blob value is given in hex");
    ESPSEC_TRY(handle.set_blob(key, *bytes));
  } else {
    return fail("device.nvs_type", "unknown type '{}' (string, u32, blob)", type);
  }
  ESPSEC_TRY(handle.commit());
  ESPSEC_TRY(dev->sync());
  fmt::print("{}::{} written to NVS partition '{}'{}\n", ns, key, nvs->partition(),
             nvs->encrypted() ? " (NVS encryption)" : " (plaintext)");
  return {};
}

Status nvs_get(const std::string& dir, const std::string& ns, const std::string& key) {
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  ESPSEC_ASSIGN_OR_RETURN(auto nvs, running_app_nvs(*dev));
  ESPSEC_ASSIGN_OR_RETURN(auto handle, nvs->storage().open_namespace(ns, nvs::OpenMode::kReadOnly));
  ESPSEC_ASSIGN_OR_RETURN(const nvs::ItemType type, handle.find_key(key));
  switch (type) {
    case nvs::ItemType::kString: {
      ESPSEC_ASSIGN_OR_RETURN(const std::string v, handle.get_string(key));
      fmt::print("{}\n", v);
      return {};
    }
    case nvs::ItemType::kU32: {
      ESPSEC_ASSIGN_OR_RETURN(const uint32_t v, handle.get<uint32_t>(key));
      fmt::print("{}\n", v);
      return {};
    }
    case nvs::ItemType::kBlobData: {
      ESPSEC_ASSIGN_OR_RETURN(const Bytes v, handle.get_blob(key));
      fmt::print("{}\n", to_hex(v));
      return {};
    }
    default: return fail("device.nvs_type", "{}::{} has a type this command does not print", ns, key);
  }
}

Status info(const std::string& dir, const std::string& format) {
  ESPSEC_ASSIGN_OR_RETURN(auto dev, Device::open(dir));
  ESPSEC_ASSIGN_OR_RETURN(const DeviceInfo i, inspect(*dev));
  if (format == "json") fmt::print("{}\n", to_json(i).dump(2));
  else if (format == "text") fmt::print("{}", to_text(i));
  else return fail("device.format", "unknown format '{}' (text, json)", format);
  return {};
}

}  // namespace

void register_device(CLI::App& app, Runner& runner) {
  CLI::App* group = add_command(app, "device", "A virtual ESP32-C3: create, flash, boot, inspect");
  group->require_subcommand(1);
  {
    auto* cmd = add_command(*group, "create", "Create a virtual chip (erased flash, blank eFuses) in a directory");
    auto o = std::make_shared<CreateOptions>();
    cmd->add_option("dir", o->dir, "Device directory")->required();
    cmd->add_option(option_names("chip", 'c'), o->chip, "Chip (esp32c3)")->capture_default_str();
    cmd->add_option(option_names("flash-size"), o->flash_size, "2MB, 4MB, 8MB or 16MB")->capture_default_str();
    cmd->add_flag(option_names("secure-boot"), o->secure_boot, "Bootloader enables Secure Boot v2 on first boot");
    cmd->add_option(option_names("flash-encryption"), o->flash_encryption, "none, development or release")
        ->capture_default_str();
    cmd->add_option(option_names("rom-download-mode"), o->rom_download_mode,
                    "enabled, secure or disabled (default: secure with Secure Boot or release encryption)");
    cmd->add_flag(option_names("allow-jtag"), o->allow_jtag, "Do not disable JTAG (CONFIG_SECURE_BOOT_ALLOW_JTAG)");
    cmd->add_flag(option_names("allow-unused-digest-slots"), o->allow_unused_digest_slots,
                  "Leave unused Secure Boot digest slots unrevoked");
    cmd->add_flag(option_names("aggressive-revoke"), o->aggressive_revoke, "Enable aggressive key revocation");
    cmd->add_flag(option_names("no-rollback"), o->no_rollback, "Disable app rollback (and anti-rollback)");
    cmd->add_flag(option_names("no-anti-rollback"), o->no_anti_rollback, "Disable anti-rollback");
    cmd->add_option(option_names("id"), o->id, "Device id (default: random)");
    cmd->add_option(option_names("partition-table"), o->partition_table,
                    "default, none, or a CSV / binary table to flash")
        ->capture_default_str();
    cmd->add_option(option_names("partition-table-offset"), o->table_offset, "Partition table offset")
        ->capture_default_str();
    bind(cmd, runner, [=] { return create(*o); });
  }
  {
    auto* cmd = add_command(*group, "flash", "Write files to flash through ROM download mode (esptool write-flash)");
    auto dir = std::make_shared<std::string>();
    auto pairs = std::make_shared<std::vector<std::string>>();
    auto encrypt = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    cmd->add_option("dir", *dir, "Device directory")->required();
    cmd->add_option("address_file", *pairs, "ADDRESS FILE pairs")->required();
    cmd->add_flag(option_names("encrypt"), *encrypt, "Encrypt with the chip's flash-encryption key while writing");
    cmd->add_flag(option_names("force"), *force, "Write plaintext onto an encrypted device anyway");
    bind(cmd, runner, [=] { return flash(*dir, *pairs, *encrypt, *force); });
  }
  {
    auto* cmd = add_command(*group, "read-flash", "Read raw flash through download mode (esptool read-flash)");
    auto dir = std::make_shared<std::string>(), address = std::make_shared<std::string>(),
         size = std::make_shared<std::string>(), out = std::make_shared<std::string>();
    cmd->add_option("dir", *dir, "Device directory")->required();
    cmd->add_option("address", *address, "Start address")->required();
    cmd->add_option("size", *size, "Bytes to read")->required();
    cmd->add_option("output", *out, "Output file")->required();
    bind(cmd, runner, [=] { return read(*dir, *address, *size, *out); });
  }
  {
    auto* cmd = add_command(*group, "boot", "Power the chip on: ROM, bootloader, app startup; exit code says what booted");
    auto dir = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto fail_self_test = std::make_shared<bool>(false);
    cmd->add_option("dir", *dir, "Device directory")->required();
    cmd->add_option(option_names("format"), *format, "text or json")->capture_default_str();
    cmd->add_flag(option_names("fail-self-test"), *fail_self_test,
                  "The app does not confirm itself (a pending update rolls back on the next boot)");
    bind_exit(cmd, runner, [=] { return boot_device(*dir, *format, *fail_self_test); });
  }
  {
    auto* cmd = add_command(*group, "ota", "Update over HTTPS from an espsec update server (esp_https_ota with rollback)");
    auto c = std::make_shared<OtaCommand>();
    cmd->add_option("dir", c->dir, "Device directory")->required();
    cmd->add_option("--url", c->url, "Channel manifest URL (https://HOST:PORT/v1/products/P/channels/C/manifest)")
        ->required();
    cmd->add_option("--bundle", c->bundle, "Verify the server with this ESP x509 certificate bundle");
    cmd->add_option("--ca", c->ca, "Verify the server with this CA certificate (PEM or DER)");
    cmd->add_option("--pin", c->pin, "Accept only this server certificate (PEM or DER)");
    cmd->add_option("--decrypt-key", c->decrypt_key, "RSA-3072 private key the firmware decrypts pre-encrypted images with");
    cmd->add_flag("--decrypt-with-efuse-hmac", c->decrypt_with_efuse,
                  "Decrypt pre-encrypted images with the ECIES key derived from the HMAC_UP eFuse key");
    cmd->add_option(option_names("format"), c->format, "text or json")->capture_default_str();
    bind_exit(cmd, runner, [=] { return ota_update(*c); });
  }
  {
    auto* nvs = add_command(*group, "nvs", "Read or write the running firmware's NVS (encrypted when flash encryption is on)");
    nvs->require_subcommand(1);
    auto* set = add_command(*nvs, "set", "Store a value as the app would (nvs_set_str / nvs_set_u32 / nvs_set_blob)");
    auto dir = std::make_shared<std::string>(), ns = std::make_shared<std::string>(), key = std::make_shared<std::string>(),
         value = std::make_shared<std::string>(), type = std::make_shared<std::string>("string");
    set->add_option("dir", *dir, "Device directory")->required();
    set->add_option("namespace", *ns, "NVS namespace")->required();
    set->add_option("key", *key, "Key (at most 15 characters)")->required();
    set->add_option("value", *value, "Value (hex for blobs)")->required();
    set->add_option("--type", *type, "string, u32 or blob")->capture_default_str();
    bind(set, runner, [=] { return nvs_set(*dir, *ns, *key, *value, *type); });
    auto* get = add_command(*nvs, "get", "Print a value as the app reads it");
    auto gdir = std::make_shared<std::string>(), gns = std::make_shared<std::string>(), gkey = std::make_shared<std::string>();
    get->add_option("dir", *gdir, "Device directory")->required();
    get->add_option("namespace", *gns, "NVS namespace")->required();
    get->add_option("key", *gkey, "Key")->required();
    bind(get, runner, [=] { return nvs_get(*gdir, *gns, *gkey); });
  }
  {
    auto* cmd = add_command(*group, "info", "Security state, partition table and otadata of a device");
    auto dir = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("dir", *dir, "Device directory")->required();
    cmd->add_option(option_names("format"), *format, "text or json")->capture_default_str();
    bind(cmd, runner, [=] { return info(*dir, *format); });
  }
}

}  // namespace espsec::cli
