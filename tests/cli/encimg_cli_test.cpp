// `espsec image encrypt|decrypt|generate-rsa-key|generate-ecc-key`: exit codes, messages, files.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "crypto/pkey.hpp"
#include "encimg/keys.hpp"
#include "test_util.hpp"

namespace espsec {
namespace {

namespace fs = std::filesystem;
using test::run_cli;

std::string vec(const std::string& name) { return (test::vectors_dir() / "encrypted_img" / name).string(); }

unsigned mode_of(const fs::path& p) {
  struct stat st{};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

void expect_one_error_line(const test::CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err.rfind("espsec: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(EncImgCli, DecryptsTheReferenceImagesWithEveryKeyForm) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  struct Case { const char* image; const char* key; const char* plain; } cases[] = {
      {"plain_200k.rsa.enc.bin", "rsa3072_private.pem", "plain_200k.bin"},
      {"plain_17.rsa.enc.bin", "rsa3072_private.pem", "plain_17.bin"},
      {"plain_empty.rsa.enc.bin", "rsa3072_private.pem", "plain_empty.bin"},
      {"plain_200k.ecc.enc.bin", "device_hmac_key.bin", "plain_200k.bin"},
      {"plain_4k.ecc.enc.bin", "device_priv_key.pem", "plain_4k.bin"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir / (std::string(c.image) + ".out");
    auto r = run_cli({"image", "decrypt", vec(c.image), vec(c.key), out.string()});
    ASSERT_EQ(r.exit_code, 0) << c.image << ": " << r.err;
    EXPECT_NE(r.out.find("tag verified"), std::string::npos) << r.out;
    EXPECT_EQ(test::read_bytes(out), test::read_vector(std::string("encrypted_img/") + c.plain)) << c.image;
  }
}

TEST(EncImgCli, EncryptThenDecryptRoundTripsForBothSchemes) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  struct Case { const char* enc_key; const char* dec_key; const char* scheme; } cases[] = {
      {"rsa3072_public.pem", "rsa3072_private.pem", "RSA-3072"},
      {"rsa3072_private.pem", "rsa3072_private.pem", "RSA-3072"},  // the public half of a private key
      {"device_pub_key.pem", "device_hmac_key.bin", "ECIES-P256"},
      {"device_hmac_key.bin", "device_priv_key.pem", "ECIES-P256"},
  };
  for (const auto& c : cases) {
    const fs::path enc = dir / "image.enc", dec = dir / "image.dec";
    fs::remove(enc);
    fs::remove(dec);
    auto r = run_cli({"image", "encrypt", vec("plain_4k.bin"), vec(c.enc_key), enc.string()});
    ASSERT_EQ(r.exit_code, 0) << c.enc_key << ": " << r.err;
    EXPECT_NE(r.out.find(c.scheme), std::string::npos) << r.out;
    EXPECT_EQ(test::read_bytes(enc).size(), 4096u + 512);
    r = run_cli({"image", "decrypt", enc.string(), vec(c.dec_key), dec.string()});
    ASSERT_EQ(r.exit_code, 0) << c.dec_key << ": " << r.err;
    EXPECT_EQ(test::read_bytes(dec), test::read_vector("encrypted_img/plain_4k.bin"));
  }
}

TEST(EncImgCli, NegativeVectorsExitTwoAndWriteNothing) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  struct Case { const char* file; const char* key; const char* needle; } cases[] = {
      {"neg_bad_magic.bin", "rsa3072_private.pem", "magic"},
      {"neg_ecc_bad_server_point.bin", "device_hmac_key.bin", "not a point on P-256"},
      {"neg_ecc_tampered_salt.bin", "device_hmac_key.bin", "GCM tag"},
      {"neg_header_only_truncated.bin", "rsa3072_private.pem", "inside the 512-byte header"},
      {"neg_size_field_too_large.bin", "rsa3072_private.pem", "4096 of the 4112 bytes"},
      {"neg_size_field_too_small.bin", "rsa3072_private.pem", "16 extra bytes"},
      {"neg_tampered_ciphertext.bin", "rsa3072_private.pem", "GCM tag"},
      {"neg_tampered_iv.bin", "rsa3072_private.pem", "GCM tag"},
      {"neg_tampered_tag.bin", "rsa3072_private.pem", "GCM tag"},
      {"neg_tampered_wrapped_key.bin", "rsa3072_private.pem", "does not unwrap"},
      {"neg_truncated.bin", "rsa3072_private.pem", "4080 of the 4096 bytes"},
      {"neg_wrong_rsa_key.bin", "rsa3072_private.pem", "does not unwrap"},
  };
  for (const auto& c : cases) {
    const fs::path out = dir / "out.bin";
    auto r = run_cli({"image", "decrypt", vec(std::string("negative/") + c.file), vec(c.key), out.string()});
    expect_one_error_line(r, c.needle);
    EXPECT_NE(r.err.find(c.file), std::string::npos) << r.err;  // names the file
    EXPECT_FALSE(fs::exists(out)) << c.file;
  }
}

TEST(EncImgCli, RefusesKeysNoDeviceCanUse) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto rsa2048 = crypto::PrivateKey::generate_rsa(2048).value();
  test::write_bytes(dir / "rsa2048.pem", rsa2048.public_key().to_pem());
  auto r = run_cli({"image", "encrypt", vec("plain_4k.bin"), (dir / "rsa2048.pem").string(), (dir / "o").string()});
  expect_one_error_line(r, "RSA-3072");
  EXPECT_NE(r.err.find("2048 bits"), std::string::npos);
  auto p384 = crypto::PrivateKey::generate_ec(crypto::Curve::kP384).value();
  test::write_bytes(dir / "p384.pem", p384.public_key().to_pem());
  expect_one_error_line(run_cli({"image", "encrypt", vec("plain_4k.bin"), (dir / "p384.pem").string(), (dir / "o").string()}),
                        "P-256");
  // Decryption needs the private side.
  expect_one_error_line(run_cli({"image", "decrypt", vec("plain_4k.rsa.enc.bin"), vec("rsa3072_public.pem"), (dir / "o").string()}),
                        "public key");
  test::write_bytes(dir / "junk.key", as_bytes("not a key at all"));
  expect_one_error_line(run_cli({"image", "decrypt", vec("plain_4k.rsa.enc.bin"), (dir / "junk.key").string(), (dir / "o").string()}),
                        "junk.key");
  expect_one_error_line(run_cli({"image", "encrypt", vec("plain_4k.bin"), (dir / "junk.key").string(), (dir / "o").string()}),
                        "junk.key");
  // The wrong scheme's key for an image.
  expect_one_error_line(run_cli({"image", "decrypt", vec("plain_4k.ecc.enc.bin"), vec("rsa3072_private.pem"), (dir / "o").string()}),
                        "does not unwrap");
  EXPECT_FALSE(fs::exists(dir / "o"));
}

TEST(EncImgCli, BadFilesAndArguments) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  expect_one_error_line(run_cli({"image", "encrypt", (dir / "missing.bin").string(), vec("rsa3072_public.pem"), (dir / "o").string()}),
                        "missing.bin");
  expect_one_error_line(run_cli({"image", "decrypt", vec("plain_4k.rsa.enc.bin"), (dir / "missing.pem").string(), (dir / "o").string()}),
                        "missing.pem");
  test::write_bytes(dir / "in.bin", as_bytes("firmware"));
  expect_one_error_line(run_cli({"image", "encrypt", (dir / "in.bin").string(), vec("rsa3072_public.pem"), (dir / "in.bin").string()}),
                        "must not be the input");
  EXPECT_EQ(test::read_bytes(dir / "in.bin"), Bytes(as_bytes("firmware").begin(), as_bytes("firmware").end()));
  auto usage = run_cli({"image", "encrypt", vec("plain_4k.bin")});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("key_file"), std::string::npos) << usage.err;
  EXPECT_EQ(run_cli({"image"}).exit_code, 2);
  auto help = run_cli({"image", "decrypt", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("input_file"), std::string::npos);
}

TEST(EncImgCli, GeneratesRsaKeysLikeTheReferenceTool) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto r = run_cli({"image", "generate-rsa-key"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(mode_of(dir / "rsa_priv_key.pem"), 0600u);
  const Bytes priv = test::read_bytes(dir / "rsa_priv_key.pem");
  EXPECT_EQ(std::string(priv.begin(), priv.begin() + 31), "-----BEGIN RSA PRIVATE KEY-----");
  auto key = crypto::PrivateKey::load(priv);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->bits(), 3072);
  EXPECT_EQ(test::read_bytes(dir / "rsa_pub_key.pem"), key->public_key().to_pem());
  // Never overwrites.
  expect_one_error_line(run_cli({"image", "generate_rsa_key"}, dir.path()), "exists");
  EXPECT_EQ(test::read_bytes(dir / "rsa_priv_key.pem"), priv);
  // The pair works end to end.
  ASSERT_EQ(run_cli({"image", "encrypt", vec("plain_17.bin"), "rsa_pub_key.pem", "x.enc"}, dir.path()).exit_code, 0);
  ASSERT_EQ(run_cli({"image", "decrypt", "x.enc", "rsa_priv_key.pem", "x.bin"}, dir.path()).exit_code, 0);
  EXPECT_EQ(test::read_bytes(dir / "x.bin"), test::read_vector("encrypted_img/plain_17.bin"));
}

TEST(EncImgCli, GeneratesEciesKeysLikeTheReferenceTool) {
  ESPSEC_REQUIRE_VECTORS();
  test::TempDir dir;
  auto r = run_cli({"image", "generate_ecc_key"}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Bytes hmac = test::read_bytes(dir / "device_hmac_key.bin");
  ASSERT_EQ(hmac.size(), 32u);
  EXPECT_EQ(mode_of(dir / "device_hmac_key.bin"), 0600u);
  auto derived = encimg::derive_ecies_device_key(SecretBytes::copy_of(hmac));
  ASSERT_TRUE(derived);
  EXPECT_EQ(test::read_bytes(dir / "device_pub_key.pem"), derived->public_key().to_pem());
  expect_one_error_line(run_cli({"image", "generate-ecc-key"}, dir.path()), "exists");
  EXPECT_EQ(test::read_bytes(dir / "device_hmac_key.bin"), hmac);
  ASSERT_EQ(run_cli({"image", "encrypt", vec("plain_17.bin"), "device_pub_key.pem", "x.enc"}, dir.path()).exit_code, 0);
  ASSERT_EQ(run_cli({"image", "decrypt", "x.enc", "device_hmac_key.bin", "x.bin"}, dir.path()).exit_code, 0);
  EXPECT_EQ(test::read_bytes(dir / "x.bin"), test::read_vector("encrypted_img/plain_17.bin"));
}

}  // namespace
}  // namespace espsec
