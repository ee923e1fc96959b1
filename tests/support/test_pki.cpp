#include "support/test_pki.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::test {
namespace {

struct X509Free { void operator()(X509* x) const { X509_free(x); } };
using X509Ptr = std::unique_ptr<X509, X509Free>;

std::string to_pem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

X509Ptr from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return X509Ptr(x);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr build(const CertSpec& spec, const crypto::PrivateKey& subject_key, X509* issuer_cert,
              const crypto::PrivateKey& issuer_key) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  static long serial = 1000;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_offset_s);
  X509_set_pubkey(cert.get(), subject_key.native());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer_cert ? X509_get_subject_name(issuer_cert) : name);
  X509* issuer_for_ext = issuer_cert ? issuer_cert : cert.get();
  add_ext(cert.get(), issuer_for_ext, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(cert.get(), issuer_for_ext, NID_subject_key_identifier, "hash");
  if (spec.is_ca) add_ext(cert.get(), issuer_for_ext, NID_key_usage, "critical,keyCertSign,cRLSign");
  std::string san;
  for (const auto& d : spec.dns_names) san += fmt::format("{}DNS:{}", san.empty() ? "" : ",", d);
  for (const auto& ip : spec.ip_addresses) san += fmt::format("{}IP:{}", san.empty() ? "" : ",", ip);
  if (!san.empty()) add_ext(cert.get(), issuer_for_ext, NID_subject_alt_name, san);
  EXPECT_GT(X509_sign(cert.get(), issuer_key.native(), EVP_sha256()), 0);
  return cert;
}

}  // namespace

IssuedCert make_self_signed_ca(const std::string& common_name) {
  auto key = crypto::PrivateKey::generate_ec(crypto::Curve::kP256);
  EXPECT_TRUE(key);
  CertSpec spec{common_name, {}, {}, -3600, 365L * 24 * 3600, true};
  auto cert = build(spec, *key, nullptr, *key);
  return IssuedCert{std::move(*key), to_pem(cert.get())};
}

IssuedCert issue_cert(const IssuedCert& issuer, const CertSpec& spec) {
  auto key = crypto::PrivateKey::generate_ec(crypto::Curve::kP256);
  EXPECT_TRUE(key);
  auto issuer_cert = from_pem(issuer.cert_pem);
  auto cert = build(spec, *key, issuer_cert.get(), issuer.key);
  return IssuedCert{std::move(*key), to_pem(cert.get())};
}

std::pair<std::filesystem::path, std::filesystem::path> write_pem_pair(const std::filesystem::path& dir,
                                                                       const std::string& stem,
                                                                       const IssuedCert& cert,
                                                                       const std::string& chain_pem) {
  const auto cert_path = dir / (stem + ".crt.pem");
  const auto key_path = dir / (stem + ".key.pem");
  const std::string chain = cert.cert_pem + chain_pem;
  write_bytes(cert_path, as_bytes(chain));
  const auto key_pem = cert.key.to_pem_pkcs8();
  write_bytes(key_path, key_pem.expose());
  return {cert_path, key_path};
}

}  // namespace espsec::test
