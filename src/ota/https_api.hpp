// The network stack (cpp-httplib, which initialises OpenSSL's TLS layer as soon as it is loaded)
// is built into a module, libespsec_https.so, that the command-line tool loads only for the
// commands that use the network: linked into every process, it cost a short offline command
// (verify-signature of 4 MiB) about a fifth of its run time. Tests and benchmarks link the same
// code directly.
#pragma once

#include <memory>

#include "certs/verify.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "ota/server.hpp"
#include "ota/transport.hpp"

namespace espsec::ota {

struct HttpsApi {
  Result<std::unique_ptr<Server>> (*create_server)(Store& store, const ServerOptions& options, const Clock& clock,
                                                   LogSink log);
  Result<std::unique_ptr<Transport>> (*connect)(const Url& url, std::shared_ptr<const certs::TrustAnchor> anchor,
                                                const Clock& clock);
};

// The module's one exported symbol.
inline constexpr const char* kHttpsModuleFile = "libespsec_https.so";
inline constexpr const char* kHttpsApiSymbol = "espsec_https_api";

}  // namespace espsec::ota
