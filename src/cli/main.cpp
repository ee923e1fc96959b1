// espsec: ESP-IDF platform security host tools and virtual device.
#include <algorithm>
#include <exception>
#include <string>

#include <fmt/format.h>

#include "cli/common.hpp"

namespace {

using espsec::cli::Runner;

struct Group {
  const char* name;  // dashed; the underscore spelling is accepted too
  void (*add)(CLI::App&, Runner&);
};

constexpr Group kGroups[] = {
    {"secure", espsec::cli::register_secure},
    {"image", espsec::cli::register_image},
    {"efuse", espsec::cli::register_efuse},
    {"partition-table", espsec::cli::register_partition_table},
    {"nvs", espsec::cli::register_nvs},
    {"certs", espsec::cli::register_certs},
    {"device", espsec::cli::register_device},
    {"ota", espsec::cli::register_ota},
};

// The group argv[1] names, if any. Building every group's options costs a quarter of a short
// command's run time, so a command registers only its own group; help and errors see them all.
const Group* named_group(int argc, char** argv) {
  if (argc < 2) return nullptr;
  std::string word = argv[1];
  std::replace(word.begin(), word.end(), '_', '-');
  for (const Group& g : kGroups)
    if (word == g.name) return &g;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace espsec::cli;
  CLI::App app{"espsec: ESP-IDF platform security tools and an emulated ESP32-C3", "espsec"};
  app.require_subcommand(1);
  app.set_version_flag("--espsec-version", ESPSEC_VERSION);
  Runner runner;
  if (const Group* group = named_group(argc, argv)) {
    group->add(app, runner);
  } else {
    for (const Group& g : kGroups) g.add(app, runner);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version requests exit 0; usage errors exit 2 like the Espressif tools.
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitError;
  } catch (const std::exception& e) {
    fmt::print(stderr, "espsec: error: {}\n", e.what());
    return kExitError;
  }
  return runner.exit_code;
}
