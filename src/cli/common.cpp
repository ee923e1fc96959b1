#include "cli/common.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <fmt/format.h>

namespace espsec::cli {

std::string option_names(std::string_view dashed_long, char short_flag) {
  std::string names;
  if (short_flag) names = fmt::format("-{},", short_flag);
  names += fmt::format("--{}", dashed_long);
  std::string underscored(dashed_long);
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  if (underscored != dashed_long) names += fmt::format(",--{}", underscored);
  return names;
}

CLI::App* add_command(CLI::App& parent, const std::string& dashed, const std::string& description) {
  CLI::App* command = parent.add_subcommand(dashed, description);
  std::string underscored = dashed;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  if (underscored != dashed) command->alias(underscored);
  return command;
}

Result<uint64_t> parse_number(std::string_view option, const std::string& text) {
  std::string_view digits = text;
  int base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return fail("cli.number", "{} '{}' is not a number", option, text);
  return value;
}

Result<uint64_t> parse_size(std::string_view option, const std::string& text) {
  std::string number = text;
  uint64_t unit = 1;
  for (const auto& [suffix, scale] : {std::pair{"MB", 1u << 20}, std::pair{"M", 1u << 20}, std::pair{"KB", 1u << 10},
                                      std::pair{"K", 1u << 10}}) {
    if (std::string_view(number).ends_with(suffix)) {
      number.resize(number.size() - std::string_view(suffix).size());
      unit = scale;
      break;
    }
  }
  ESPSEC_ASSIGN_OR_RETURN(const uint64_t value, parse_number(option, number));
  if (value > (uint64_t{1} << 40) / unit) return fail("cli.number", "{} '{}' is too large", option, text);
  return value * unit;
}

void print_error(const Error& error) {
  // Progress lines printed so far come first, also when stdout is a pipe.
  std::fflush(stdout);
  fmt::print(stderr, "espsec: error: {}\n", error.message);
}

void bind(CLI::App* command, Runner& runner, std::function<Status()> body) {
  command->callback([&runner, body = std::move(body)] {
    if (auto status = body(); !status) {
      print_error(status.error());
      runner.exit_code = kExitError;
    }
  });
}

void bind_exit(CLI::App* command, Runner& runner, std::function<Result<int>()> body) {
  command->callback([&runner, body = std::move(body)] {
    auto code = body();
    if (!code) {
      print_error(code.error());
      runner.exit_code = kExitError;
    } else {
      runner.exit_code = *code;
    }
  });
}

}  // namespace espsec::cli
