// Streaming decryption against every encrypted_img vector (README-storage-ota.md), in many
// chunk sizes, and every way a stream can be refused.
#include "encimg/decryptor.hpp"

#include <gtest/gtest.h>

#include "crypto/random.hpp"
#include "encimg/encrypt.hpp"
#include "test_util.hpp"

namespace espsec::encimg {
namespace {

DecryptionKey rsa_key() {
  auto pk = crypto::PrivateKey::load(test::read_vector("encrypted_img/rsa3072_private.pem"));
  EXPECT_TRUE(pk);
  auto key = DecryptionKey::from_private_key(std::move(*pk));
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

DecryptionKey hmac_key() {
  const Bytes raw = test::read_vector("encrypted_img/device_hmac_key.bin");
  auto key = DecryptionKey::from_hmac_key(SecretBytes::copy_of(raw));
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

DecryptionKey ecc_pem_key() {
  auto pk = crypto::PrivateKey::load(test::read_vector("encrypted_img/device_priv_key.pem"));
  EXPECT_TRUE(pk);
  auto key = DecryptionKey::from_private_key(std::move(*pk));
  EXPECT_TRUE(key) << key.error().message;
  return std::move(*key);
}

struct Outcome {
  Bytes plaintext;           // everything released, authenticated or not
  std::optional<Error> error;
  bool failed_in_feed = false;
  uint64_t fed_before_error = 0;  // input bytes handed over up to and including the failing chunk
};

Outcome run(ByteSpan image, DecryptionKey key, size_t chunk) {
  ImageDecryptor dec(std::move(key));
  Outcome o;
  for (size_t at = 0; at < image.size(); at += chunk) {
    const ByteSpan piece = image.subspan(at, std::min(chunk, image.size() - at));
    if (auto st = dec.feed(piece, o.plaintext); !st) {
      o.error = st.error();
      o.failed_in_feed = true;
      o.fed_before_error = at + piece.size();
      return o;
    }
  }
  if (auto st = dec.finish(); !st) o.error = st.error();
  return o;
}

const size_t kChunkSizes[] = {1, 3, 15, 16, 17, 388, 511, 512, 513, 4096, 65536, 1 << 20};

TEST(EncImgDecrypt, RsaVectorsInEveryChunkSize) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"plain_4k", "plain_17", "plain_empty", "plain_200k"}) {
    const Bytes image = test::read_vector(std::string("encrypted_img/") + name + ".rsa.enc.bin");
    const Bytes plain = test::read_vector(std::string("encrypted_img/") + name + ".bin");
    for (size_t chunk : kChunkSizes) {
      if (chunk == 1 && image.size() > 10000) continue;  // 1-byte chunks of 200 KiB run below
      Outcome o = run(image, rsa_key(), chunk);
      ASSERT_FALSE(o.error) << name << " chunk " << chunk << ": " << o.error->message;
      EXPECT_EQ(o.plaintext, plain) << name << " chunk " << chunk;
    }
  }
}

TEST(EncImgDecrypt, LargeVectorByteByByte) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = test::read_vector("encrypted_img/plain_200k.rsa.enc.bin");
  Outcome o = run(image, rsa_key(), 1);
  ASSERT_FALSE(o.error) << o.error->message;
  EXPECT_EQ(o.plaintext, test::read_vector("encrypted_img/plain_200k.bin"));
}

TEST(EncImgDecrypt, EciesVectorsWithHmacKeyAndWithPrivateKey) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* name : {"plain_4k", "plain_200k"}) {
    const Bytes image = test::read_vector(std::string("encrypted_img/") + name + ".ecc.enc.bin");
    const Bytes plain = test::read_vector(std::string("encrypted_img/") + name + ".bin");
    for (size_t chunk : {1ul, 15ul, 16ul, 17ul, 4096ul, 1ul << 20}) {
      if (chunk == 1 && image.size() > 10000) continue;
      Outcome a = run(image, hmac_key(), chunk);
      ASSERT_FALSE(a.error) << name << " chunk " << chunk << ": " << a.error->message;
      EXPECT_EQ(a.plaintext, plain) << name << " chunk " << chunk;
      Outcome b = run(image, ecc_pem_key(), chunk);
      ASSERT_FALSE(b.error) << name << " chunk " << chunk << ": " << b.error->message;
      EXPECT_EQ(b.plaintext, plain);
    }
  }
}

TEST(EncImgDecrypt, SizeIsKnownOnceTheHeaderIsParsed) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = test::read_vector("encrypted_img/plain_4k.rsa.enc.bin");
  ImageDecryptor dec(rsa_key());
  Bytes out;
  ASSERT_TRUE(dec.feed(ByteSpan(image).first(511), out));
  EXPECT_FALSE(dec.image_size());
  EXPECT_FALSE(dec.header_complete());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(dec.feed(ByteSpan(image).subspan(511, 1), out));
  ASSERT_TRUE(dec.image_size());
  EXPECT_EQ(*dec.image_size(), 4096u);
  EXPECT_FALSE(dec.all_data_received());
  ASSERT_TRUE(dec.feed(ByteSpan(image).subspan(512), out));
  EXPECT_TRUE(dec.all_data_received());
  EXPECT_EQ(dec.bytes_consumed(), image.size());
  EXPECT_EQ(dec.scheme(), Scheme::kRsa3072);
  ASSERT_TRUE(dec.finish());
  EXPECT_EQ(out, test::read_vector("encrypted_img/plain_4k.bin"));
  // Nothing more is accepted after the end.
  EXPECT_EQ(dec.feed(ByteSpan(image).first(1), out).error().code, "encimg.state");
  EXPECT_EQ(dec.finish().error().code, "encimg.state");
}

TEST(EncImgDecrypt, EmptyChunksAreHarmless) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = test::read_vector("encrypted_img/plain_17.rsa.enc.bin");
  ImageDecryptor dec(rsa_key());
  Bytes out;
  for (size_t at = 0; at <= image.size(); ++at) {
    ASSERT_TRUE(dec.feed({}, out));
    if (at < image.size()) {
      ASSERT_TRUE(dec.feed(ByteSpan(image).subspan(at, 1), out));
    }
  }
  ASSERT_TRUE(dec.finish());
  EXPECT_EQ(out, test::read_vector("encrypted_img/plain_17.bin"));
}

struct NegativeCase {
  const char* file;
  bool ecc;
  const char* code;
  // Where the stream must be refused: 0 = at finish(), otherwise by feed() once this many
  // bytes have been handed over (checked with 1-byte chunks).
  uint64_t refused_by_byte;
};

// README-storage-ota.md, encrypted_img/negative: every vector refused, for the right reason,
// no later than the README allows.
TEST(EncImgDecrypt, NegativeVectorsAreRefusedForTheRightReason) {
  ESPSEC_REQUIRE_VECTORS();
  const NegativeCase cases[] = {
      {"neg_bad_magic.bin", false, "encimg.magic", 4},
      {"neg_ecc_bad_server_point.bin", true, "encimg.key_agreement", 388},
      {"neg_ecc_tampered_salt.bin", true, "encimg.tag", 0},
      {"neg_header_only_truncated.bin", false, "encimg.header_truncated", 0},
      {"neg_size_field_too_large.bin", false, "encimg.body_truncated", 0},
      {"neg_size_field_too_small.bin", false, "encimg.size_mismatch", 512 + 4080 + 1},
      {"neg_tampered_ciphertext.bin", false, "encimg.tag", 0},
      {"neg_tampered_iv.bin", false, "encimg.tag", 0},
      {"neg_tampered_tag.bin", false, "encimg.tag", 0},
      {"neg_tampered_wrapped_key.bin", false, "encimg.unwrap", 388},
      {"neg_truncated.bin", false, "encimg.body_truncated", 0},
      {"neg_wrong_rsa_key.bin", false, "encimg.unwrap", 388},
  };
  for (const auto& c : cases) {
    const Bytes image = test::read_vector(std::string("encrypted_img/negative/") + c.file);
    for (size_t chunk : {1ul, 16ul, 100ul, 4096ul, 1ul << 20}) {
      Outcome o = run(image, c.ecc ? hmac_key() : rsa_key(), chunk);
      ASSERT_TRUE(o.error) << c.file << " chunk " << chunk << " was accepted";
      EXPECT_EQ(o.error->code, c.code) << c.file << " chunk " << chunk << ": " << o.error->message;
      EXPECT_EQ(o.failed_in_feed, c.refused_by_byte != 0) << c.file << " chunk " << chunk;
      if (chunk == 1 && c.refused_by_byte != 0) {
        EXPECT_EQ(o.fed_before_error, c.refused_by_byte) << c.file;
      }
    }
  }
}

TEST(EncImgDecrypt, BadMagicReleasesNothingAndIsSticky) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = test::read_vector("encrypted_img/negative/neg_bad_magic.bin");
  ImageDecryptor dec(rsa_key());
  Bytes out;
  ASSERT_TRUE(dec.feed(ByteSpan(image).first(3), out));
  auto st = dec.feed(ByteSpan(image).subspan(3, 1), out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "encimg.magic");
  EXPECT_EQ(dec.feed(ByteSpan(image).subspan(4), out).error().code, "encimg.magic");
  EXPECT_EQ(dec.finish().error().code, "encimg.magic");
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(dec.image_size());
}

// Plaintext released before finish() is unauthenticated: a flipped ciphertext bit comes out
// flipped, and only the tag check at the very end reveals it.
TEST(EncImgDecrypt, TamperingShowsOnlyAtTheTagAtTheVeryEnd) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes plain = test::read_vector("encrypted_img/plain_4k.bin");
  const Bytes tampered = test::read_vector("encrypted_img/negative/neg_tampered_ciphertext.bin");
  ImageDecryptor dec(rsa_key());
  Bytes out;
  ASSERT_TRUE(dec.feed(tampered, out));
  ASSERT_EQ(out.size(), plain.size());
  EXPECT_EQ(out[100], plain[100] ^ 0x01);
  EXPECT_TRUE(dec.all_data_received());
  EXPECT_EQ(dec.finish().error().code, "encimg.tag");

  Bytes last_byte = test::read_vector("encrypted_img/plain_4k.rsa.enc.bin");
  last_byte.back() ^= 0x80;
  Outcome o = run(last_byte, rsa_key(), 7);
  ASSERT_TRUE(o.error);
  EXPECT_FALSE(o.failed_in_feed);
  EXPECT_EQ(o.error->code, "encimg.tag");
  EXPECT_EQ(o.plaintext.size(), plain.size());
}

TEST(EncImgDecrypt, DataBeyondTheDeclaredSizeIsRefusedWithoutOutput) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes image = test::read_vector("encrypted_img/plain_17.rsa.enc.bin");
  image.push_back(0);
  ImageDecryptor dec(rsa_key());
  Bytes out;
  auto st = dec.feed(image, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "encimg.size_mismatch");
  EXPECT_NE(st.error().message.find("1 extra"), std::string::npos);
  EXPECT_TRUE(out.empty());
}

// The scheme is not in the file: the wrong kind of key fails at the key block.
TEST(EncImgDecrypt, WrongSchemeKeyIsRefusedAtTheKeyBlock) {
  ESPSEC_REQUIRE_VECTORS();
  Outcome a = run(test::read_vector("encrypted_img/plain_4k.rsa.enc.bin"), hmac_key(), 4096);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(a.error->code, "encimg.key_agreement");
  Outcome b = run(test::read_vector("encrypted_img/plain_4k.ecc.enc.bin"), rsa_key(), 4096);
  ASSERT_TRUE(b.error);
  EXPECT_EQ(b.error->code, "encimg.unwrap");
}

TEST(EncImgDecrypt, EciesImageForAnotherDeviceFailsAtTheTag) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes other(32, 0x42);
  auto key = DecryptionKey::from_hmac_key(SecretBytes::copy_of(other));
  ASSERT_TRUE(key);
  Outcome o = run(test::read_vector("encrypted_img/plain_4k.ecc.enc.bin"), std::move(*key), 1000);
  ASSERT_TRUE(o.error);
  EXPECT_EQ(o.error->code, "encimg.tag");
}

// Flipping any single header byte never yields a verified image, except in the reserved
// bytes, which nothing authenticates and the device skips.
TEST(EncImgDecrypt, EveryHeaderByteFlip) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes good = test::read_vector("encrypted_img/plain_17.rsa.enc.bin");
  const DecryptionKey key = rsa_key();
  for (size_t i = 0; i < kHeaderSize; ++i) {
    Bytes image = good;
    image[i] ^= 0x04;
    Outcome o = run(image, key, 64);
    if (i >= kReservedOffset) {
      EXPECT_FALSE(o.error) << "byte " << i;
      continue;
    }
    ASSERT_TRUE(o.error) << "byte " << i << " accepted";
    const std::string& code = o.error->code;
    if (i < kKeyBlockOffset) EXPECT_EQ(code, "encimg.magic") << i;
    else if (i < kIvOffset) EXPECT_TRUE(code == "encimg.unwrap" || code == "encimg.tag") << i << " " << code;
    else if (i < kSizeOffset) EXPECT_EQ(code, "encimg.tag") << i;
    else if (i < kTagOffset) EXPECT_TRUE(code == "encimg.size_mismatch" || code == "encimg.body_truncated") << i << " " << code;
    else EXPECT_EQ(code, "encimg.tag") << i;
  }
}

TEST(EncImgDecrypt, EveryTruncationIsRefused) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes good = test::read_vector("encrypted_img/plain_17.rsa.enc.bin");
  for (size_t len = 0; len < good.size(); ++len) {
    Outcome o = run(ByteSpan(good).first(len), rsa_key(), 100);
    ASSERT_TRUE(o.error) << len;
    EXPECT_EQ(o.error->code, len < kHeaderSize ? "encimg.header_truncated" : "encimg.body_truncated") << len;
  }
}

}  // namespace
}  // namespace espsec::encimg
