// espsec: ESP-IDF platform security host tools and virtual device.
#include <exception>

#include <fmt/format.h>

#include "cli/common.hpp"

int main(int argc, char** argv) {
  using namespace espsec::cli;
  CLI::App app{"espsec: ESP-IDF platform security tools and an emulated ESP32-C3", "espsec"};
  app.require_subcommand(1);
  app.set_version_flag("--espsec-version", ESPSEC_VERSION);
  Runner runner;
  register_secure(app, runner);
  register_image(app, runner);
  register_ota(app, runner);
  register_partition_table(app, runner);
  register_certs(app, runner);
  register_efuse(app, runner);
  register_nvs(app, runner);
  register_device(app, runner);
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
