#include "ota/transport.hpp"

#include <httplib.h>
#include <openssl/ssl.h>

namespace espsec::ota {
namespace {

class HttpsTransport final : public Transport {
 public:
  HttpsTransport(const Url& url, std::shared_ptr<const certs::TrustAnchor> anchor, const Clock& clock)
      : client_(url.host, url.port), verifier_(std::move(anchor), clock, url.host) {
    // The verifier decides; httplib's own trust store and host check stay off.
    client_.enable_server_certificate_verification(false);
    SSL_CTX* ctx = client_.ssl_context();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    verifier_.install(ctx);
    client_.set_connection_timeout(5, 0);
    client_.set_read_timeout(15, 0);
    client_.set_keep_alive(true);
  }

  Result<Response> get(const std::string& path, std::optional<uint64_t> range_from,
                       const std::function<bool(ByteSpan)>& sink) override {
    httplib::Headers headers;
    if (range_from) headers.emplace("Range", fmt::format("bytes={}-", *range_from));
    Response response;
    bool delivering = false;
    auto result = client_.Get(
        path, headers,
        [&](const httplib::Response& r) {
          response.status = r.status;
          response.content_type = r.get_header_value("Content-Type");
          delivering = r.status >= 200 && r.status < 300;
          return true;
        },
        [&](const char* data, size_t length) {
          if (!delivering) return true;  // error bodies are not image bytes
          return sink(ByteSpan(reinterpret_cast<const uint8_t*>(data), length));
        });
    if (!result) return transport_error(result.error());
    return response;
  }

  Result<std::string> post_json(const std::string& path, const std::string& body) override {
    auto result = client_.Post(path, body, "application/json");
    if (!result) return transport_error(result.error());
    if (result->status < 200 || result->status >= 300)
      return fail("ota.http_status", "POST {}: HTTP {}: {}", path, result->status, result->body);
    return result->body;
  }

 private:
  std::unexpected<Error> transport_error(httplib::Error error) {
    if (const auto& rejected = verifier_.last_error(); rejected && error == httplib::Error::SSLConnection)
      return std::unexpected(Error{rejected->code, "server certificate rejected: " + rejected->message});
    return fail("ota.transport", "connection to the update server failed: {}", httplib::to_string(error));
  }

  httplib::SSLClient client_;
  certs::ServerVerifier verifier_;
};

}  // namespace

Result<std::unique_ptr<Transport>> connect_https(const Url& url, std::shared_ptr<const certs::TrustAnchor> anchor,
                                                 const Clock& clock) {
  if (!anchor) return fail("ota.trust", "no trust anchor: give a certificate bundle, a CA or a pinned certificate");
  return std::unique_ptr<Transport>(std::make_unique<HttpsTransport>(url, std::move(anchor), clock));
}

}  // namespace espsec::ota
