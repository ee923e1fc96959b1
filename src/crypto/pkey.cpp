#include "crypto/pkey.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>

#include "crypto/ossl.hpp"

namespace espsec::crypto {
namespace {

using detail::BnCtxPtr;
using detail::BnPtr;
using detail::openssl_error;
using detail::PkeyCtxPtr;

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using BioPtr = std::unique_ptr<BIO, BioFree>;
struct EcGroupFree { void operator()(EC_GROUP* g) const { EC_GROUP_free(g); } };
struct EcPointFree { void operator()(EC_POINT* p) const { EC_POINT_free(p); } };
struct ParamBldFree { void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct DecoderFree { void operator()(OSSL_DECODER_CTX* d) const { OSSL_DECODER_CTX_free(d); } };
struct EcdsaSigFree { void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); } };

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

// Never prompt on a terminal for an encrypted PEM: treat it as "no password".
int no_password(char*, int, int, void*) { return -1; }

bool looks_like_pem(ByteSpan data) {
  return as_chars(data).find("-----BEGIN ") != std::string_view::npos;
}

BioPtr mem_bio(ByteSpan data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

Bytes bio_contents(BIO* bio) {
  char* ptr = nullptr;
  const long len = BIO_get_mem_data(bio, &ptr);
  return Bytes(reinterpret_cast<uint8_t*>(ptr), reinterpret_cast<uint8_t*>(ptr) + len);
}

SecretBytes bio_secret(BIO* bio) {
  char* ptr = nullptr;
  const long len = BIO_get_mem_data(bio, &ptr);
  SecretBytes out = SecretBytes::copy_of({reinterpret_cast<uint8_t*>(ptr), static_cast<size_t>(len)});
  OPENSSL_cleanse(ptr, static_cast<size_t>(len));
  return out;
}

KeyKind kind_of(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return KeyKind::kRsa;
    case EVP_PKEY_EC: return KeyKind::kEc;
    case EVP_PKEY_X25519: return KeyKind::kX25519;
    default: return KeyKind::kOther;
  }
}

std::optional<Curve> curve_of(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return std::nullopt;
  char name[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) != 1)
    return std::nullopt;
  const std::string_view n(name, len);
  if (n == "prime192v1" || n == "P-192") return Curve::kP192;
  if (n == "prime256v1" || n == "P-256") return Curve::kP256;
  if (n == "secp384r1" || n == "P-384") return Curve::kP384;
  return std::nullopt;
}

const char* ossl_group(Curve c) {
  switch (c) {
    case Curve::kP192: return "prime192v1";
    case Curve::kP256: return "prime256v1";
    case Curve::kP384: return "secp384r1";
  }
  return "";
}

int nid_of(Curve c) {
  switch (c) {
    case Curve::kP192: return NID_X9_62_prime192v1;
    case Curve::kP256: return NID_X9_62_prime256v1;
    case Curve::kP384: return NID_secp384r1;
  }
  return NID_undef;
}

Bytes bn_param(EVP_PKEY* key, const char* name, size_t pad_to) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) return {};
  BnPtr bn(raw);
  const size_t len = std::max(pad_to, static_cast<size_t>(BN_num_bytes(bn.get())));
  Bytes out(len);
  BN_bn2binpad(bn.get(), out.data(), static_cast<int>(len));
  return out;
}

Result<std::shared_ptr<EVP_PKEY>> from_params(const char* type, int selection, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, selection, params) != 1)
    return fail("crypto.key_build", "cannot build {} key: {}", type, openssl_error());
  return own(key);
}

Result<std::shared_ptr<EVP_PKEY>> keygen(const char* type, OSSL_PARAM* params) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      (params && EVP_PKEY_CTX_set_params(ctx.get(), params) != 1) ||
      EVP_PKEY_generate(ctx.get(), &key) != 1)
    return fail("crypto.keygen", "{} key generation failed: {}", type, openssl_error());
  return own(key);
}

}  // namespace

size_t curve_field_bytes(Curve curve) {
  switch (curve) {
    case Curve::kP192: return 24;
    case Curve::kP256: return 32;
    case Curve::kP384: return 48;
  }
  return 0;
}

const char* curve_name(Curve curve) {
  switch (curve) {
    case Curve::kP192: return "P-192";
    case Curve::kP256: return "P-256";
    case Curve::kP384: return "P-384";
  }
  return "?";
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::load(ByteSpan data) {
  if (data.empty()) return fail("crypto.key_empty", "the key file is empty");
  ERR_clear_error();
  EVP_PKEY* key = nullptr;
  if (looks_like_pem(data)) {
    auto bio = mem_bio(data);
    key = PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr);
  } else {
    const uint8_t* p = data.data();
    key = d2i_PUBKEY(nullptr, &p, static_cast<long>(data.size()));
  }
  if (!key) {
    // PKCS#1 "RSA PUBLIC KEY" and other type-specific encodings.
    std::unique_ptr<OSSL_DECODER_CTX, DecoderFree> dec(OSSL_DECODER_CTX_new_for_pkey(
        &key, nullptr, nullptr, nullptr, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr));
    const uint8_t* p = data.data();
    size_t len = data.size();
    if (dec) OSSL_DECODER_from_data(dec.get(), &p, &len);
    if (key && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
      // The generic decoder also takes private keys; a public-key loader must not.
      EVP_PKEY_free(key);
      key = nullptr;
    }
  }
  ERR_clear_error();
  if (!key) return fail("crypto.key_parse", "not a PEM or DER public key");
  return PublicKey(own(key));
}

Result<PublicKey> PublicKey::from_rsa(ByteSpan modulus_be, ByteSpan exponent_be) {
  BnPtr n(BN_bin2bn(modulus_be.data(), static_cast<int>(modulus_be.size()), nullptr));
  BnPtr e(BN_bin2bn(exponent_be.data(), static_cast<int>(exponent_be.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!n || !e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
    return fail("crypto.key_build", "cannot build RSA key: {}", openssl_error());
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  ESPSEC_ASSIGN_OR_RETURN(auto key, from_params("RSA", EVP_PKEY_PUBLIC_KEY, params.get()));
  return PublicKey(std::move(key));
}

Result<PublicKey> PublicKey::from_ec_point(Curve curve, ByteSpan point) {
  std::unique_ptr<EC_GROUP, EcGroupFree> group(EC_GROUP_new_by_curve_name(nid_of(curve)));
  std::unique_ptr<EC_POINT, EcPointFree> pt(group ? EC_POINT_new(group.get()) : nullptr);
  // Rejects points that are not on the curve before they reach a verifier.
  if (!pt || EC_POINT_oct2point(group.get(), pt.get(), point.data(), point.size(), nullptr) != 1 ||
      EC_POINT_is_on_curve(group.get(), pt.get(), nullptr) != 1) {
    ERR_clear_error();
    return fail("crypto.ec_point", "the {} public key point is not on the curve", curve_name(curve));
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(ossl_group(curve)), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<uint8_t*>(point.data()), point.size()),
      OSSL_PARAM_construct_end()};
  ESPSEC_ASSIGN_OR_RETURN(auto key, from_params("EC", EVP_PKEY_PUBLIC_KEY, params));
  return PublicKey(std::move(key));
}

Result<PublicKey> PublicKey::from_x25519(ByteSpan raw32) {
  if (raw32.size() != 32) return fail("crypto.x25519", "an X25519 public key is 32 bytes, got {}", raw32.size());
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, raw32.data(), raw32.size());
  if (!key) return fail("crypto.x25519", "cannot build X25519 key: {}", openssl_error());
  return PublicKey(own(key));
}

KeyKind PublicKey::kind() const { return kind_of(key_.get()); }
std::optional<Curve> PublicKey::curve() const { return curve_of(key_.get()); }
int PublicKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

Bytes PublicKey::rsa_modulus() const {
  if (kind() != KeyKind::kRsa) return {};
  return bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, static_cast<size_t>((bits() + 7) / 8));
}

Bytes PublicKey::rsa_exponent() const {
  if (kind() != KeyKind::kRsa) return {};
  return bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_E, 0);
}

Bytes PublicKey::ec_point() const {
  if (kind() != KeyKind::kEc) return {};
  // Keys loaded from compressed-point files still yield the uncompressed form.
  EVP_PKEY_set_utf8_string_param(key_.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "uncompressed");
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0, &len) != 1) return {};
  Bytes out(len);
  if (EVP_PKEY_get_octet_string_param(key_.get(), OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(), &len) != 1)
    return {};
  out.resize(len);
  return out;
}

Bytes PublicKey::x25519_raw() const {
  if (kind() != KeyKind::kX25519) return {};
  size_t len = 32;
  Bytes out(len);
  if (EVP_PKEY_get_raw_public_key(key_.get(), out.data(), &len) != 1) return {};
  return out;
}

Bytes PublicKey::to_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(bio.get(), key_.get());
  return bio_contents(bio.get());
}

Bytes PublicKey::to_der() const {
  uint8_t* der = nullptr;
  const int len = i2d_PUBKEY(key_.get(), &der);
  if (len <= 0) return {};
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

bool PublicKey::equals(const PublicKey& other) const {
  return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::load(ByteSpan data) {
  if (data.empty()) return fail("crypto.key_empty", "the key file is empty");
  ERR_clear_error();
  EVP_PKEY* key = nullptr;
  if (looks_like_pem(data)) {
    auto bio = mem_bio(data);
    key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
  } else {
    const uint8_t* p = data.data();
    key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(data.size()));
  }
  ERR_clear_error();
  if (!key) return fail("crypto.key_parse", "not a PEM or DER private key (or it is password-protected)");
  return PrivateKey(own(key));
}

Result<PrivateKey> PrivateKey::generate_rsa(int bits) {
  size_t b = static_cast<size_t>(bits);
  unsigned int e = 65537;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_PKEY_PARAM_RSA_BITS, &b),
                         OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e), OSSL_PARAM_construct_end()};
  ESPSEC_ASSIGN_OR_RETURN(auto key, keygen("RSA", params));
  return PrivateKey(std::move(key));
}

Result<PrivateKey> PrivateKey::generate_ec(Curve curve) {
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(ossl_group(curve)), 0),
      OSSL_PARAM_construct_end()};
  ESPSEC_ASSIGN_OR_RETURN(auto key, keygen("EC", params));
  return PrivateKey(std::move(key));
}

Result<PrivateKey> PrivateKey::generate_x25519() {
  ESPSEC_ASSIGN_OR_RETURN(auto key, keygen("X25519", nullptr));
  return PrivateKey(std::move(key));
}

Result<PrivateKey> PrivateKey::ec_from_scalar(Curve curve, const SecretBytes& scalar) {
  std::unique_ptr<EC_GROUP, EcGroupFree> group(EC_GROUP_new_by_curve_name(nid_of(curve)));
  BnPtr d(BN_bin2bn(scalar.expose().data(), static_cast<int>(scalar.size()), nullptr));
  if (!group || !d) return fail("crypto.key_build", "cannot build EC key: {}", openssl_error());
  if (BN_is_zero(d.get()) || BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0)
    return fail("crypto.ec_scalar", "the {} private scalar is out of range", curve_name(curve));
  std::unique_ptr<EC_POINT, EcPointFree> pub(EC_POINT_new(group.get()));
  if (!pub || EC_POINT_mul(group.get(), pub.get(), d.get(), nullptr, nullptr, nullptr) != 1)
    return fail("crypto.key_build", "cannot derive EC public key: {}", openssl_error());
  uint8_t point[1 + 2 * 48];
  const size_t point_len = EC_POINT_point2oct(group.get(), pub.get(), POINT_CONVERSION_UNCOMPRESSED, point,
                                              sizeof point, nullptr);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || point_len == 0 ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, ossl_group(curve), 0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1)
    return fail("crypto.key_build", "cannot build EC key: {}", openssl_error());
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  ESPSEC_ASSIGN_OR_RETURN(auto key, from_params("EC", EVP_PKEY_KEYPAIR, params.get()));
  return PrivateKey(std::move(key));
}

Result<PrivateKey> PrivateKey::x25519_from_raw(const SecretBytes& raw32) {
  if (raw32.size() != 32) return fail("crypto.x25519", "an X25519 private key is 32 bytes, got {}", raw32.size());
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, raw32.expose().data(), 32);
  if (!key) return fail("crypto.x25519", "cannot build X25519 key: {}", openssl_error());
  return PrivateKey(own(key));
}

KeyKind PrivateKey::kind() const { return kind_of(key_.get()); }
std::optional<Curve> PrivateKey::curve() const { return curve_of(key_.get()); }
int PrivateKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

PublicKey PrivateKey::public_key() const {
  // Shares the key object: PublicKey's operations only reach the public half, and the OpenSSL
  // encoder round trip that would copy it out costs a short command a tenth of its run time.
  return PublicKey(key_);
}

SecretBytes PrivateKey::to_pem_traditional() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey_traditional(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_secret(bio.get());
}

SecretBytes PrivateKey::to_pem_pkcs8() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return bio_secret(bio.get());
}

// ---- Signatures ----

namespace {

const char* scheme_md(SignatureScheme scheme) {
  return scheme == SignatureScheme::kEcdsaSha384 ? "SHA384" : "SHA256";
}

bool scheme_matches(KeyKind kind, SignatureScheme scheme) {
  return (scheme == SignatureScheme::kRsaPssSha256) == (kind == KeyKind::kRsa) &&
         (kind == KeyKind::kRsa || kind == KeyKind::kEc);
}

Status setup_sig_ctx(EVP_PKEY_CTX* ctx, SignatureScheme scheme) {
  const EVP_MD* md = EVP_get_digestbyname(scheme_md(scheme));
  if (EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
    return fail("crypto.sig_setup", "signature setup failed: {}", openssl_error());
  if (scheme == SignatureScheme::kRsaPssSha256 &&
      (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1))
    return fail("crypto.sig_setup", "RSA-PSS setup failed: {}", openssl_error());
  return {};
}

}  // namespace

Result<Bytes> sign_digest(const PrivateKey& key, SignatureScheme scheme, ByteSpan digest) {
  if (!scheme_matches(key.kind(), scheme))
    return fail("crypto.sig_key_type", "the key type does not match the signature scheme");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1)
    return fail("crypto.sign", "signing failed: {}", openssl_error());
  ESPSEC_TRY(setup_sig_ctx(ctx.get(), scheme));
  size_t len = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) != 1)
    return fail("crypto.sign", "signing failed: {}", openssl_error());
  Bytes sig(len);
  if (EVP_PKEY_sign(ctx.get(), sig.data(), &len, digest.data(), digest.size()) != 1)
    return fail("crypto.sign", "signing failed: {}", openssl_error());
  sig.resize(len);
  return sig;
}

bool verify_digest(const PublicKey& key, SignatureScheme scheme, ByteSpan digest, ByteSpan signature) {
  if (!scheme_matches(key.kind(), scheme)) return false;
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr));
  bool ok = ctx && EVP_PKEY_verify_init(ctx.get()) == 1 && setup_sig_ctx(ctx.get(), scheme) &&
            EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size()) == 1;
  ERR_clear_error();
  return ok;
}

Result<EcdsaRs> ecdsa_der_to_rs(ByteSpan der, size_t field_len) {
  const uint8_t* p = der.data();
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != der.data() + der.size()) {
    ERR_clear_error();
    return fail("crypto.ecdsa_der", "not a DER-encoded ECDSA signature");
  }
  const BIGNUM* r = ECDSA_SIG_get0_r(sig.get());
  const BIGNUM* s = ECDSA_SIG_get0_s(sig.get());
  if (static_cast<size_t>(BN_num_bytes(r)) > field_len || static_cast<size_t>(BN_num_bytes(s)) > field_len)
    return fail("crypto.ecdsa_der", "ECDSA signature values are larger than the curve");
  EcdsaRs out{Bytes(field_len), Bytes(field_len)};
  BN_bn2binpad(r, out.r.data(), static_cast<int>(field_len));
  BN_bn2binpad(s, out.s.data(), static_cast<int>(field_len));
  return out;
}

Result<Bytes> ecdsa_rs_to_der(ByteSpan r_be, ByteSpan s_be) {
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(r_be.data(), static_cast<int>(r_be.size()), nullptr);
  BIGNUM* s = BN_bin2bn(s_be.data(), static_cast<int>(s_be.size()), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return fail("crypto.ecdsa_der", "cannot encode ECDSA signature");
  }
  uint8_t* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return fail("crypto.ecdsa_der", "cannot encode ECDSA signature");
  Bytes out(der, der + len);
  OPENSSL_free(der);
  return out;
}

// ---- RSA encryption ----

namespace {
Status setup_rsa_padding(EVP_PKEY_CTX* ctx, RsaPadding padding) {
  if (padding == RsaPadding::kPkcs1v15) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) return {};
  } else {
    const EVP_MD* md = EVP_get_digestbyname(padding == RsaPadding::kOaepSha1 ? "SHA1" : "SHA256");
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) == 1)
      return {};
  }
  return fail("crypto.rsa_padding", "RSA padding setup failed: {}", openssl_error());
}
}  // namespace

Result<Bytes> rsa_encrypt(const PublicKey& key, RsaPadding padding, ByteSpan plaintext) {
  if (key.kind() != KeyKind::kRsa) return fail("crypto.rsa_key_type", "RSA encryption needs an RSA key");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr));
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1)
    return fail("crypto.rsa_encrypt", "RSA encryption failed: {}", openssl_error());
  ESPSEC_TRY(setup_rsa_padding(ctx.get(), padding));
  size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) != 1)
    return fail("crypto.rsa_encrypt", "RSA encryption failed: {}", openssl_error());
  Bytes out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, plaintext.data(), plaintext.size()) != 1)
    return fail("crypto.rsa_encrypt", "RSA encryption failed (message too long for the key?)");
  out.resize(len);
  return out;
}

Result<SecretBytes> rsa_decrypt(const PrivateKey& key, RsaPadding padding, ByteSpan ciphertext) {
  if (key.kind() != KeyKind::kRsa) return fail("crypto.rsa_key_type", "RSA decryption needs an RSA key");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr));
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1)
    return fail("crypto.rsa_decrypt", "RSA decryption failed: {}", openssl_error());
  ESPSEC_TRY(setup_rsa_padding(ctx.get(), padding));
  size_t len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, ciphertext.data(), ciphertext.size()) != 1) {
    ERR_clear_error();
    return fail("crypto.rsa_decrypt", "RSA decryption failed: wrong key or corrupted data");
  }
  SecretBytes out(len);
  if (EVP_PKEY_decrypt(ctx.get(), out.expose_mutable().data(), &len, ciphertext.data(), ciphertext.size()) != 1) {
    ERR_clear_error();
    return fail("crypto.rsa_decrypt", "RSA decryption failed: wrong key or corrupted data");
  }
  SecretBytes exact = SecretBytes::copy_of(out.expose().first(len));
  return exact;
}

Result<SecretBytes> derive_shared_secret(const PrivateKey& mine, const PublicKey& peer) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine.native(), nullptr));
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.native()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    return fail("crypto.derive", "key agreement failed: {}", openssl_error());
  SecretBytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.expose_mutable().data(), &len) != 1)
    return fail("crypto.derive", "key agreement failed: {}", openssl_error());
  return out;
}

Result<RsaMontgomery> rsa_montgomery(ByteSpan modulus_be) {
  BnCtxPtr bn_ctx(BN_CTX_new());
  BnPtr n(BN_bin2bn(modulus_be.data(), static_cast<int>(modulus_be.size()), nullptr));
  BnPtr r2(BN_new()), two(BN_new()), exp(BN_new()), r32(BN_new()), inv(BN_new());
  if (!bn_ctx || !n || !r2 || !two || !exp || !r32 || !inv)
    return fail("crypto.alloc", "out of memory");
  if (!BN_is_odd(n.get())) return fail("crypto.rsa_modulus", "the RSA modulus is even");
  const int bits = static_cast<int>(modulus_be.size()) * 8;
  // R^2 mod n with R = 2^bits.
  BN_set_word(two.get(), 2);
  BN_set_word(exp.get(), static_cast<BN_ULONG>(2 * bits));
  if (BN_mod_exp(r2.get(), two.get(), exp.get(), n.get(), bn_ctx.get()) != 1)
    return fail("crypto.bn", "bignum failure: {}", openssl_error());
  // m' = -n^-1 mod 2^32.
  BN_set_word(r32.get(), 1);
  BN_lshift(r32.get(), r32.get(), 32);
  if (BN_mod_inverse(inv.get(), n.get(), r32.get(), bn_ctx.get()) == nullptr)
    return fail("crypto.bn", "bignum failure: {}", openssl_error());
  const uint64_t inv_word = BN_get_word(inv.get());
  RsaMontgomery out;
  out.m_prime = static_cast<uint32_t>((uint64_t{1} << 32) - inv_word);
  out.r_squared.resize(modulus_be.size());
  BN_bn2binpad(r2.get(), out.r_squared.data(), static_cast<int>(out.r_squared.size()));
  return out;
}

}  // namespace espsec::crypto
