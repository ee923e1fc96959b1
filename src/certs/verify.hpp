// Server certificate verification as an ESP device performs it in esp-tls/mbedTLS, for the OTA
// agent's TLS client and for standalone checks of a PEM chain (storage-and-OTA fact sheet 6.3;
// ESP-IDF esp_crt_bundle.c esp_crt_verify_callback; mbedTLS x509_crt_verify_chain).
//
// The presented chain (leaf first, as the server sends it) is verified like mbedTLS does:
//   * chain building: each certificate's parent is looked for among the certificates after it
//     (name match, parent is a CA, signature checked), trusted anchor first;
//   * every certificate gets flags: EXPIRED / FUTURE against the injected clock, NOT_TRUSTED
//     when it has no parent or its parent's signature does not verify, BAD_MD (signature hash
//     below SHA-256), BAD_KEY (RSA below 2048 bits, EC curve below 128-bit security);
//     the leaf also gets CN_MISMATCH (hostname against SAN dNSName/iPAddress, else CN) and
//     EXT_KEY_USAGE (extendedKeyUsage present without serverAuth).
// Then the anchor decides:
//   Bundle (ESP-IDF's default): for every certificate whose flags, ignoring BAD_MD, are
//     exactly NOT_TRUSTED (in practice the top of the presented chain), the bundle is searched
//     for its raw issuer DER (binary search, find_issuer) and the certificate's signature is
//     checked with the bundle key (SHA-1/256/384/512 with RSA PKCS#1 v1.5 or ECDSA only).
//     Success clears that certificate's flags; no entry -> "certs.verify_no_issuer"; a wrong
//     signature -> "certs.verify_signature". Expired, not-yet-valid or hostname flags are
//     never cleared.
//   CA: one trusted CA certificate (esp_tls_cfg.cacert); its own validity dates count too.
//   Pinned: the leaf must be byte-identical to the pinned certificate; the rest of the chain
//     is ignored; validity dates and hostname still apply.
// Any flag left fails verification; the error code names the most actionable one:
//   certs.verify_expired, certs.verify_not_yet_valid, certs.verify_hostname,
//   certs.verify_untrusted, certs.verify_not_pinned, certs.verify_weak_key,
//   certs.verify_weak_hash, certs.verify_key_usage, certs.verify_chain_too_long,
//   certs.verify_empty_chain; the message lists every problem.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "certs/bundle.hpp"
#include "certs/x509.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

typedef struct x509_store_ctx_st X509_STORE_CTX;
typedef struct ssl_ctx_st SSL_CTX;

namespace espsec::certs {

// mbedTLS verification flags (mbedtls/x509.h MBEDTLS_X509_BADCERT_*), same values.
enum VerifyFlag : uint32_t {
  kFlagExpired = 0x01,
  kFlagCnMismatch = 0x04,
  kFlagNotTrusted = 0x08,
  kFlagFuture = 0x0200,
  kFlagExtKeyUsage = 0x1000,
  kFlagBadMd = 0x4000,
  kFlagBadKey = 0x010000,
};
// "EXPIRED|NOT_TRUSTED"
std::string describe_flags(uint32_t flags);

class TrustAnchor {
 public:
  enum class Kind { kBundle, kCa, kPinned };
  // Parses with the device's loading checks (parse_bundle).
  [[nodiscard]] static Result<TrustAnchor> bundle(ByteSpan bundle_bytes, uint32_t max_certs = kDefaultMaxCerts);
  static TrustAnchor ca(Certificate ca_certificate);
  static TrustAnchor pinned(Certificate leaf);

  Kind kind() const { return kind_; }
  const ParsedBundle* bundle() const { return kind_ == Kind::kBundle ? &bundle_ : nullptr; }
  const Certificate* certificate() const { return certificate_ ? &*certificate_ : nullptr; }

 private:
  TrustAnchor() = default;
  Kind kind_ = Kind::kBundle;
  ParsedBundle bundle_;
  std::optional<Certificate> certificate_;
};

struct VerifyOptions {
  int64_t now = 0;       // Unix seconds; validity dates are checked against it
  std::string hostname;  // checked against the leaf unless empty (a DNS name or an IP literal)
};

struct VerifiedLink {
  std::string subject;
  uint32_t flags = 0;                  // left after the anchor decided (0 on success)
  std::optional<size_t> bundle_entry;  // the bundle entry that vouched for this certificate
};
struct Verification {
  std::vector<VerifiedLink> chain;  // leaf first, as built
};

// The whole decision for `presented` (leaf first). On failure the Error code and message say why.
[[nodiscard]] Result<Verification> verify_chain(const TrustAnchor& anchor, std::span<const Certificate> presented,
                                                const VerifyOptions& options);
// Same, for a PEM text holding the leaf and then any intermediates.
[[nodiscard]] Result<Verification> verify_pem_chain(const TrustAnchor& anchor, ByteSpan pem,
                                                    const VerifyOptions& options);

// The verifier for one TLS connection of an OpenSSL client:
//   ServerVerifier verifier(anchor, clock, "ota.example.com");
//   verifier.install(ssl_ctx);                    // SSL_VERIFY_PEER + the callback below
//   ... SSL_connect ...; on failure verifier.last_error() says why.
// It replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback), so OpenSSL's
// own trust store, clock and hostname settings play no part; time comes from `clock`.
// The anchor and the clock must outlive the verifier, and the verifier every SSL_CTX it is
// installed on. Not thread-safe: one verifier per connection.
class ServerVerifier {
 public:
  ServerVerifier(std::shared_ptr<const TrustAnchor> anchor, const Clock& clock, std::string hostname);

  void install(SSL_CTX* ctx);
  // The callback itself, for callers that install it by hand: `self` is the ServerVerifier.
  // Returns 1 to accept; on rejection sets the X509_STORE_CTX error and returns 0.
  static int openssl_callback(X509_STORE_CTX* ctx, void* self);
  // Verifies the chain an X509_STORE_CTX carries (its target certificate and untrusted stack).
  [[nodiscard]] Result<Verification> verify_store_ctx(X509_STORE_CTX* ctx) const;

  const std::optional<Error>& last_error() const { return last_error_; }
  const std::optional<Verification>& last_verification() const { return last_verification_; }

 private:
  std::shared_ptr<const TrustAnchor> anchor_;
  const Clock& clock_;
  std::string hostname_;
  std::optional<Error> last_error_;
  std::optional<Verification> last_verification_;
};

}  // namespace espsec::certs
