// How the device's OTA agent talks to the update server: HTTPS only, the server verified the way
// an ESP device verifies it (certificate bundle, a single CA, or a pinned certificate; see
// certs/verify.hpp). An interface, so tests can also drive the agent over an in-memory server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "certs/verify.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "ota/url.hpp"

namespace espsec::ota {

class Transport {
 public:
  virtual ~Transport() = default;
  struct Response {
    int status = 0;
    std::string content_type;
  };
  // GET `path`; with `range_from` sends "Range: bytes=N-". Body chunks go to `sink` as they
  // arrive; a sink returning false stops the transfer. A dropped connection is an error
  // ("ota.transport") after whatever was already delivered.
  [[nodiscard]] virtual Result<Response> get(const std::string& path, std::optional<uint64_t> range_from,
                                             const std::function<bool(ByteSpan)>& sink) = 0;
  // POST a JSON body; the reply body when the status is 2xx ("ota.http_status" otherwise).
  [[nodiscard]] virtual Result<std::string> post_json(const std::string& path, const std::string& body) = 0;
};

// TLS 1.2+ to url.host:url.port; the verifier replaces OpenSSL's chain checks.
[[nodiscard]] Result<std::unique_ptr<Transport>> connect_https(const Url& url,
                                                               std::shared_ptr<const certs::TrustAnchor> anchor,
                                                               const Clock& clock);

}  // namespace espsec::ota
