#include "crypto/aes.hpp"

#include <openssl/evp.h>

#include "crypto/ossl.hpp"

namespace espsec::crypto {
namespace {

using detail::CipherCtxPtr;
using detail::openssl_error;

const EVP_CIPHER* fetch(const char* name) {
  return EVP_CIPHER_fetch(nullptr, name, nullptr);
}

const EVP_CIPHER* aes_cipher(const char* mode, size_t key_len) {
  // Fetched once per (mode, size): fetching is a provider lookup with a lock.
  static const EVP_CIPHER* const ctr[3] = {fetch("AES-128-CTR"), fetch("AES-192-CTR"), fetch("AES-256-CTR")};
  static const EVP_CIPHER* const gcm[3] = {fetch("AES-128-GCM"), fetch("AES-192-GCM"), fetch("AES-256-GCM")};
  static const EVP_CIPHER* const ecb[3] = {fetch("AES-128-ECB"), fetch("AES-192-ECB"), fetch("AES-256-ECB")};
  const int idx = key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;
  if (idx < 0) return nullptr;
  const std::string_view m(mode);
  if (m == "CTR") return ctr[idx];
  if (m == "GCM") return gcm[idx];
  if (m == "ECB") return ecb[idx];
  return nullptr;
}

Status bad_key_length(const char* what, size_t len) {
  return fail("crypto.key_length", "{} key must be 16, 24 or 32 bytes, got {}", what, len);
}

Status check_out(ByteSpan in, MutableByteSpan out) {
  if (out.size() < in.size())
    return fail("crypto.buffer", "output buffer too small ({} < {})", out.size(), in.size());
  return {};
}

Status cipher_update(EVP_CIPHER_CTX* ctx, ByteSpan in, MutableByteSpan out, const char* what) {
  ESPSEC_TRY(check_out(in, out));
  int len = 0;
  if (!in.empty() &&
      EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(in.size())) != 1)
    return fail("crypto.cipher", "{} failed: {}", what, openssl_error());
  return {};
}

}  // namespace

// ---- XTS ----

struct AesXts::Impl {
  CipherCtxPtr enc{EVP_CIPHER_CTX_new()};
  CipherCtxPtr dec{EVP_CIPHER_CTX_new()};
};

AesXts::AesXts(std::unique_ptr<Impl> impl, int key_bits) : impl_(std::move(impl)), key_bits_(key_bits) {}
AesXts::AesXts(AesXts&&) noexcept = default;
AesXts& AesXts::operator=(AesXts&&) noexcept = default;
AesXts::~AesXts() = default;

Result<AesXts> AesXts::create(const SecretBytes& key) {
  static const EVP_CIPHER* const xts128 = fetch("AES-128-XTS");
  static const EVP_CIPHER* const xts256 = fetch("AES-256-XTS");
  const EVP_CIPHER* cipher = key.size() == 32 ? xts128 : key.size() == 64 ? xts256 : nullptr;
  if (!cipher)
    return fail("crypto.key_length", "AES-XTS key must be 32 or 64 bytes, got {}", key.size());
  auto impl = std::make_unique<Impl>();
  if (!impl->enc || !impl->dec) return fail("crypto.alloc", "cannot allocate a cipher context");
  // The key schedule is computed once here; each data unit then only resets the tweak.
  if (EVP_CipherInit_ex2(impl->enc.get(), cipher, key.expose().data(), nullptr, 1, nullptr) != 1 ||
      EVP_CipherInit_ex2(impl->dec.get(), cipher, key.expose().data(), nullptr, 0, nullptr) != 1)
    return fail("crypto.xts_key", "AES-XTS key rejected: {}", openssl_error());
  return AesXts(std::move(impl), key.size() == 32 ? 128 : 256);
}

namespace {
Status xts_unit(EVP_CIPHER_CTX* ctx, ByteSpan tweak, ByteSpan in, MutableByteSpan out) {
  if (tweak.size() != 16) return fail("crypto.xts_tweak", "AES-XTS tweak must be 16 bytes");
  if (in.size() < 16) return fail("crypto.xts_length", "AES-XTS data unit must be at least 16 bytes");
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, tweak.data(), -1, nullptr) != 1)
    return fail("crypto.cipher", "AES-XTS tweak rejected: {}", openssl_error());
  return cipher_update(ctx, in, out, "AES-XTS");
}
}  // namespace

Status AesXts::encrypt(ByteSpan tweak, ByteSpan in, MutableByteSpan out) {
  return xts_unit(impl_->enc.get(), tweak, in, out);
}
Status AesXts::decrypt(ByteSpan tweak, ByteSpan in, MutableByteSpan out) {
  return xts_unit(impl_->dec.get(), tweak, in, out);
}

// ---- CTR ----

struct AesCtr::Impl {
  CipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
};
AesCtr::AesCtr(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AesCtr::AesCtr(AesCtr&&) noexcept = default;
AesCtr& AesCtr::operator=(AesCtr&&) noexcept = default;
AesCtr::~AesCtr() = default;

Result<AesCtr> AesCtr::create(const SecretBytes& key, ByteSpan counter_block) {
  const EVP_CIPHER* cipher = aes_cipher("CTR", key.size());
  if (!cipher) return std::unexpected(bad_key_length("AES-CTR", key.size()).error());
  if (counter_block.size() != 16) return fail("crypto.ctr_iv", "AES-CTR counter block must be 16 bytes");
  auto impl = std::make_unique<Impl>();
  if (!impl->ctx ||
      EVP_CipherInit_ex2(impl->ctx.get(), cipher, key.expose().data(), counter_block.data(), 1, nullptr) != 1)
    return fail("crypto.cipher", "AES-CTR init failed: {}", openssl_error());
  return AesCtr(std::move(impl));
}

Status AesCtr::apply(ByteSpan in, MutableByteSpan out) {
  return cipher_update(impl_->ctx.get(), in, out, "AES-CTR");
}

// ---- GCM ----

struct AesGcm::Impl {
  CipherCtxPtr ctx{EVP_CIPHER_CTX_new()};
  Direction dir = Direction::kEncrypt;
};
AesGcm::AesGcm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AesGcm::AesGcm(AesGcm&&) noexcept = default;
AesGcm& AesGcm::operator=(AesGcm&&) noexcept = default;
AesGcm::~AesGcm() = default;

Result<AesGcm> AesGcm::create(Direction dir, const SecretBytes& key, ByteSpan iv) {
  const EVP_CIPHER* cipher = aes_cipher("GCM", key.size());
  if (!cipher) return std::unexpected(bad_key_length("AES-GCM", key.size()).error());
  if (iv.empty()) return fail("crypto.gcm_iv", "AES-GCM IV must not be empty");
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  const int enc = dir == Direction::kEncrypt ? 1 : 0;
  size_t iv_len = iv.size();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t("ivlen", &iv_len), OSSL_PARAM_construct_end()};
  if (!impl->ctx || EVP_CipherInit_ex2(impl->ctx.get(), cipher, nullptr, nullptr, enc, params) != 1 ||
      EVP_CipherInit_ex2(impl->ctx.get(), nullptr, key.expose().data(), iv.data(), enc, nullptr) != 1)
    return fail("crypto.cipher", "AES-GCM init failed: {}", openssl_error());
  return AesGcm(std::move(impl));
}

Status AesGcm::add_aad(ByteSpan aad) {
  int len = 0;
  if (!aad.empty() &&
      EVP_CipherUpdate(impl_->ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1)
    return fail("crypto.cipher", "AES-GCM AAD failed: {}", openssl_error());
  return {};
}

Status AesGcm::update(ByteSpan in, MutableByteSpan out) {
  return cipher_update(impl_->ctx.get(), in, out, "AES-GCM");
}

Result<Bytes> AesGcm::finish_encrypt(size_t tag_len) {
  if (impl_->dir != Direction::kEncrypt) return fail("crypto.gcm_direction", "AES-GCM stream is decrypting");
  if (tag_len < 4 || tag_len > 16) return fail("crypto.gcm_tag_length", "AES-GCM tag must be 4..16 bytes");
  uint8_t tail[16];
  int len = 0;
  if (EVP_CipherFinal_ex(impl_->ctx.get(), tail, &len) != 1)
    return fail("crypto.cipher", "AES-GCM final failed: {}", openssl_error());
  Bytes tag(tag_len);
  if (EVP_CIPHER_CTX_ctrl(impl_->ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_len), tag.data()) != 1)
    return fail("crypto.cipher", "AES-GCM tag failed: {}", openssl_error());
  return tag;
}

Status AesGcm::finish_decrypt(ByteSpan tag) {
  if (impl_->dir != Direction::kDecrypt) return fail("crypto.gcm_direction", "AES-GCM stream is encrypting");
  if (tag.size() < 4 || tag.size() > 16) return fail("crypto.gcm_tag_length", "AES-GCM tag must be 4..16 bytes");
  if (EVP_CIPHER_CTX_ctrl(impl_->ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag.size()),
                          const_cast<uint8_t*>(tag.data())) != 1)
    return fail("crypto.cipher", "AES-GCM tag rejected: {}", openssl_error());
  uint8_t tail[16];
  int len = 0;
  if (EVP_CipherFinal_ex(impl_->ctx.get(), tail, &len) != 1)
    return fail("crypto.gcm_tag", "AES-GCM authentication failed: the data or its tag was altered");
  return {};
}

Result<GcmSealed> gcm_seal(const SecretBytes& key, ByteSpan iv, ByteSpan aad, ByteSpan plaintext,
                           size_t tag_len) {
  ESPSEC_ASSIGN_OR_RETURN(auto gcm, AesGcm::create(Direction::kEncrypt, key, iv));
  ESPSEC_TRY(gcm.add_aad(aad));
  GcmSealed sealed;
  sealed.ciphertext.resize(plaintext.size());
  ESPSEC_TRY(gcm.update(plaintext, sealed.ciphertext));
  ESPSEC_ASSIGN_OR_RETURN(sealed.tag, gcm.finish_encrypt(tag_len));
  return sealed;
}

Result<Bytes> gcm_open(const SecretBytes& key, ByteSpan iv, ByteSpan aad, ByteSpan ciphertext,
                       ByteSpan tag) {
  ESPSEC_ASSIGN_OR_RETURN(auto gcm, AesGcm::create(Direction::kDecrypt, key, iv));
  ESPSEC_TRY(gcm.add_aad(aad));
  Bytes plain(ciphertext.size());
  ESPSEC_TRY(gcm.update(ciphertext, plain));
  if (auto s = gcm.finish_decrypt(tag); !s) {
    secure_wipe(plain);
    return std::unexpected(s.error());
  }
  return plain;
}

Status aes_ecb_block(Direction dir, const SecretBytes& key, ByteSpan in16, MutableByteSpan out16) {
  const EVP_CIPHER* cipher = aes_cipher("ECB", key.size());
  if (!cipher) return bad_key_length("AES", key.size());
  if (in16.size() != 16 || out16.size() < 16) return fail("crypto.block", "AES block must be 16 bytes");
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  const int enc = dir == Direction::kEncrypt ? 1 : 0;
  if (!ctx || EVP_CipherInit_ex2(ctx.get(), cipher, key.expose().data(), nullptr, enc, nullptr) != 1)
    return fail("crypto.cipher", "AES init failed: {}", openssl_error());
  EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
  return cipher_update(ctx.get(), in16, out16, "AES");
}

}  // namespace espsec::crypto
