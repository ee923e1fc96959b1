// `espsec image encrypt|decrypt|generate-rsa-key|generate-ecc-key`: the esp_enc_img_gen.py
// command set (idf-extra-components esp_encrypted_img/tools). Positional arguments as upstream:
// encrypt INPUT KEY OUTPUT, decrypt INPUT KEY OUTPUT; upstream's --generate_rsa_key and
// --generate_ecc_key flags are subcommands here because the `image` group is shared.
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"
#include "encimg/decryptor.hpp"
#include "encimg/encrypt.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

bool is_pem(ByteSpan data) { return as_chars(data).find("-----BEGIN ") != std::string_view::npos; }

// KEY of `encrypt`: the device's RSA-3072 or P-256 public key (PEM or DER). A private key of
// either kind is accepted for its public half, and a raw 32-byte HMAC_UP key for the ECIES
// device key it derives.
Result<encimg::EncryptionKey> load_encryption_key(const fs::path& path) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes data, read_secret_file(path));
  auto in_context = [&](Error e) { return std::unexpected(with_context(std::move(e), path.string())); };
  if (!is_pem(data.expose()) && data.size() == encimg::kHmacKeySize) {
    auto device = encimg::derive_ecies_device_key(data);
    if (!device) return in_context(device.error());
    auto key = encimg::EncryptionKey::from_public_key(device->public_key());
    if (!key) return in_context(key.error());
    return key;
  }
  auto pub = crypto::PublicKey::load(data.expose());
  if (!pub) {
    auto priv = crypto::PrivateKey::load(data.expose());
    if (!priv)
      return in_context(Error{"encimg.key_file", "not a PEM or DER RSA-3072 / P-256 key, nor a 32-byte HMAC key"});
    pub = priv->public_key();
  }
  auto key = encimg::EncryptionKey::from_public_key(std::move(*pub));
  if (!key) return in_context(key.error());
  return key;
}

// KEY of `decrypt`: the RSA-3072 private key, the P-256 device private key, or the raw
// 32-byte HMAC_UP key the device derives its ECIES key from.
Result<encimg::DecryptionKey> load_decryption_key(const fs::path& path) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes data, read_secret_file(path));
  auto in_context = [&](Error e) { return std::unexpected(with_context(std::move(e), path.string())); };
  if (!is_pem(data.expose()) && data.size() == encimg::kHmacKeySize) {
    auto key = encimg::DecryptionKey::from_hmac_key(data);
    if (!key) return in_context(key.error());
    return key;
  }
  auto priv = crypto::PrivateKey::load(data.expose());
  if (!priv) {
    if (crypto::PublicKey::load(data.expose()))
      return in_context(Error{"encimg.key_file", "this is a public key; decryption needs the RSA-3072 private key, "
                                                 "the P-256 device private key or the 32-byte HMAC key"});
    return in_context(Error{"encimg.key_file", "not a PEM or DER private key, nor a 32-byte HMAC key"});
  }
  auto key = encimg::DecryptionKey::from_private_key(std::move(*priv));
  if (!key) return in_context(key.error());
  return key;
}

Status refuse_same_file(const fs::path& input, const fs::path& output) {
  if (same_file(input, output))
    return fail("cli.same_file", "{}: the output file must not be the input file", output.string());
  return {};
}

Status encrypt(const fs::path& input, const fs::path& key_path, const fs::path& output) {
  ESPSEC_TRY(refuse_same_file(input, output));
  ESPSEC_ASSIGN_OR_RETURN(encimg::EncryptionKey key, load_encryption_key(key_path));
  ESPSEC_ASSIGN_OR_RETURN(Bytes plain, read_file(input));
  crypto::SystemRng rng;
  auto image = encimg::encrypt_image(plain, key, rng);
  if (!image) return std::unexpected(with_context(image.error(), input.string()));
  ESPSEC_TRY(write_file_atomic(output, *image));
  fmt::print("Encrypted {} ({} bytes, {} scheme) to {}\n", input.string(), plain.size(),
             encimg::scheme_name(key.scheme()), output.string());
  return {};
}

Status decrypt(const fs::path& input, const fs::path& key_path, const fs::path& output) {
  ESPSEC_TRY(refuse_same_file(input, output));
  ESPSEC_ASSIGN_OR_RETURN(encimg::DecryptionKey key, load_decryption_key(key_path));
  ESPSEC_ASSIGN_OR_RETURN(Bytes image, read_file(input));
  const encimg::Scheme scheme = key.scheme();
  // The device's streaming decryptor, fed as a download would arrive; nothing is written
  // unless the tag verifies.
  encimg::ImageDecryptor decryptor(std::move(key));
  Bytes plain;
  plain.reserve(image.size());
  constexpr size_t kChunk = 64 * 1024;
  for (size_t at = 0; at < image.size(); at += kChunk) {
    const ByteSpan chunk = ByteSpan(image).subspan(at, std::min(kChunk, image.size() - at));
    if (auto st = decryptor.feed(chunk, plain); !st) {
      secure_wipe(plain);
      return std::unexpected(with_context(st.error(), input.string()));
    }
  }
  if (auto st = decryptor.finish(); !st) {
    secure_wipe(plain);
    return std::unexpected(with_context(st.error(), input.string()));
  }
  ESPSEC_TRY(write_file_atomic(output, plain));
  fmt::print("Decrypted {} ({} bytes, {} scheme, tag verified) to {}\n", input.string(), plain.size(),
             encimg::scheme_name(scheme), output.string());
  return {};
}

// esp_enc_img_gen.py --generate_rsa_key: rsa_pub_key.pem (SubjectPublicKeyInfo) and
// rsa_priv_key.pem (PKCS#1 "RSA PRIVATE KEY") in the current directory.
Status generate_rsa_key(const fs::path& dir) {
  const fs::path pub_path = dir / "rsa_pub_key.pem";
  const fs::path priv_path = dir / "rsa_priv_key.pem";
  if (fs::exists(pub_path)) return fail("io.exists", "{} already exists; not overwriting it", pub_path.string());
  ESPSEC_ASSIGN_OR_RETURN(crypto::PrivateKey key, crypto::PrivateKey::generate_rsa(3072));
  ESPSEC_TRY(create_file_exclusive(priv_path, key.to_pem_traditional().expose(), FileMode::kSecret));
  ESPSEC_TRY(create_file_exclusive(pub_path, key.public_key().to_pem(), FileMode::kPublic));
  fmt::print("RSA-3072 key pair written: {} (device, keep secret) and {} (for encrypt)\n", priv_path.string(),
             pub_path.string());
  return {};
}

// esp_enc_img_gen.py --generate_ecc_key: a random 32-byte HMAC_UP key (device_hmac_key.bin, to
// burn into an eFuse key block) and the P-256 public key it derives (device_pub_key.pem).
Status generate_ecc_key(const fs::path& dir) {
  const fs::path hmac_path = dir / "device_hmac_key.bin";
  const fs::path pub_path = dir / "device_pub_key.pem";
  if (fs::exists(pub_path)) return fail("io.exists", "{} already exists; not overwriting it", pub_path.string());
  crypto::SystemRng rng;
  // A random key derives an invalid scalar with probability about 2^-32; upstream draws again.
  constexpr int kAttempts = 64;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    SecretBytes hmac_key = rng.secret(encimg::kHmacKeySize);
    auto device = encimg::derive_ecies_device_key(hmac_key);
    if (!device && device.error().code == "encimg.hmac_key_scalar") continue;
    if (!device) return std::unexpected(device.error());
    ESPSEC_TRY(create_file_exclusive(hmac_path, hmac_key.expose(), FileMode::kSecret));
    ESPSEC_TRY(create_file_exclusive(pub_path, device->public_key().to_pem(), FileMode::kPublic));
    fmt::print("ECIES-P256 keys written: {} (eFuse HMAC_UP key, keep secret) and {} (for encrypt)\n",
               hmac_path.string(), pub_path.string());
    return {};
  }
  return fail("encimg.rng", "the random generator produced no usable HMAC key in {} attempts", kAttempts);
}

}  // namespace

void register_image_encryption(CLI::App& image_group, Runner& runner) {
  {
    auto* cmd = add_command(image_group, "encrypt", "Encrypt a firmware image for pre-encrypted OTA (esp_enc_img_gen.py encrypt)");
    auto input = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    cmd->add_option("input_file", *input, "Input file to encrypt")->required();
    cmd->add_option("key_file", *key,
                    "Device public key (RSA-3072 or EC P-256, PEM/DER), or the 32-byte HMAC key of the ECC scheme")
        ->required();
    cmd->add_option("output_file", *output, "Output file for the encrypted image")->required();
    bind(cmd, runner, [=] { return encrypt(*input, *key, *output); });
  }
  {
    auto* cmd = add_command(image_group, "decrypt", "Decrypt and authenticate a pre-encrypted image (esp_enc_img_gen.py decrypt)");
    auto input = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    cmd->add_option("input_file", *input, "Input file to decrypt")->required();
    cmd->add_option("key_file", *key,
                    "RSA-3072 private key, EC P-256 device private key, or the 32-byte eFuse HMAC key")
        ->required();
    cmd->add_option("output_file", *output, "Output file for the decrypted binary (written only if the tag verifies)")
        ->required();
    bind(cmd, runner, [=] { return decrypt(*input, *key, *output); });
  }
  {
    auto* cmd = add_command(image_group, "generate-rsa-key",
                            "Write rsa_priv_key.pem and rsa_pub_key.pem in the current directory (--generate_rsa_key)");
    bind(cmd, runner, [] { return generate_rsa_key("."); });
  }
  {
    auto* cmd = add_command(image_group, "generate-ecc-key",
                            "Write device_hmac_key.bin and device_pub_key.pem in the current directory (--generate_ecc_key)");
    bind(cmd, runner, [] { return generate_ecc_key("."); });
  }
}

}  // namespace espsec::cli
