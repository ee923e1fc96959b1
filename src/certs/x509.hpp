// X.509 certificates over OpenSSL's X509 API (no hand-written ASN.1): loading from PEM/DER, the
// encodings the ESP certificate bundle stores, validity dates and printable names.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "crypto/pkey.hpp"

typedef struct x509_st X509;

namespace espsec::certs {

class Certificate {
 public:
  // Exactly one DER certificate, nothing after it ("certs.parse", "certs.trailing_data").
  [[nodiscard]] static Result<Certificate> from_der(ByteSpan der);
  // The first CERTIFICATE block of a PEM text ("certs.parse" if there is none or it is invalid).
  [[nodiscard]] static Result<Certificate> from_pem(ByteSpan pem);
  // Every CERTIFICATE block of a PEM text, in order ("certs.parse" on the first bad block,
  // "certs.no_certificate" when there is none), or the single certificate of a DER file.
  [[nodiscard]] static Result<std::vector<Certificate>> load_all(ByteSpan data);
  // Takes a reference on `x509` (X509_up_ref); for certificates handed over by OpenSSL.
  static Certificate from_native(X509* x509);

  Bytes der() const;
  // Subject and issuer Name DER exactly as encoded in the certificate.
  Bytes subject_der() const;
  Bytes issuer_der() const;
  // SubjectPublicKeyInfo DER as gen_crt_bundle stores it (encoded from the parsed key).
  Bytes public_key_der() const;
  [[nodiscard]] Result<crypto::PublicKey> public_key() const;
  // RFC 4514 text, most significant RDN last, UTF-8 left unescaped: "CN=Root,O=Org,C=US".
  std::string subject_text() const;
  std::string issuer_text() const;
  int64_t not_before() const;  // Unix seconds (UTC)
  int64_t not_after() const;
  bool is_self_issued() const;  // issuer name equals subject name
  bool same_as(const Certificate& other) const;  // identical DER

  X509* native() const { return x509_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> x509) : x509_(std::move(x509)) {}
  std::shared_ptr<X509> x509_;
};

// RFC 4514 text of a Name DER, as a bundle stores subjects ("<invalid name>" if it does not parse).
std::string name_der_text(ByteSpan name_der);

// "RSA-2048", "EC-secp256r1", "EC-secp384r1", "Ed25519"... as the bundle listings print keys.
std::string key_description(ByteSpan spki_der);

// "2046-11-18T19:16:04Z"
std::string format_utc(int64_t unix_seconds);
// "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ"; "certs.date" otherwise.
[[nodiscard]] Result<int64_t> parse_utc(std::string_view text);

}  // namespace espsec::certs
