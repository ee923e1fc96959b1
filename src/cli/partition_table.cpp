// `espsec partition-table INPUT [OUTPUT]`: gen_esp32part.py. Converts a partition table CSV to
// the binary the bootloader reads, or a binary back to CSV; option names follow gen_esp32part.
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "partition/gen_esp32part.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

struct PartitionTableArgs {
  std::string input;
  std::string output = "-";
  std::string offset = "0x8000";
  std::string flash_size;
  std::string primary_bootloader_offset;
  std::string recovery_bootloader_offset;
  std::string secure;
  bool secure_given = false;
  bool disable_md5sum = false;
  bool no_verify = false;
  bool quiet = false;
  bool verify_flag = false;  // --verify: gen_esp32part's deprecated no-op
};

Result<Bytes> read_input(const std::string& input) {
  if (input != "-") return read_file(input);
  std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return Bytes(data.begin(), data.end());
}

Status write_output(const std::string& output, ByteSpan data) {
  if (output == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0)
      return fail("io.write", "cannot write the output to stdout");
    return {};
  }
  // gen_esp32part creates the output directory when it is missing.
  const fs::path path(output);
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return fail("io.create", "cannot create directory {}: {}", path.parent_path().string(), ec.message());
  }
  return write_file_atomic(path, data);
}

Result<partition::ConvertOptions> make_options(const PartitionTableArgs& a) {
  partition::ConvertOptions o;
  ESPSEC_ASSIGN_OR_RETURN(o.gen.table_offset, partition::parse_offset_option(a.offset, "--offset"));
  if (!a.primary_bootloader_offset.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(o.gen.primary_bootloader_offset,
                            partition::parse_offset_option(a.primary_bootloader_offset, "--primary-bootloader-offset"));
  }
  if (!a.recovery_bootloader_offset.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(o.gen.recovery_bootloader_offset,
                            partition::parse_offset_option(a.recovery_bootloader_offset, "--recovery-bootloader-offset"));
  }
  if (a.secure_given) {
    // A bare --secure means v1, as in gen_esp32part; the value is case-insensitive.
    std::string v = a.secure.empty() ? "v1" : a.secure;
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (v == "v1") o.gen.secure = partition::SecureBootCheck::kV1;
    else if (v == "v2") o.gen.secure = partition::SecureBootCheck::kV2;
    else return fail("partition_csv.option_value", "--secure: '{}' is not one of v1, v2", a.secure);
  }
  if (!a.flash_size.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(o.flash_size, partition::parse_flash_size(a.flash_size));
  }
  o.md5 = !a.disable_md5sum;
  o.verify = !a.no_verify;
  return o;
}

std::optional<std::string> environment(const std::string& name) {
  if (name.empty() || name.find('=') != std::string::npos) return std::nullopt;
  const char* value = std::getenv(name.c_str());
  if (!value) return std::nullopt;
  return std::string(value);
}

Status run(const PartitionTableArgs& a) {
  const std::string shown = a.input == "-" ? "<stdin>" : a.input;
  ESPSEC_ASSIGN_OR_RETURN(const partition::ConvertOptions options, make_options(a));
  auto input = read_input(a.input);
  if (!input) return std::unexpected(input.error());
  std::vector<partition::Message> messages;
  auto conversion = partition::convert(*input, options, environment, &messages);
  if (conversion) messages = conversion->messages;
  for (const auto& m : messages)
    if (!m.status || !a.quiet) fmt::print(stderr, "{}\n", m.text);
  if (!conversion) return std::unexpected(with_context(conversion.error(), shown));
  return write_output(a.output, conversion->output);
}

}  // namespace

void register_partition_table(CLI::App& app, Runner& runner) {
  auto* cmd = add_command(app, "partition-table",
                          "Convert an ESP-IDF partition table between CSV and binary (gen_esp32part.py)");
  auto a = std::make_shared<PartitionTableArgs>();
  cmd->add_option("input", a->input, "Input file: CSV or binary table (- for stdin)")->required();
  cmd->add_option("output", a->output, "Output file (default: stdout)");
  cmd->add_option(option_names("offset", 'o'), a->offset, "Partition table offset (default 0x8000)");
  cmd->add_option(option_names("flash-size"), a->flash_size,
                  "Check that the table fits: 1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB or 128MB");
  cmd->add_flag(option_names("disable-md5sum"), a->disable_md5sum, "No MD5 entry (and none expected in a binary)");
  cmd->add_flag(option_names("no-verify"), a->no_verify, "Do not check the table");
  cmd->add_flag(option_names("verify", 'v'), a->verify_flag, "Check the table (the default; accepted for compatibility)");
  cmd->add_flag(option_names("quiet", 'q'), a->quiet, "No progress messages on stderr");
  cmd->add_option(option_names("primary-bootloader-offset"), a->primary_bootloader_offset,
                  "Offset of the primary bootloader (bootloader/primary rows)");
  cmd->add_option(option_names("recovery-bootloader-offset"), a->recovery_bootloader_offset,
                  "Offset of the recovery bootloader (bootloader/recovery rows)");
  auto* secure = cmd->add_option(option_names("secure"), a->secure,
                                 "App partitions must suit Secure Boot: v1 (64 KiB sizes) or v2 (default v1)");
  secure->expected(0, 1);
  bind(cmd, runner, [a, secure] {
    a->secure_given = secure->count() > 0;
    return run(*a);
  });
}

}  // namespace espsec::cli
