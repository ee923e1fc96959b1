#include "signing/signing_test_util.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <vector>

#include "format/sbv2.hpp"

namespace espsec::signing::test {

crypto::PrivateKey vector_private_key(const std::string& name) {
  auto key = crypto::PrivateKey::load(espsec::test::read_vector("secure/keys/" + name + ".pem"));
  EXPECT_TRUE(key) << name;
  return std::move(key).value();
}

crypto::PublicKey vector_public_key(const std::string& name) {
  auto key = crypto::PublicKey::load(espsec::test::read_vector("secure/keys/" + name + ".pub.pem"));
  EXPECT_TRUE(key) << name;
  return std::move(key).value();
}

Bytes sector_block(ByteSpan image, size_t index) {
  const ByteSpan block = image.last(sbv2::kSectorSize).subspan(index * sbv2::kBlockSize, sbv2::kBlockSize);
  return Bytes(block.begin(), block.end());
}

namespace {
Bytes reversed_range(ByteSpan block, size_t offset, size_t size) {
  const ByteSpan part = block.subspan(offset, size);
  return Bytes(part.rbegin(), part.rend());
}
}  // namespace

bool openssl_verifies_block(ByteSpan public_key_pem, ByteSpan block, ByteSpan data) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_key_pem.data(), static_cast<int>(public_key_pem.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  Bytes signature;
  const EVP_MD* md = EVP_sha256();
  if (block[1] == 0x02) {
    signature = reversed_range(block, 812, 384);
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
      return false;
  } else {
    const bool p384 = block[2] == 0x01;
    const size_t curve_offset = p384 ? 52 : 36;
    const size_t coordinate = block[curve_offset] == 1 ? 24 : block[curve_offset] == 2 ? 32 : 48;
    const size_t rs_offset = curve_offset + 1 + (p384 ? 96 : 64);
    const Bytes r = reversed_range(block, rs_offset, coordinate);
    const Bytes s = reversed_range(block, rs_offset + coordinate, coordinate);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr),
                   BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr));
    unsigned char* der = nullptr;
    const int der_len = i2d_ECDSA_SIG(sig, &der);
    signature.assign(der, der + der_len);
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    if (p384) md = EVP_sha384();
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.get()) != 1) return false;
  }
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), data.data(), data.size()) == 1;
}

PemPair foreign_key(const std::string& kind) {
  EVP_PKEY* key = nullptr;
  if (kind == "rsa2048") key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  else if (kind == "p521") key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
  else if (kind == "ed25519") key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  else if (kind == "x25519") key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
  EXPECT_NE(key, nullptr) << kind;
  PemPair out;
  auto contents = [](BIO* bio) {
    char* p = nullptr;
    const long n = BIO_get_mem_data(bio, &p);
    return Bytes(reinterpret_cast<uint8_t*>(p), reinterpret_cast<uint8_t*>(p) + n);
  };
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.private_pem = contents(priv);
  BIO_free(priv);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  out.public_pem = contents(pub);
  BIO_free(pub);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace espsec::signing::test
