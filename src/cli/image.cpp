// `espsec image ...`: inspect ESP app/bootloader images (as esptool image-info does) and make
// well-formed ESP32-C3 images for rehearsals.
#include <charconv>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "format/image_report.hpp"
#include "format/synthetic_image.hpp"

namespace espsec::cli {
namespace {

Status image_info(const std::string& in, const std::string& format) {
  ESPSEC_ASSIGN_OR_RETURN(const Bytes bytes, read_file(in));
  auto report = image::describe_image(bytes);
  if (!report) return std::unexpected(with_context(std::move(report.error()), in));
  if (format == "json") fmt::print("{}\n", image::report_json(*report, in).dump(2));
  else fmt::print("{}", image::report_text(*report, in));
  return {};
}

struct NewOptions {
  bool bootloader = false;
  std::string chip;
  std::optional<std::string> project;
  std::optional<std::string> version;
  std::optional<std::string> secure_version;
  std::optional<std::string> size;
  std::optional<std::string> idf_version;
  bool secure_pad = false;
  std::string seed = "1";
  std::string out;
};

Status new_bootloader(const NewOptions& o, uint64_t seed) {
  for (const auto& [given, name] : {std::pair{o.project.has_value(), "--project"},
                                    std::pair{o.secure_version.has_value(), "--secure-version"},
                                    std::pair{o.size.has_value(), "--size"}, std::pair{o.secure_pad, "--secure-pad"}})
    if (given) return fail("image.option", "{} does not apply to bootloader images", name);
  image::BootloaderImageSpec spec;
  spec.chip = o.chip;
  spec.seed = seed;
  if (o.idf_version) spec.idf_version = *o.idf_version;
  if (o.version) {
    ESPSEC_ASSIGN_OR_RETURN(const uint64_t version, parse_number("--version", *o.version));
    if (version > UINT32_MAX) return fail("image.option", "--version {} does not fit in 32 bits", version);
    spec.version = static_cast<uint32_t>(version);
  }
  ESPSEC_ASSIGN_OR_RETURN(const Bytes bytes, image::make_bootloader_image(spec));
  ESPSEC_TRY(write_file_atomic(o.out, bytes));
  fmt::print("Wrote ESP32-C3 bootloader image (version {}) to {}: {} bytes\n", spec.version, o.out, bytes.size());
  return {};
}

Status new_app(const NewOptions& o, uint64_t seed) {
  for (const auto& [given, name] : {std::pair{o.project.has_value(), "--project"},
                                    std::pair{o.version.has_value(), "--version"}, std::pair{o.size.has_value(), "--size"}})
    if (!given) return fail("image.option", "{} is required for an app image", name);
  image::AppImageSpec spec;
  spec.chip = o.chip;
  spec.project_name = *o.project;
  spec.version = *o.version;
  spec.secure_pad = o.secure_pad;
  spec.seed = seed;
  if (o.idf_version) spec.idf_version = *o.idf_version;
  ESPSEC_ASSIGN_OR_RETURN(spec.size, parse_number("--size", *o.size));
  if (o.secure_version) {
    ESPSEC_ASSIGN_OR_RETURN(const uint64_t v, parse_number("--secure-version", *o.secure_version));
    if (v > UINT32_MAX) return fail("image.option", "--secure-version {} does not fit in 32 bits", v);
    spec.secure_version = static_cast<uint32_t>(v);
  }
  ESPSEC_ASSIGN_OR_RETURN(const Bytes bytes, image::make_app_image(spec));
  ESPSEC_TRY(write_file_atomic(o.out, bytes));
  fmt::print("Wrote ESP32-C3 app image (project {}, version {}, secure version {}{}) to {}: {} bytes\n",
             spec.project_name, spec.version, spec.secure_version, spec.secure_pad ? ", secure padding" : "", o.out,
             bytes.size());
  return {};
}

}  // namespace

void register_image(CLI::App& app, Runner& runner) {
  CLI::App* group = add_command(app, "image", "ESP app and bootloader images: info, synthetic images, pre-encryption");
  group->require_subcommand(1);
  {
    auto* cmd = add_command(*group, "info", "Describe an app or bootloader image and its signature sector");
    auto in = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    cmd->add_option("input", *in, "Image file")->required();
    cmd->add_option(option_names("format"), *format, "Output format: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->capture_default_str();
    bind(cmd, runner, [=] { return image_info(*in, *format); });
  }
  {
    auto* cmd = add_command(*group, "new", "Write a well-formed ESP32-C3 app or bootloader image");
    auto o = std::make_shared<NewOptions>();
    cmd->add_flag(option_names("bootloader"), o->bootloader, "Make a 2nd-stage bootloader image");
    cmd->add_option(option_names("chip", 'c'), o->chip, "Target chip (esp32c3)")->required();
    cmd->add_option(option_names("project"), o->project, "App project name (esp_app_desc_t.project_name)");
    cmd->add_option(option_names("version"), o->version,
                    "App version string, or the bootloader's version number");
    cmd->add_option(option_names("secure-version"), o->secure_version, "App anti-rollback version (0..16)");
    cmd->add_option(option_names("size"), o->size, "Wanted app image size in bytes (decimal or 0x hex)");
    cmd->add_option(option_names("idf-version"), o->idf_version, "ESP-IDF version string to record");
    cmd->add_flag(option_names("secure-pad"), o->secure_pad,
                  "Pad so the SHA-256 ends on a 64 KiB boundary (esptool --secure-pad-v2)");
    cmd->add_option(option_names("seed"), o->seed, "Seed of the deterministic segment filler")->capture_default_str();
    cmd->add_option("output", o->out, "Output image file")->required();
    bind(cmd, runner, [=]() -> Status {
      ESPSEC_ASSIGN_OR_RETURN(const uint64_t seed, parse_number("--seed", o->seed));
      return o->bootloader ? new_bootloader(*o, seed) : new_app(*o, seed);
    });
  }
  register_image_encryption(*group, runner);
}

}  // namespace espsec::cli
