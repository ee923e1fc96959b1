#include "cli/common.hpp"

#include <algorithm>
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
