// `espsec secure ...` end to end: the command lines README-secure records, their outputs and
// messages, and every bad input (exit 2, one line on stderr, no output file, keys untouched).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/bytes.hpp"
#include "crypto/crc32.hpp"
#include "crypto/pkey.hpp"
#include "format/sbv2.hpp"
#include "signing/signing_test_util.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

namespace fs = std::filesystem;
using test::CliResult;
using test::read_bytes;
using test::read_vector;
using test::TempDir;
using test::write_bytes;

fs::path secure_vectors() { return test::vectors_dir() / "secure"; }

// Runs `espsec secure <args>` in the vectors' secure/ directory, as README-secure's commands ran.
CliResult secure(std::vector<std::string> args) {
  args.insert(args.begin(), "secure");
  return test::run_cli(args, secure_vectors());
}

// Runs `espsec secure <args>` in a scratch directory.
CliResult secure_in(const fs::path& cwd, std::vector<std::string> args) {
  args.insert(args.begin(), "secure");
  return test::run_cli(args, cwd);
}

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

void expect_error(const CliResult& r, const std::string& message) {
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_EQ(r.err, "espsec: error: " + message + "\n");
}

// ---- key generation ----

TEST(SecureCliKeys, GenerateSigningKeyForEveryScheme) {
  TempDir dir;
  struct Case { const char* scheme; crypto::KeyKind kind; int bits; const char* label; } cases[] = {
      {"rsa3072", crypto::KeyKind::kRsa, 3072, "RSA 3072"},
      {"ecdsa192", crypto::KeyKind::kEc, 192, "ECDSA NIST192p"},
      {"ecdsa256", crypto::KeyKind::kEc, 256, "ECDSA NIST256p"},
      {"ecdsa384", crypto::KeyKind::kEc, 384, "ECDSA NIST384p"},
  };
  for (const auto& c : cases) {
    const auto out = dir / (std::string(c.scheme) + ".pem");
    auto r = secure({"generate-signing-key", "--version", "2", "--scheme", c.scheme, out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, std::string(c.label) + " private key in PEM format written to \"" + out.string() + "\".\n");
    EXPECT_EQ(mode_of(out), 0600u) << c.scheme;
    const Bytes pem = read_bytes(out);
    EXPECT_TRUE(as_chars(pem).starts_with(c.kind == crypto::KeyKind::kRsa ? "-----BEGIN RSA PRIVATE KEY-----"
                                                                           : "-----BEGIN EC PRIVATE KEY-----"));
    auto key = crypto::PrivateKey::load(pem);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->kind(), c.kind);
    EXPECT_EQ(key->bits(), c.bits);
  }
  // Short options and espsecure's default version (1 = an ECDSA P-256 key).
  auto v1 = secure_in(dir.path(), {"generate-signing-key", "v1.pem"});
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  EXPECT_EQ(crypto::PrivateKey::load(read_bytes(dir / "v1.pem"))->curve(), crypto::Curve::kP256);
  auto short_flags = secure_in(dir.path(), {"generate-signing-key", "-v", "2", "-s", "ecdsa256", "short.pem"});
  EXPECT_EQ(short_flags.exit_code, 0) << short_flags.err;
}

TEST(SecureCliKeys, GenerateNeverOverwritesAnExistingFile) {
  TempDir dir;
  const auto existing = dir / "key.pem";
  write_bytes(existing, as_bytes("precious"));
  auto r = secure({"generate-signing-key", "--version", "2", "--scheme", "ecdsa256", existing.string()});
  expect_error(r, existing.string() + ": key file already exists; refusing to overwrite it");
  EXPECT_EQ(read_bytes(existing), Bytes(as_bytes("precious").begin(), as_bytes("precious").end()));
  auto fe = secure({"generate-flash-encryption-key", existing.string()});
  EXPECT_EQ(fe.exit_code, 2);
  EXPECT_NE(fe.err.find("already exists"), std::string::npos) << fe.err;
  EXPECT_EQ(read_bytes(existing), Bytes(as_bytes("precious").begin(), as_bytes("precious").end()));
}

TEST(SecureCliKeys, GenerateFlashEncryptionKeySizesAndMode) {
  TempDir dir;
  for (int bits : {128, 192, 256, 512}) {
    const auto out = dir / fmt::format("k{}.bin", bits);
    auto r = secure_in(dir.path(), {"generate-flash-encryption-key", "--keylen", std::to_string(bits), out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, fmt::format("Writing {} random bits to key file \"{}\".\n", bits, out.string()));
    EXPECT_EQ(read_bytes(out).size(), static_cast<size_t>(bits / 8));
    EXPECT_EQ(mode_of(out), 0600u);
  }
  auto def = secure_in(dir.path(), {"generate-flash-encryption-key", "default.bin"});
  ASSERT_EQ(def.exit_code, 0);
  EXPECT_EQ(read_bytes(dir / "default.bin").size(), 32u);
  auto bad = secure_in(dir.path(), {"generate-flash-encryption-key", "-l", "100", "bad.bin"});
  expect_error(bad, "--keylen must be 128, 192, 256 or 512, got 100");
  EXPECT_FALSE(fs::exists(dir / "bad.bin"));
}

TEST(SecureCliKeys, ExtractPublicKeyAndDigestsEqualTheVectors) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  for (const char* name : {"rsa3072_a", "rsa3072_b", "rsa3072_c", "ecdsa192_a", "ecdsa256_a", "ecdsa384_a"}) {
    const std::string key = std::string("keys/") + name;
    const auto pub = dir / (std::string(name) + ".pub.pem");
    auto r = secure({"extract-public-key", "--version", "2", "--keyfile", key + ".pem", pub.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "\"" + key + ".pem\" public key extracted to \"" + pub.string() + "\".\n");
    EXPECT_EQ(read_bytes(pub), read_vector("secure/" + key + ".pub.pem")) << name;
    for (const std::string& from : {key + ".pem", key + ".pub.pem"}) {
      const auto digest = dir / (std::string(name) + ".digest.bin");
      auto d = secure({"digest-sbv2-public-key", "--keyfile", from, "-o", digest.string()});
      ASSERT_EQ(d.exit_code, 0) << d.err;
      EXPECT_EQ(d.out, "Writing the public key digest of \"" + from + "\" to \"" + digest.string() + "\".\n");
      EXPECT_EQ(read_bytes(digest), read_vector("secure/" + key + ".digest.bin")) << from;
    }
  }
  struct Case { const char* key; const char* digest; } esptool[] = {
      {"esptool/rsa_secure_boot_signing_key.pem", "esptool/rsa_public_key_digest.bin"},
      {"esptool/rsa_secure_boot_signing_pubkey.pem", "esptool/rsa_public_key_digest.bin"},
      {"esptool/ecdsa192_secure_boot_signing_key_v2.pem", "esptool/ecdsa192_public_key_digest_v2.bin"},
      {"esptool/ecdsa256_secure_boot_signing_key_v2.pem", "esptool/ecdsa256_public_key_digest_v2.bin"},
  };
  for (const auto& c : esptool) {
    for (const char* command : {"digest-sbv2-public-key", "digest-rsa-public-key", "digest_sbv2_public_key"}) {
      const auto out = dir / "esptool-digest.bin";
      auto r = secure({command, "-k", c.key, "--output", out.string()});
      ASSERT_EQ(r.exit_code, 0) << command << ": " << r.err;
      EXPECT_EQ(read_bytes(out), read_vector(std::string("secure/") + c.digest)) << c.key;
    }
  }
  const auto raw = dir / "v1.bin";
  auto v1 = secure({"extract-public-key", "--keyfile", "esptool/ecdsa256_secure_boot_signing_key.pem", raw.string()});
  ASSERT_EQ(v1.exit_code, 0) << v1.err;
  EXPECT_EQ(read_bytes(raw), read_vector("secure/esptool/ecdsa256_secure_boot_signing_pubkey_raw.bin"));
}

TEST(SecureCliKeys, OutputOntoTheKeyFileIsRefused) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  const auto key = dir / "key.pem";
  write_bytes(key, read_vector("secure/keys/ecdsa256_a.pem"));
  const Bytes before = read_bytes(key);
  const std::string k = key.string();
  const std::string same = "The input \"" + k + "\" and output \"" + k + "\" should not be the same!";
  expect_error(secure({"extract-public-key", "-v", "2", "-k", k, k}), same);
  expect_error(secure({"digest-sbv2-public-key", "-k", k, "-o", k}), same);
  // Another spelling of the same path.
  auto dotted = secure_in(dir.path(), {"digest-sbv2-public-key", "-k", "key.pem", "-o", "./key.pem"});
  EXPECT_EQ(dotted.exit_code, 2);
  // Signing the key file itself in place would overwrite it.
  auto in_place = secure_in(dir.path(), {"sign-data", "--version", "2", "--keyfile", "key.pem", "key.pem"});
  expect_error(in_place, "The input \"key.pem\" and output \"key.pem\" should not be the same!");
  auto onto_key = secure_in(dir.path(), {"sign-data", "-v", "2", "-k", "key.pem", "-o", "key.pem",
                                         (secure_vectors() / "sign/fixed_8KiB.bin").string()});
  EXPECT_EQ(onto_key.exit_code, 2);
  const Bytes xts_key = read_vector("secure/xts/key256.bin");
  write_bytes(dir / "fe.bin", xts_key);
  auto enc = secure_in(dir.path(), {"encrypt-flash-data", "-x", "-k", "fe.bin", "-a", "0", "-o", "fe.bin",
                                    (secure_vectors() / "xts/plain_64KiB.bin").string()});
  expect_error(enc, "The input \"fe.bin\" and output \"fe.bin\" should not be the same!");
  EXPECT_EQ(read_bytes(key), before);
  EXPECT_EQ(read_bytes(dir / "fe.bin"), xts_key);
}

// ---- signing and verification ----

TEST(SecureCliSign, RecordedCommandLinesAndMessages) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  const auto out = dir / "app.x2.bin";
  // One --keyfile with two values, then --output (README-secure section 3).
  auto r = secure({"sign-data", "--version", "2", "--keyfile", "keys/rsa3072_a.pem", "keys/rsa3072_b.pem", "--output",
                   out.string(), "sign/app_1MiB.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "2 signing key(s) found.\n"
            "Signed 1048576 bytes of data from \"sign/app_1MiB.bin\". Signature sector now has 2 signature blocks.\n");
  const Bytes image = read_bytes(out);
  EXPECT_EQ(Bytes(image.begin(), image.end() - 4096), read_vector("secure/sign/app_1MiB.bin"));
  for (const char* k : {"rsa3072_a", "rsa3072_b"}) {
    auto v = secure({"verify-signature", "--version", "2", "--keyfile", std::string("keys/") + k + ".pub.pem",
                     out.string()});
    EXPECT_EQ(v.exit_code, 0) << k << v.out << v.err;
  }
  auto c = secure({"verify-signature", "--version", "2", "--keyfile", "keys/rsa3072_c.pub.pem", out.string()});
  expect_error(c, out.string() + ": Checked all blocks. Signature could not be verified with the provided key.");

  // Repeated --keyfile, short options, and the DATAFILE right after the key list.
  const auto out2 = dir / "repeat.bin";
  auto repeat = secure({"sign-data", "-v", "2", "-k", "keys/ecdsa256_a.pem", "-k", "keys/ecdsa384_a.pem", "-o",
                        out2.string(), "sign/fixed_8KiB.bin"});
  ASSERT_EQ(repeat.exit_code, 0) << repeat.err;
  const auto out3 = dir / "trailing.bin";
  auto trailing = secure({"sign-data", "--version", "2", "--output", out3.string(), "--keyfile", "keys/ecdsa256_a.pem",
                          "sign/fixed_8KiB.bin"});
  ASSERT_EQ(trailing.exit_code, 0) << trailing.err;
  EXPECT_EQ(read_bytes(out3).size(), 12288u);
}

TEST(SecureCliSign, PrecalculatedSignaturesAreByteExact) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  struct Case { const char* key; const char* sig; const char* expected; } cases[] = {
      {"rsa3072_a", "sign/fixed_8KiB.rsa3072.sig.bin", "sign/fixed_8KiB.precalc-rsa3072.bin"},
      {"ecdsa192_a", "sign/fixed_8KiB.ecdsa192.sig.der", "sign/fixed_8KiB.precalc-ecdsa192.bin"},
      {"ecdsa256_a", "sign/fixed_8KiB.ecdsa256.sig.der", "sign/fixed_8KiB.precalc-ecdsa256.bin"},
      {"ecdsa384_a", "sign/fixed_8KiB.ecdsa384.sig.der", "sign/fixed_8KiB.precalc-ecdsa384.bin"},
  };
  for (const auto& c : cases) {
    const auto out = dir / (std::string(c.key) + ".bin");
    const std::string key = std::string("keys/") + c.key;
    auto r = secure({"sign-data", "--version", "2", "--keyfile", key + ".pem", "--pub-key", key + ".pub.pem",
                     "--signature", c.sig, "--output", out.string(), "sign/fixed_8KiB.bin"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out,
              "Pre-calculated signatures found...\n1 signing key(s) found.\n"
              "Signed 8192 bytes of data from \"sign/fixed_8KiB.bin\". Signature sector now has 1 signature blocks.\n");
    EXPECT_EQ(read_bytes(out), read_vector(std::string("secure/") + c.expected)) << c.key;
  }
  // A signature that is not by the given key.
  const auto bad = dir / "bad.bin";
  auto r = secure({"sign-data", "--version", "2", "--keyfile", "keys/ecdsa256_a.pem", "--pub-key",
                   "keys/ecdsa256_a.pub.pem", "--signature", "sign/fixed_8KiB.ecdsa192.sig.der", "--output",
                   bad.string(), "sign/fixed_8KiB.bin"});
  expect_error(r, "sign/fixed_8KiB.bin: Signature verification failed: Invalid Signature. The pre-calculated "
                  "signature has not been signed using the given public key.");
  EXPECT_FALSE(fs::exists(bad));
  auto mismatch = secure({"sign-data", "--version", "2", "--keyfile", "keys/ecdsa256_a.pem", "--pub-key",
                          "keys/ecdsa256_a.pub.pem", "keys/ecdsa384_a.pub.pem", "--signature",
                          "sign/fixed_8KiB.ecdsa256.sig.der", "--output", bad.string(), "sign/fixed_8KiB.bin"});
  expect_error(mismatch, "sign/fixed_8KiB.bin: Number of public keys (2) not equal to the number of signatures (1).");
  auto unaligned = secure({"sign-data", "--version", "2", "--keyfile", "keys/ecdsa256_a.pem", "--pub-key",
                           "keys/ecdsa256_a.pub.pem", "--signature", "sign/fixed_8KiB.ecdsa256.sig.der", "--output",
                           bad.string(), "sign/odd_10000.bin"});
  expect_error(unaligned, "sign/odd_10000.bin: Secure Boot V2 requires the signature block to start from a 4KB "
                          "aligned sector but the datafile supplied is not sector aligned.");
  EXPECT_FALSE(fs::exists(bad));
}

TEST(SecureCliSign, AppendChainAndFourthBlock) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  const auto b = dir / "append-b.bin";
  auto r = secure({"sign-data", "--version", "2", "--append-signatures", "--keyfile", "keys/rsa3072_b.pem", "--output",
                   b.string(), "sign/app_1MiB.signed-rsa3072.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Signature block 0 is valid (RSA).\n"
            "1 valid signature block(s) already present in the signature sector.\n"
            "1 signing key(s) found.\n"
            "Signed 1048576 bytes of data from \"sign/app_1MiB.signed-rsa3072.bin\". Signature sector now has 2 "
            "signature blocks.\n");
  const auto bc = dir / "append-bc.bin";
  ASSERT_EQ(secure({"sign-data", "-v", "2", "-a", "-k", "keys/rsa3072_c.pem", "-o", bc.string(), b.string()}).exit_code, 0);
  const Bytes chain = read_bytes(bc);
  const Bytes signed_once = read_vector("secure/sign/app_1MiB.signed-rsa3072.bin");
  EXPECT_TRUE(std::equal(signed_once.end() - 4096, signed_once.end() - 4096 + 1216, chain.end() - 4096));
  for (const char* k : {"rsa3072_a", "rsa3072_b", "rsa3072_c"})
    EXPECT_EQ(secure({"verify-signature", "-v", "2", "-k", std::string("keys/") + k + ".pem", bc.string()}).exit_code, 0);

  const auto four = dir / "append-4.bin";
  auto full = secure({"sign-data", "--version", "2", "--append_signatures", "--keyfile", "keys/ecdsa256_a.pem",
                      "--output", four.string(), bc.string()});
  expect_error(full, bc.string() + ": Up to 3 signature blocks are supported (For ESP32-ECO3 only 1 signature block is "
                                   "supported).");
  EXPECT_TRUE(full.out.ends_with("Signature block 1 is valid (RSA).\nSignature block 2 is valid (RSA).\n"
                                 "3 valid signature block(s) already present in the signature sector.\n"))
      << full.out;
  EXPECT_FALSE(fs::exists(four));
}

TEST(SecureCliSign, InPlaceWithoutOutputAndPadding) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  write_bytes(dir / "odd.bin", read_vector("secure/sign/odd_10000.bin"));
  auto r = secure_in(dir.path(), {"sign-data", "--version", "2", "odd.bin", "--keyfile",
                                  (secure_vectors() / "keys/ecdsa256_a.pem").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Padding data contents by 2288 bytes so signature sector aligns at sector boundary.\n"
            "1 signing key(s) found.\n"
            "Signed 12288 bytes of data from \"odd.bin\". Signature sector now has 1 signature blocks.\n");
  const Bytes signed_image = read_bytes(dir / "odd.bin");
  ASSERT_EQ(signed_image.size(), 16384u);
  const Bytes reference = read_vector("secure/sign/odd_10000.signed-ecdsa256.bin");
  EXPECT_TRUE(std::equal(reference.begin(), reference.begin() + 12288 + 101, signed_image.begin()));
  auto v = secure_in(dir.path(), {"verify-signature", "--version", "2", "--keyfile",
                                  (secure_vectors() / "keys/ecdsa256_a.pub.pem").string(), "odd.bin"});
  EXPECT_EQ(v.exit_code, 0) << v.err;
  // No temporary file is left beside the output.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(SecureCliSign, BadKeysAndInputs) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  const std::string data = (secure_vectors() / "sign/fixed_8KiB.bin").string();
  const auto out = dir / "out.bin";
  auto sign_with = [&](const std::string& key) {
    return secure_in(dir.path(), {"sign-data", "--version", "2", "--keyfile", key, "--output", out.string(), data});
  };
  auto missing = sign_with("missing.pem");
  expect_error(missing, "cannot read missing.pem: No such file or directory");
  write_bytes(dir / "garbled.pem", as_bytes("-----BEGIN EC PRIVATE KEY-----\n!!!!\n-----END EC PRIVATE KEY-----\n"));
  auto garbled = sign_with("garbled.pem");
  EXPECT_EQ(garbled.exit_code, 2);
  EXPECT_TRUE(garbled.err.starts_with("espsec: error: garbled.pem: Could not load the signing key")) << garbled.err;
  struct Foreign { const char* kind; const char* message; } foreign[] = {
      {"rsa2048", "Key file has length 2048 bits. Secure boot v2 only supports RSA-3072."},
      {"p521", "Key file uses incorrect curve. Secure Boot V2 + ECDSA only supports NIST192p, NIST256p, NIST384p (aka "
               "prime192v1 / secp192r1, prime256v1 / secp256r1, secp384r1)."},
      {"ed25519", "Unsupported signing key for Secure Boot V2."},
      {"x25519", "Unsupported signing key for Secure Boot V2."},
  };
  for (const auto& f : foreign) {
    const auto pems = signing::test::foreign_key(f.kind);
    const std::string name = std::string(f.kind) + ".pem";
    write_bytes(dir / name, pems.private_pem);
    expect_error(sign_with(name), name + ": " + f.message);
    const std::string pub = std::string(f.kind) + ".pub.pem";
    write_bytes(dir / pub, pems.public_pem);
    auto v = secure_in(dir.path(), {"verify-signature", "--version", "2", "--keyfile", pub,
                                    (secure_vectors() / "sign/fixed_8KiB.signed-ecdsa256.bin").string()});
    EXPECT_EQ(v.exit_code, 2) << f.kind;
    EXPECT_TRUE(v.err.starts_with("espsec: error: " + pub + ": ")) << v.err;
  }
  EXPECT_FALSE(fs::exists(out));

  write_bytes(dir / "empty.bin", Bytes{});
  auto empty = secure_in(dir.path(), {"sign-data", "-v", "2", "-k", (secure_vectors() / "keys/ecdsa256_a.pem").string(),
                                      "-o", out.string(), "empty.bin"});
  expect_error(empty, "empty.bin: Input data is empty; there is nothing to sign.");
  auto unwritable = secure({"sign-data", "-v", "2", "-k", "keys/ecdsa256_a.pem", "-o",
                            (dir / "no/such/dir/out.bin").string(), "sign/fixed_8KiB.bin"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_TRUE(unwritable.err.starts_with("espsec: error: cannot write ")) << unwritable.err;
  auto v1 = secure({"sign-data", "--version", "1", "-k", "keys/ecdsa256_a.pem", "-o", out.string(), "sign/fixed_8KiB.bin"});
  EXPECT_EQ(v1.exit_code, 2);
  auto no_version = secure({"sign-data", "-k", "keys/ecdsa256_a.pem", "-o", out.string(), "sign/fixed_8KiB.bin"});
  EXPECT_EQ(no_version.exit_code, 2);
  EXPECT_FALSE(fs::exists(out));
}

TEST(SecureCliVerify, MessagesOfTheObservedReferenceBehaviour) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  Bytes flipped = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  flipped[100] ^= 1;
  write_bytes(dir / "flipped.bin", flipped);
  auto r = secure({"verify-signature", "--version", "2", "--keyfile", "keys/ecdsa256_a.pub.pem",
                   (dir / "flipped.bin").string()});
  EXPECT_EQ(r.out, "Signature block 0 is valid (ECDSA).\n");
  expect_error(r, (dir / "flipped.bin").string() +
                      ": Signature block image digest does not match the actual image digest "
                      "b'\\x9b{\\x90\\xb4L&\\xf9\\x87#\\xe9\\x15\\xf1\\xd1\\x05\\x9d\\x0b\\xc3\\x1d\\xde%\\xfe_\\xbb\\xa5S"
                      "\\xf7\\xdc=;\\xe4\\x8b\\x00'. Expected b'\\xdc@Ja?\\xed\\xae\\xb5@4QK\\xc6P_V\\xb93\\xca\\xa5%"
                      "\\x02\\x99\\xba}\\tCw\\xa5\\x1c\\xaaF'.");

  // Corrupted block 0: bad CRC and bad magic are skipped, and nothing verifies.
  Bytes bad_crc = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  bad_crc[8192 + 101] ^= 1;
  write_bytes(dir / "bad_crc.bin", bad_crc);
  Bytes bad_magic = read_vector("secure/sign/fixed_8KiB.signed-ecdsa256.bin");
  bad_magic[8192] = 0x00;
  write_bytes(dir / "bad_magic.bin", bad_magic);
  for (const char* name : {"bad_crc.bin", "bad_magic.bin"}) {
    auto v = secure({"verify-signature", "-v", "2", "-k", "keys/ecdsa256_a.pub.pem", (dir / name).string()});
    EXPECT_EQ(v.out, "Signature block 0 invalid. Skipping.\n");
    expect_error(v, (dir / name).string() + ": Checked all blocks. Signature could not be verified with the provided key.");
  }

  // CRC recomputed after the flip: the block is valid but not signed by the key.
  Bytes crc_fixed = bad_crc;
  store_le32(crc_fixed.data() + 8192 + 1196, crypto::crc32_le(0, ByteSpan(crc_fixed).subspan(8192, 1196)));
  write_bytes(dir / "crc_fixed.bin", crc_fixed);
  auto f = secure({"verify-signature", "-v", "2", "-k", "keys/ecdsa256_a.pub.pem", (dir / "crc_fixed.bin").string()});
  EXPECT_EQ(f.out, "Signature block 0 is valid (ECDSA).\n"
                   "Signature block 0 is not signed by the supplied key. Checking the next block...\n");
  EXPECT_EQ(f.exit_code, 2);

  // Truncated, empty and unaligned inputs.
  const Bytes good = read_vector("secure/esptool/bootloader_signed_v2_rsa.bin");
  write_bytes(dir / "truncated.bin", ByteSpan(good).first(good.size() - 100));
  write_bytes(dir / "empty.bin", Bytes{});
  for (const char* name : {"truncated.bin", "empty.bin"}) {
    auto v = secure({"verify-signature", "-v", "2", "-k", "esptool/rsa_secure_boot_signing_pubkey.pem",
                     (dir / name).string()});
    expect_error(v, (dir / name).string() + ": Invalid datafile. Data size should be non-zero & a multiple of 4096.");
  }
  auto missing_key = secure({"verify-signature", "-v", "2", "-k", "keys/nope.pem", "sign/fixed_8KiB.bin"});
  expect_error(missing_key, "cannot read keys/nope.pem: No such file or directory");
}

TEST(SecureCliInfo, SignatureInfoV2) {
  ESPSEC_REQUIRE_VECTORS();
  auto r = secure({"signature-info-v2", "esptool/bootloader_multi_signed_v2.bin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Signature block 0 is valid (RSA).\n"
            "Public key digest for block 0: cb 27 91 a3 71 b0 c0 32 2b f7 37 04 78 ba 09 62 22 4c ab 1c f2 28 78 79 e4 "
            "29 67 3e 7d a8 44 63\n"
            "Signature block 1 is valid (RSA).\n"
            "Public key digest for block 1: 90 1a 74 09 23 8d 52 d4 cb f9 6f 56 3f b3 f4 29 6d ab d6 6a 33 f5 3b 15 ee "
            "cd 8c b3 e7 ec 45 d3\n"
            "Signature block 2 is valid (RSA).\n"
            "Public key digest for block 2: 27 91 93 92 d6 8b ab 79 28 6a 26 75 91 43 a5 b1 d5 99 ef ce bd 75 4e 57 03 "
            "b5 dd 23 b5 e3 dd 3b\n");
  auto one = secure({"signature_info_v2", "sign/fixed_8KiB.precalc-ecdsa384.bin"});
  ASSERT_EQ(one.exit_code, 0);
  EXPECT_TRUE(one.out.ends_with("Signature block 1 absent/invalid. Skipping checking next blocks...\n")) << one.out;

  TempDir dir;
  Bytes bad_crc = read_vector("secure/esptool/bootloader_signed_v2_ecdsa256.bin");
  bad_crc[bad_crc.size() - 4096 + 1196] ^= 0xFF;
  write_bytes(dir / "bad_crc.bin", bad_crc);
  auto crc = secure({"signature-info-v2", (dir / "bad_crc.bin").string()});
  EXPECT_EQ(crc.out, "Signature block 0 absent/invalid. Skipping checking next blocks...\n");
  EXPECT_EQ(crc.exit_code, 2);
  EXPECT_TRUE(crc.err.starts_with("espsec: error: " + (dir / "bad_crc.bin").string() +
                                  ": signature block 0 is not a valid Secure Boot v2 block: CRC mismatch"))
      << crc.err;
  auto magic = secure({"signature-info-v2", "esptool/hello-world-signed.bin"});
  expect_error(magic, "esptool/hello-world-signed.bin: signature block 0 is not a valid Secure Boot v2 block: bad "
                      "magic byte 0x00 (expected 0xe7)");
  auto unaligned = secure({"signature-info-v2", "sign/odd_10000.bin"});
  expect_error(unaligned, "sign/odd_10000.bin: Invalid datafile. Data size should be non-zero & a multiple of 4096.");
}

// ---- flash encryption ----

TEST(SecureCliFlash, XtsVectorsBothDirections) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  struct Case { const char* key; const char* address; const char* plain; const char* cipher; } cases[] = {
      {"xts/key128.bin", "0x0", "xts/plain_64KiB.bin", "xts/plain_64KiB.k128.at_0x0.enc.bin"},
      {"xts/key128.bin", "0x10000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k128.at_0x10000.enc.bin"},
      {"xts/key128.bin", "0x13000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k128.at_0x13000.enc.bin"},
      {"xts/key256.bin", "0x0", "xts/plain_64KiB.bin", "xts/plain_64KiB.k256.at_0x0.enc.bin"},
      {"xts/key256.bin", "0x10000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k256.at_0x10000.enc.bin"},
      {"xts/key256.bin", "0x13000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k256.at_0x13000.enc.bin"},
      {"xts/key512.bin", "0x0", "xts/plain_64KiB.bin", "xts/plain_64KiB.k512.at_0x0.enc.bin"},
      {"xts/key512.bin", "0x10000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k512.at_0x10000.enc.bin"},
      {"xts/key512.bin", "0x13000", "xts/plain_64KiB.bin", "xts/plain_64KiB.k512.at_0x13000.enc.bin"},
      {"xts/key256.bin", "0x10000", "xts/plain_65488.bin", "xts/plain_65488.k256.at_0x10000.enc.bin"},
      {"xts/key512.bin", "0x13050", "xts/plain_65488.bin", "xts/plain_65488.k512.at_0x13050.enc.bin"},
      {"esptool/256bit_key.bin", "0x1000", "esptool/bootloader.bin", "esptool/bootloader-encrypted-aes-xts.bin"},
      {"esptool/ef-flashencryption-key.bin", "0x20000", "esptool/hello-world-signed.bin",
       "esptool/hello-world-signed-encrypted-aes-xts.bin"},
      {"esptool/512bit_key.bin", "0x10000", "esptool/hello-world-signed.bin",
       "esptool/hello-world-signed-encrypted-aes-xts-256.bin"},
  };
  for (const auto& c : cases) {
    const auto enc = dir / "enc.bin";
    const auto dec = dir / "dec.bin";
    auto e = secure({"encrypt-flash-data", "--aes-xts", "--keyfile", c.key, "--address", c.address, "--output",
                     enc.string(), c.plain});
    ASSERT_EQ(e.exit_code, 0) << c.cipher << ": " << e.err;
    const size_t key_bits = read_vector(std::string("secure/") + c.key).size() * 8;
    EXPECT_EQ(e.out, key_bits == 128 ? "Using 128-bit key (extended).\n" : "Using " + std::to_string(key_bits) + "-bit key.\n");
    EXPECT_EQ(read_bytes(enc), read_vector(std::string("secure/") + c.cipher)) << c.cipher;
    auto d = secure({"decrypt_flash_data", "-x", "-k", c.key, "-a", c.address, "-o", dec.string(), c.cipher});
    ASSERT_EQ(d.exit_code, 0) << d.err;
    EXPECT_EQ(read_bytes(dec), read_vector(std::string("secure/") + c.plain)) << c.cipher;
  }
}

TEST(SecureCliFlash, XtsErrorsLeaveNoOutput) {
  ESPSEC_REQUIRE_VECTORS();
  TempDir dir;
  write_bytes(dir / "key24.bin", Bytes(24, 1));
  write_bytes(dir / "key48.bin", Bytes(48, 1));
  write_bytes(dir / "empty.bin", Bytes{});
  const auto out = dir / "out.bin";
  auto run = [&](const std::string& command, const std::string& key, const std::string& address, const std::string& in) {
    return secure({command, "--aes-xts", "--keyfile", key, "--address", address, "--output", out.string(), in});
  };
  auto len = run("encrypt-flash-data", "xts/key256.bin", "0x10000", "xts/plain_1000.bin");
  EXPECT_EQ(len.out, "Using 256-bit key.\n");
  expect_error(len, "xts/plain_1000.bin: Input data length (1000) must be a multiple of 16.");
  expect_error(run("decrypt-flash-data", "xts/key256.bin", "0x10000", "xts/plain_1000.bin"),
               "xts/plain_1000.bin: Input data length (1000) must be a multiple of 16.");
  expect_error(run("encrypt-flash-data", "xts/key256.bin", "0x10008", "xts/plain_64KiB.bin"),
               "xts/plain_64KiB.bin: Starting flash address 0x10008 must be a multiple of 16.");
  const std::string key24 = (dir / "key24.bin").string();
  const std::string key48 = (dir / "key48.bin").string();
  expect_error(run("encrypt-flash-data", key24, "0x10000", "xts/plain_64KiB.bin"),
               key24 + ": AES_XTS supports only 128, 256, and 512-bit keys. Provided key is 192 bits.");
  expect_error(run("encrypt-flash-data", key48, "0x10000", "xts/plain_64KiB.bin"),
               key48 + ": Key file contains wrong length (48 bytes), 16, 24, 32 or 64 expected.");
  expect_error(run("encrypt-flash-data", "xts/key256.bin", "0x0", (dir / "empty.bin").string()),
               (dir / "empty.bin").string() + ": Input data must be longer than 0.");
  expect_error(run("encrypt-flash-data", "xts/key256.bin", "banana", "xts/plain_64KiB.bin"),
               "--address 'banana' is not a number between 0 and 0xFFFFFFFF");
  expect_error(run("encrypt-flash-data", "xts/missing.bin", "0x0", "xts/plain_64KiB.bin"),
               "cannot read xts/missing.bin: No such file or directory");
  EXPECT_FALSE(fs::exists(out));
  auto same = secure({"encrypt-flash-data", "-x", "-k", "xts/key256.bin", "-a", "0", "-o", "xts/plain_64KiB.bin",
                      "xts/plain_64KiB.bin"});
  expect_error(same, "The input \"xts/plain_64KiB.bin\" and output \"xts/plain_64KiB.bin\" should not be the same!");
  auto unwritable = secure({"encrypt-flash-data", "-x", "-k", "xts/key256.bin", "-a", "0", "-o",
                            (dir / "missing-dir/out.bin").string(), "xts/plain_64KiB.bin"});
  EXPECT_EQ(unwritable.exit_code, 2);
  EXPECT_TRUE(unwritable.err.starts_with("espsec: error: cannot write ")) << unwritable.err;
}

TEST(SecureCliFlash, LegacyEsp32RoundTripAndPadding) {
  TempDir dir;
  Bytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  write_bytes(dir / "key.bin", key);
  Bytes plain(64);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<uint8_t>(i);
  write_bytes(dir / "plain.bin", plain);
  auto e = secure_in(dir.path(), {"encrypt-flash-data", "-k", "key.bin", "-a", "0x1000", "-o", "enc.bin", "plain.bin"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(e.out, "Using 256-bit key.\n");
  // espsecure v5.1 gives this ciphertext (see LegacyFlashCrypt.EspsecureKnownAnswers).
  EXPECT_EQ(to_hex(read_bytes(dir / "enc.bin")),
            "a354ea55e9d9d83cd027e80a6b03a53cfc3886d3f8090e2da27c51dbc4a61351cdf9f00c743bd33742e28544ffad8d92783779"
            "f1e794e3744df99032250a8f5a");
  auto d = secure_in(dir.path(), {"decrypt-flash-data", "-k", "key.bin", "-a", "0x1000", "-o", "dec.bin", "enc.bin"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(read_bytes(dir / "dec.bin"), plain);

  write_bytes(dir / "odd.bin", ByteSpan(plain).first(40));
  auto odd = secure_in(dir.path(), {"encrypt-flash-data", "-k", "key.bin", "-a", "0x1000", "--flash-crypt-conf", "0x3",
                                    "-o", "odd.enc", "odd.bin"});
  ASSERT_EQ(odd.exit_code, 0) << odd.err;
  EXPECT_EQ(odd.out, "Using 256-bit key.\n"
                     "Note: Padding with 8 bytes of random data (encrypted data must be multiple of 16 bytes long).\n");
  EXPECT_EQ(read_bytes(dir / "odd.enc").size(), 48u);
  expect_error(secure_in(dir.path(), {"decrypt-flash-data", "-k", "key.bin", "-a", "0x1000", "-o", "x.bin", "odd.bin"}),
               "odd.bin: Data length is not a multiple of 16 bytes.");
  expect_error(secure_in(dir.path(), {"encrypt-flash-data", "-k", "key.bin", "-a", "0x1008", "-o", "x.bin", "plain.bin"}),
               "plain.bin: Starting flash address 0x1008 must be a multiple of 16.");
  write_bytes(dir / "key16.bin", Bytes(16, 1));
  expect_error(secure_in(dir.path(), {"encrypt-flash-data", "-k", "key16.bin", "-a", "0", "-o", "x.bin", "plain.bin"}),
               "key16.bin: ESP32 supports only 192 and 256-bit keys. Provided key is 128 bits. Use --aes_xts for "
               "other chips.");
  EXPECT_FALSE(fs::exists(dir / "x.bin"));
  write_bytes(dir / "key24.bin", Bytes(24, 7));
  auto k24 = secure_in(dir.path(), {"encrypt-flash-data", "-k", "key24.bin", "-a", "0", "-o", "k24.bin", "plain.bin"});
  ASSERT_EQ(k24.exit_code, 0);
  EXPECT_EQ(k24.out, "Using 192-bit key (extended).\n");
}

}  // namespace
}  // namespace espsec
