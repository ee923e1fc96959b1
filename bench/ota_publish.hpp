// `espsec_bench --ota-publish ROOT PRODUCT CHANNEL IMAGE`: a release for scripts/bench_ota.sh.
#pragma once

namespace espsec::bench {

// Makes the app image at IMAGE the latest release of PRODUCT/CHANNEL in the update server's
// store at ROOT (through ota::Store, as the server reads it) and prints the image's URL path.
// `argv` holds the four arguments; returns the process exit code (2 on any error).
int ota_publish(int argc, char** argv);

}  // namespace espsec::bench
