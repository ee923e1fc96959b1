// The HTTPS module, loaded on first use by the commands that talk to the network.
#pragma once

#include "core/error.hpp"
#include "ota/https_api.hpp"

namespace espsec::cli {

// libespsec_https.so from the directory of this executable ("cli.https_module" when missing).
[[nodiscard]] Result<const ota::HttpsApi*> https();

}  // namespace espsec::cli
