#include "cert_factory.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

namespace espsec::test {
namespace {

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

}  // namespace

crypto::PrivateKey p256_key() { return crypto::PrivateKey::generate_ec(crypto::Curve::kP256).value(); }

Issued issue(const CertSpec& spec, const crypto::PrivateKey& key, const Issued* issuer) {
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), spec.serial);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert.native()) : name);
  ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(spec.not_after));
  X509_set_pubkey(x, key.native());
  X509* signer_cert = issuer ? issuer->cert.native() : x;
  if (spec.ca) {
    add_ext(x, signer_cert, NID_basic_constraints,
            spec.pathlen ? "critical,CA:TRUE,pathlen:" + std::to_string(*spec.pathlen) : std::string("critical,CA:TRUE"));
    add_ext(x, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, signer_cert, NID_basic_constraints, "critical,CA:FALSE");
    if (!spec.eku.empty()) add_ext(x, signer_cert, NID_ext_key_usage, spec.eku);
  }
  std::vector<std::string> names;
  for (const auto& d : spec.dns) names.push_back(fmt::format("DNS:{}", d));
  for (const auto& ip : spec.ips) names.push_back(fmt::format("IP:{}", ip));
  const std::string san = fmt::format("{}", fmt::join(names, ","));
  if (!san.empty()) add_ext(x, signer_cert, NID_subject_alt_name, san);
  const crypto::PrivateKey& signer = issuer ? issuer->key : key;
  EXPECT_GT(X509_sign(x, signer.native(), EVP_get_digestbyname(spec.digest)), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  Bytes bytes(der, der + len);
  OPENSSL_free(der);
  X509_free(x);
  return Issued{certs::Certificate::from_der(bytes).value(), key};
}

}  // namespace espsec::test
