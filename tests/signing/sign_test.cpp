#include "signing/sign.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "format/sbv2.hpp"
#include "signing/keys.hpp"
#include "signing/signing_test_util.hpp"
#include "signing/verify.hpp"
#include "test_util.hpp"

namespace espsec::signing {
namespace {

using espsec::test::read_vector;
using test::Log;
using test::openssl_verifies_block;
using test::sector_block;
using test::vector_private_key;
using test::vector_public_key;

// A signing outcome with the whole signed image assembled.
struct Outcome {
  Bytes image;
  size_t signed_length = 0;
  size_t total_blocks = 0;
};

Result<Outcome> outcome(ByteSpan input, Result<SignedImage> signed_image) {
  if (!signed_image) return std::unexpected(signed_image.error());
  return Outcome{assemble(input, *signed_image), signed_image->signed_length(), signed_image->total_blocks};
}

Result<Outcome> sign_with(const Bytes& data, std::vector<crypto::PrivateKey> keys, bool append, Log* log = nullptr) {
  SignRequest request;
  request.keys = keys;
  request.append_signatures = append;
  Log ignored;
  return outcome(data, sign_image(data, request, (log ? log : &ignored)->sink()));
}

Bytes without_sector(const Bytes& image) { return Bytes(image.begin(), image.end() - sbv2::kSectorSize); }

// sign/fixed_8KiB.precalc-*.bin: sign-data with a pre-calculated signature is deterministic.
TEST(SignPrecalculated, ReproducesEspsecureVectorsByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* key; const char* signature; } cases[] = {
      {"rsa3072_a", "secure/sign/fixed_8KiB.rsa3072.sig.bin"},
      {"ecdsa192_a", "secure/sign/fixed_8KiB.ecdsa192.sig.der"},
      {"ecdsa256_a", "secure/sign/fixed_8KiB.ecdsa256.sig.der"},
      {"ecdsa384_a", "secure/sign/fixed_8KiB.ecdsa384.sig.der"},
  };
  for (const auto& c : cases) {
    const std::string scheme = std::string(c.key).substr(0, std::string(c.key).size() - 2);
    std::vector<crypto::PublicKey> keys{vector_public_key(c.key)};
    std::vector<Bytes> signatures{read_vector(c.signature)};
    SignRequest request;
    request.precalculated_keys = keys;
    request.precalculated_signatures = signatures;
    Log log;
    const Bytes input = read_vector("secure/sign/fixed_8KiB.bin");
    auto signed_image = outcome(input, sign_image(input, request, log.sink()));
    ASSERT_TRUE(signed_image) << c.key << ": " << signed_image.error().message;
    EXPECT_EQ(signed_image->image, read_vector("secure/sign/fixed_8KiB.precalc-" + scheme + ".bin")) << c.key;
    EXPECT_EQ(signed_image->signed_length, 8192u);
    EXPECT_EQ(log.lines, (std::vector<std::string>{"Pre-calculated signatures found...", "1 signing key(s) found."}));
  }
}

TEST(SignPrecalculated, RefusesSignatureByAnotherKeyUnalignedDataAndCountMismatch) {
  ESPSEC_REQUIRE_VECTORS();
  std::vector<crypto::PublicKey> wrong{vector_public_key("ecdsa256_a")};
  std::vector<Bytes> p192_signature{read_vector("secure/sign/fixed_8KiB.ecdsa192.sig.der")};
  std::vector<Bytes> p256_signature{read_vector("secure/sign/fixed_8KiB.ecdsa256.sig.der")};
  SignRequest request;
  request.precalculated_keys = wrong;
  request.precalculated_signatures = p192_signature;
  Log log;
  auto r = sign_image(read_vector("secure/sign/fixed_8KiB.bin"), request, log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "signing.precalculated_invalid");
  EXPECT_EQ(r.error().message,
            "Signature verification failed: Invalid Signature. The pre-calculated signature has not been signed "
            "using the given public key.");

  // The signature must be over exactly this data.
  Bytes changed = read_vector("secure/sign/fixed_8KiB.bin");
  changed[0] ^= 1;
  request.precalculated_signatures = p256_signature;
  EXPECT_EQ(sign_image(changed, request, log.sink()).error().code, "signing.precalculated_invalid");

  Bytes unaligned = read_vector("secure/sign/fixed_8KiB.bin");
  unaligned.pop_back();
  r = sign_image(unaligned, request, log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Secure Boot V2 requires the signature block to start from a 4KB aligned sector but the datafile "
            "supplied is not sector aligned.");

  std::vector<Bytes> two{p256_signature[0], p256_signature[0]};
  request.precalculated_signatures = two;
  r = sign_image(read_vector("secure/sign/fixed_8KiB.bin"), request, log.sink());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Number of public keys (1) not equal to the number of signatures (2).");
}

// Fresh signatures are randomized: they must verify (with espsec and with plain OpenSSL over the
// data), and every field other than the signature and CRC must equal what espsecure wrote.
TEST(SignFresh, EverySchemeVerifiesWithEspsecAndOpenssl) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes data = read_vector("secure/sign/fixed_8KiB.bin");
  for (const char* name : {"rsa3072_a", "ecdsa192_a", "ecdsa256_a", "ecdsa384_a"}) {
    auto signed_image = sign_with(data, {vector_private_key(name)}, false);
    ASSERT_TRUE(signed_image) << name << ": " << signed_image.error().message;
    ASSERT_EQ(signed_image->image.size(), data.size() + sbv2::kSectorSize);
    EXPECT_EQ(without_sector(signed_image->image), data);
    const Bytes block = sector_block(signed_image->image, 0);
    EXPECT_TRUE(openssl_verifies_block(read_vector(std::string("secure/keys/") + name + ".pub.pem"), block, data))
        << name;
    Log log;
    auto verified = verify_image(signed_image->image, vector_public_key(name), log.sink());
    ASSERT_TRUE(verified) << name << ": " << verified.error().message;
    // The slots after the new block stay erased.
    const ByteSpan sector = ByteSpan(signed_image->image).last(sbv2::kSectorSize);
    EXPECT_TRUE(std::all_of(sector.begin() + sbv2::kBlockSize, sector.end(), [](uint8_t b) { return b == 0xFF; }));
  }
}

TEST(SignFresh, DeterministicFieldsEqualEspsecureOutput) {
  ESPSEC_REQUIRE_VECTORS();
  // RSA: bytes 0..811 (header, digest, key, Montgomery constants) and the zero tail.
  auto rsa = sign_with(read_vector("secure/sign/app_1MiB.bin"), {vector_private_key("rsa3072_a")}, false);
  ASSERT_TRUE(rsa);
  const Bytes ours = sector_block(rsa->image, 0);
  const Bytes theirs = read_vector("secure/sign/app_1MiB.rsa3072.sig4k.bin");
  EXPECT_TRUE(std::equal(ours.begin(), ours.begin() + 812, theirs.begin()));
  EXPECT_TRUE(std::equal(ours.begin() + 1200, ours.begin() + 1216, theirs.begin() + 1200));
  EXPECT_TRUE(std::equal(ours.begin() + 1216, ours.end(), theirs.begin() + 1216));

  // ECDSA P-256 over the fixed input: bytes 0..100 and 165..1195.
  auto p256 = sign_with(read_vector("secure/sign/fixed_8KiB.bin"), {vector_private_key("ecdsa256_a")}, false);
  ASSERT_TRUE(p256);
  const Bytes vector_image = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  const Bytes a = sector_block(p256->image, 0);
  const Bytes b = sector_block(vector_image, 0);
  EXPECT_TRUE(std::equal(a.begin(), a.begin() + 101, b.begin()));
  EXPECT_TRUE(std::equal(a.begin() + 165, a.begin() + 1196, b.begin() + 165));
}

TEST(SignFresh, UnalignedInputIsPaddedWithFfAsEspsecureDoes) {
  ESPSEC_REQUIRE_VECTORS();
  Log log;
  auto signed_image = sign_with(read_vector("secure/sign/odd_10000.bin"), {vector_private_key("ecdsa256_a")}, false, &log);
  ASSERT_TRUE(signed_image);
  EXPECT_EQ(log.lines, (std::vector<std::string>{
                           "Padding data contents by 2288 bytes so signature sector aligns at sector boundary.",
                           "1 signing key(s) found."}));
  EXPECT_EQ(signed_image->signed_length, 12288u);
  const Bytes reference = read_vector("secure/sign/odd_10000.signed-ecdsa256.bin");
  ASSERT_EQ(signed_image->image.size(), reference.size());
  // Everything but r, s (block bytes 101..164) and the CRC (1196..1199) is deterministic.
  for (size_t i = 0; i < reference.size(); ++i) {
    const size_t in_block = i - 12288;
    const bool random = i >= 12288 && ((in_block >= 101 && in_block < 165) || (in_block >= 1196 && in_block < 1200));
    if (!random) {
      ASSERT_EQ(signed_image->image[i], reference[i]) << "offset " << i;
    }
  }
  EXPECT_TRUE(verify_image(signed_image->image, vector_public_key("ecdsa256_a"), log.sink()));
}

TEST(SignFresh, SeveralKeysFillBlocksInOrder) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes data = read_vector("secure/sign/fixed_8KiB.bin");
  Log log;
  auto signed_image = sign_with(data, {vector_private_key("rsa3072_a"), vector_private_key("rsa3072_b"),
                                       vector_private_key("rsa3072_c")},
                                false, &log);
  ASSERT_TRUE(signed_image);
  EXPECT_EQ(signed_image->total_blocks, 3u);
  EXPECT_EQ(log.lines.back(), "3 signing key(s) found.");
  const char* names[] = {"rsa3072_a", "rsa3072_b", "rsa3072_c"};
  for (size_t i = 0; i < 3; ++i) {
    const Bytes block = sector_block(signed_image->image, i);
    const auto key_digest = sbv2::key_digest(ByteSpan(block).subspan(36, 776));
    EXPECT_EQ(Bytes(key_digest.begin(), key_digest.end()),
              read_vector(std::string("secure/keys/") + names[i] + ".digest.bin"));
    EXPECT_TRUE(openssl_verifies_block(read_vector(std::string("secure/keys/") + names[i] + ".pub.pem"), block, data));
    auto verified = verify_image(signed_image->image, vector_public_key(names[i]), log.sink());
    ASSERT_TRUE(verified);
    EXPECT_EQ(*verified, std::vector<size_t>{i});
  }
  auto four = sign_with(data, {vector_private_key("rsa3072_a"), vector_private_key("rsa3072_b"),
                               vector_private_key("rsa3072_c"), vector_private_key("ecdsa256_a")},
                        false);
  ASSERT_FALSE(four);
  EXPECT_EQ(four.error().message, "Number of keys (4) more than the empty signature blocks (3).");
}

TEST(SignAppend, KeepsExistingBlocksVerbatimAndStopsAtThree) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes signed_once = read_vector("secure/sign/app_1MiB.signed-rsa3072.bin");
  Log log;
  auto twice = sign_with(signed_once, {vector_private_key("rsa3072_b")}, true, &log);
  ASSERT_TRUE(twice) << twice.error().message;
  EXPECT_EQ(log.lines, (std::vector<std::string>{"Signature block 0 is valid (RSA).",
                                                 "1 valid signature block(s) already present in the signature sector.",
                                                 "1 signing key(s) found."}));
  EXPECT_EQ(twice->signed_length, 1048576u);
  EXPECT_EQ(twice->total_blocks, 2u);
  EXPECT_EQ(without_sector(twice->image), read_vector("secure/sign/app_1MiB.bin"));
  EXPECT_EQ(sector_block(twice->image, 0), sector_block(signed_once, 0));

  auto thrice = sign_with(twice->image, {vector_private_key("rsa3072_c")}, true);
  ASSERT_TRUE(thrice);
  EXPECT_EQ(sector_block(thrice->image, 0), sector_block(signed_once, 0));
  EXPECT_EQ(sector_block(thrice->image, 1), sector_block(twice->image, 1));
  for (const char* name : {"rsa3072_a", "rsa3072_b", "rsa3072_c"})
    EXPECT_TRUE(verify_image(thrice->image, vector_public_key(name), log.sink())) << name;

  // The vectors' own three-block chain is kept verbatim too.
  Bytes vector_chain = read_vector("secure/sign/app_1MiB.bin");
  const Bytes bc = read_vector("secure/sign/app_1MiB.rsa3072-append-bc.sig4k.bin");
  vector_chain.insert(vector_chain.end(), bc.begin(), bc.end());
  log.lines.clear();
  auto fourth = sign_with(vector_chain, {vector_private_key("ecdsa256_a")}, true, &log);
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().code, "signing.sector_full");
  EXPECT_EQ(fourth.error().message,
            "Up to 3 signature blocks are supported (For ESP32-ECO3 only 1 signature block is supported).");
  EXPECT_EQ(log.lines, (std::vector<std::string>{"Signature block 0 is valid (RSA).", "Signature block 1 is valid (RSA).",
                                                 "Signature block 2 is valid (RSA).",
                                                 "3 valid signature block(s) already present in the signature sector."}));

  // Two blocks present leave room for one key only.
  auto too_many = sign_with(twice->image, {vector_private_key("rsa3072_c"), vector_private_key("rsa3072_a")}, true);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().message, "Number of keys (2) more than the empty signature blocks (1).");
}

TEST(SignAppend, WithoutValidBlocksSignsTheWholeInputAfresh) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes data = read_vector("secure/sign/fixed_8KiB.bin");
  Log log;
  auto signed_image = sign_with(data, {vector_private_key("ecdsa256_a")}, true, &log);
  ASSERT_TRUE(signed_image);
  EXPECT_EQ(log.lines.front(),
            "No valid signature blocks found. Discarding --append-signature and proceeding to sign the image afresh.");
  EXPECT_EQ(signed_image->signed_length, data.size());
  EXPECT_EQ(without_sector(signed_image->image), data);
}

TEST(SignAppend, BlockWithBadCrcEndsTheKeptBlocks) {
  ESPSEC_REQUIRE_VECTORS();
  Bytes image = read_vector("secure/esptool/bootloader_multi_signed_v2.bin");
  image[image.size() - sbv2::kSectorSize + sbv2::kBlockSize + 50] ^= 1;  // block 1 body, CRC now stale
  Log log;
  auto signed_image = sign_with(image, {vector_private_key("rsa3072_a")}, true, &log);
  ASSERT_TRUE(signed_image);
  EXPECT_EQ(signed_image->total_blocks, 2u);
  EXPECT_EQ(sector_block(signed_image->image, 0), sector_block(image, 0));
}

TEST(SignPlain, AlreadySignedImageWithoutAppendIsPlainData) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes signed_once = read_vector("secure/sign/app_1MiB.signed-rsa3072.bin");
  auto again = sign_with(signed_once, {vector_private_key("rsa3072_b")}, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->signed_length, 1052672u);
  EXPECT_EQ(without_sector(again->image), signed_once);
  EXPECT_EQ(again->total_blocks, 1u);
}

TEST(SignPlain, RefusesEmptyInputAndNoKeys) {
  Log log;
  auto empty = sign_with({}, {}, false, &log);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, "signing.empty_input");
  auto no_keys = sign_with(Bytes(4096, 0), {}, false, &log);
  ASSERT_FALSE(no_keys);
  EXPECT_EQ(no_keys.error().code, "signing.no_keys");
}

}  // namespace
}  // namespace espsec::signing
