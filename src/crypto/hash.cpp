#include "crypto/hash.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <stdexcept>

#include "crypto/ossl.hpp"

namespace espsec::crypto {
namespace detail {

std::string openssl_error() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown error" : text;
}

}  // namespace detail

namespace {

// Fetched once: EVP_MD_fetch per call would dominate small-message hashing.
const EVP_MD* md_for(HashAlg alg) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (alg) {
    case HashAlg::kMd5: return md5;
    case HashAlg::kSha1: return sha1;
    case HashAlg::kSha256: return sha256;
    case HashAlg::kSha384: return sha384;
    case HashAlg::kSha512: return sha512;
  }
  return nullptr;
}

[[noreturn]] void die(const char* what) {
  // Digest failures only happen when OpenSSL itself is broken (no provider, out of memory).
  throw std::runtime_error(std::string("OpenSSL ") + what + " failed: " + detail::openssl_error());
}

}  // namespace

size_t digest_size(HashAlg alg) {
  switch (alg) {
    case HashAlg::kMd5: return 16;
    case HashAlg::kSha1: return 20;
    case HashAlg::kSha256: return 32;
    case HashAlg::kSha384: return 48;
    case HashAlg::kSha512: return 64;
  }
  return 0;
}

const char* hash_name(HashAlg alg) {
  switch (alg) {
    case HashAlg::kMd5: return "MD5";
    case HashAlg::kSha1: return "SHA-1";
    case HashAlg::kSha256: return "SHA-256";
    case HashAlg::kSha384: return "SHA-384";
    case HashAlg::kSha512: return "SHA-512";
  }
  return "?";
}

struct Hasher::Impl {
  detail::MdCtxPtr ctx{EVP_MD_CTX_new()};
};

Hasher::Hasher(HashAlg alg) : alg_(alg), impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex2(impl_->ctx.get(), md_for(alg), nullptr) != 1)
    die("digest init");
}
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;
Hasher::~Hasher() = default;

Hasher& Hasher::update(ByteSpan data) {
  if (!data.empty() && EVP_DigestUpdate(impl_->ctx.get(), data.data(), data.size()) != 1)
    die("digest update");
  return *this;
}

Hasher Hasher::clone() const {
  Hasher copy(alg_);
  if (EVP_MD_CTX_copy_ex(copy.impl_->ctx.get(), impl_->ctx.get()) != 1) die("digest copy");
  return copy;
}

Bytes Hasher::finish() {
  Bytes out(digest_size(alg_));
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), out.data(), &len) != 1) die("digest final");
  if (EVP_DigestInit_ex2(impl_->ctx.get(), md_for(alg_), nullptr) != 1) die("digest init");
  return out;
}

Bytes digest(HashAlg alg, ByteSpan data) {
  Bytes out(digest_size(alg));
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(alg), nullptr) != 1)
    die("digest");
  return out;
}

Sha256Digest sha256(ByteSpan data) {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md_for(HashAlg::kSha256), nullptr) != 1)
    die("digest");
  return out;
}

Bytes hmac(HashAlg alg, const SecretBytes& key, ByteSpan data) {
  Bytes out(digest_size(alg));
  size_t len = out.size();
  const char* name = EVP_MD_get0_name(md_for(alg));
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, name, nullptr, key.expose().data(), key.size(),
                data.data(), data.size(), out.data(), out.size(), &len) == nullptr)
    die("HMAC");
  return out;
}

Bytes hmac_sha256(const SecretBytes& key, ByteSpan data) { return hmac(HashAlg::kSha256, key, data); }

Result<SecretBytes> hkdf(HashAlg alg, const SecretBytes& ikm, ByteSpan salt, ByteSpan info,
                         size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (!ctx) return fail("crypto.hkdf", "HKDF unavailable: {}", detail::openssl_error());
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 const_cast<char*>(EVP_MD_get0_name(md_for(alg))), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.expose().data()), ikm.size());
  if (!salt.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<uint8_t*>(salt.data()), salt.size());
  if (!info.empty())
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                    const_cast<uint8_t*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  const int ok = EVP_KDF_derive(ctx, out.expose_mutable().data(), length, params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return fail("crypto.hkdf", "HKDF failed: {}", detail::openssl_error());
  return out;
}

Result<SecretBytes> pbkdf2_hmac(HashAlg alg, ByteSpan password, ByteSpan salt,
                                uint32_t iterations, size_t length) {
  SecretBytes out(length);
  if (PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(password.data()),
                        static_cast<int>(password.size()), salt.data(), static_cast<int>(salt.size()),
                        static_cast<int>(iterations), md_for(alg), static_cast<int>(length),
                        out.expose_mutable().data()) != 1)
    return fail("crypto.pbkdf2", "PBKDF2 failed: {}", detail::openssl_error());
  return out;
}

bool constant_time_equal(ByteSpan a, ByteSpan b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace espsec::crypto
