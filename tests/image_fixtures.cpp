#include "image_fixtures.hpp"

#include <gtest/gtest.h>

#include "crypto/hash.hpp"
#include "format/sbv2.hpp"

namespace espsec::test {
namespace {

Bytes pattern(size_t length, uint8_t seed) {
  Bytes out(length);
  for (size_t i = 0; i < length; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

template <class T>
T value_or_fail(Result<T> result) {
  if (!result) {
    ADD_FAILURE() << result.error().message;
    std::abort();
  }
  return std::move(*result);
}

}  // namespace

image::Header c3_header() {
  image::Header h;
  h.spi_mode = 2;
  h.spi_speed = 0xF;
  h.spi_size = 2;
  h.entry_addr = 0x40380000;
  h.chip_id = 5;
  h.min_chip_rev = 3;
  h.min_chip_rev_full = 3;
  h.max_chip_rev_full = 199;
  h.hash_appended = 1;
  return h;
}

image::AppDesc demo_app_desc(uint32_t secure_version) {
  image::AppDesc d;
  d.secure_version = secure_version;
  d.version = "1.0";
  d.project_name = "demo";
  d.time = "12:00:00";
  d.date = "Jan  1 2025";
  d.idf_ver = "v5.4.1";
  d.max_efuse_blk_rev_full = 199;
  d.mmu_page_size = 16;
  d.spi_flash_mode = 2;
  return d;
}

std::vector<image::SegmentData> small_app_segments(uint32_t secure_version) {
  Bytes drom = value_or_fail(image::serialize_app_desc(demo_app_desc(secure_version)));
  const Bytes rodata = pattern(0x200, 1);
  drom.insert(drom.end(), rodata.begin(), rodata.end());
  return {{0x3C000020, std::move(drom)}, {0x3FC8B400, pattern(0x104, 2)}, {0x40380000, pattern(0x300, 3)}};
}

Bytes small_app(uint32_t secure_version) {
  return value_or_fail(image::build_image(c3_header(), small_app_segments(secure_version)));
}

const crypto::PrivateKey& rsa_key_a() {
  static const crypto::PrivateKey key = value_or_fail(crypto::PrivateKey::generate_rsa(3072));
  return key;
}

const crypto::PrivateKey& rsa_key_b() {
  static const crypto::PrivateKey key = value_or_fail(crypto::PrivateKey::generate_rsa(3072));
  return key;
}

const crypto::PrivateKey& ecdsa256_key() {
  static const crypto::PrivateKey key = value_or_fail(crypto::PrivateKey::generate_ec(crypto::Curve::kP256));
  return key;
}

Bytes sign_image(ByteSpan image, std::span<const crypto::PrivateKey* const> keys) {
  Bytes out(image.begin(), image.end());
  out.resize(align_up(out.size(), sbv2::kSectorSize), 0xFF);
  std::vector<Bytes> blocks;
  for (const crypto::PrivateKey* key : keys) {
    const crypto::PublicKey pub = key->public_key();
    const sbv2::Scheme scheme = value_or_fail(sbv2::scheme_for_key(pub));
    sbv2::SignatureBlock block;
    block.scheme = scheme;
    block.image_digest = crypto::digest(sbv2::image_digest_alg(scheme), out);
    block.key_field = value_or_fail(sbv2::key_field(pub));
    const Bytes native = value_or_fail(crypto::sign_digest(*key, sbv2::signature_scheme(scheme), block.image_digest));
    block.signature_field = value_or_fail(sbv2::signature_field(scheme, native));
    blocks.push_back(value_or_fail(sbv2::serialize_block(block)));
  }
  const Bytes sector = value_or_fail(sbv2::serialize_sector(blocks));
  out.insert(out.end(), sector.begin(), sector.end());
  return out;
}

Bytes sign_image(ByteSpan image, const crypto::PrivateKey& key) {
  const crypto::PrivateKey* keys[] = {&key};
  return sign_image(image, keys);
}

crypto::Sha256Digest key_digest_of(const crypto::PrivateKey& key) {
  return value_or_fail(sbv2::key_digest(key.public_key()));
}

}  // namespace espsec::test
