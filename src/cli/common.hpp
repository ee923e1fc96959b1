// Shared plumbing of the espsec command groups: option spellings, error printing and exit codes.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/error.hpp"

namespace espsec::cli {

// espsecure, espefuse and nvs_partition_gen exit with 2 on any fatal error; scripts rely on it.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 2;

// Carries the exit code of whichever subcommand ran.
struct Runner {
  int exit_code = kExitOk;
};

// "-k,--keyfile,--key_file": the dashed long name plus its underscore twin (the spelling older
// Espressif tool versions used), and an optional short flag.
std::string option_names(std::string_view dashed_long, char short_flag = 0);

// Adds a subcommand named `dashed` that also answers to its underscore spelling.
CLI::App* add_command(CLI::App& parent, const std::string& dashed, const std::string& description);

// Runs `body` when the subcommand is selected; an error becomes one line on stderr and exit 2.
void bind(CLI::App* command, Runner& runner, std::function<Status()> body);
// As bind(), for commands that choose their own exit code on success (or failure) paths.
void bind_exit(CLI::App* command, Runner& runner, std::function<Result<int>()> body);

void print_error(const Error& error);

// Decimal or 0x-prefixed hexadecimal ("cli.number" naming the option otherwise).
[[nodiscard]] Result<uint64_t> parse_number(std::string_view option, const std::string& text);
// A byte size: a number with an optional K/KB or M/MB suffix (binary units), e.g. "4MB".
[[nodiscard]] Result<uint64_t> parse_size(std::string_view option, const std::string& text);

// Registration of every command group; each lives in its own file.
void register_secure(CLI::App& app, Runner& runner);
void register_image(CLI::App& app, Runner& runner);
// Adds encrypt, decrypt, generate-rsa-key and generate-ecc-key to the `image` group.
void register_image_encryption(CLI::App& image_group, Runner& runner);
void register_ota(CLI::App& app, Runner& runner);
void register_partition_table(CLI::App& app, Runner& runner);
void register_certs(CLI::App& app, Runner& runner);
void register_efuse(CLI::App& app, Runner& runner);
void register_nvs(CLI::App& app, Runner& runner);
void register_device(CLI::App& app, Runner& runner);

}  // namespace espsec::cli
