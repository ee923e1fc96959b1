// `espsec secure ...`: the espsecure command set (Secure Boot v2 keys and signatures, flash
// encryption). Option names follow espsecure v5; underscore spellings are accepted too.
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

Status generate_signing_key(int version, const std::string& scheme, const fs::path& out) {
  if (version != 2) return fail("secure.version", "only Secure Boot v2 keys are supported (--version 2)");
  Result<crypto::PrivateKey> key = std::unexpected(Error{});
  if (scheme == "rsa3072") key = crypto::PrivateKey::generate_rsa(3072);
  else if (scheme == "ecdsa192") key = crypto::PrivateKey::generate_ec(crypto::Curve::kP192);
  else if (scheme == "ecdsa256") key = crypto::PrivateKey::generate_ec(crypto::Curve::kP256);
  else if (scheme == "ecdsa384") key = crypto::PrivateKey::generate_ec(crypto::Curve::kP384);
  else return fail("secure.scheme", "unknown scheme '{}' (rsa3072, ecdsa192, ecdsa256, ecdsa384)", scheme);
  if (!key) return std::unexpected(key.error());
  const auto pem = key->to_pem_traditional();
  ESPSEC_TRY(create_file_exclusive(out, pem.expose(), FileMode::kSecret));
  fmt::print("{} private key in PEM format written to {}.\n", scheme, out.string());
  return {};
}

Status generate_flash_encryption_key(int keylen, const fs::path& out) {
  if (keylen != 128 && keylen != 256 && keylen != 512)
    return fail("secure.keylen", "--keylen must be 128, 256 or 512, got {}", keylen);
  crypto::SystemRng rng;
  const auto key = rng.secret(static_cast<size_t>(keylen / 8));
  ESPSEC_TRY(create_file_exclusive(out, key.expose(), FileMode::kSecret));
  fmt::print("Writing {} random bits to key file {}\n", keylen, out.string());
  return {};
}

}  // namespace

void register_secure(CLI::App& app, Runner& runner) {
  CLI::App* secure = add_command(app, "secure", "Secure Boot v2 signing and flash encryption (espsecure)");
  secure->require_subcommand(1);

  {
    auto* cmd = add_command(*secure, "generate-signing-key", "Generate a Secure Boot v2 signing key (PEM, 0600)");
    auto version = std::make_shared<int>(2);
    auto scheme = std::make_shared<std::string>("rsa3072");
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("version", 'v'), *version, "Secure Boot version (2)")->capture_default_str();
    cmd->add_option(option_names("scheme", 's'), *scheme, "rsa3072, ecdsa192, ecdsa256 or ecdsa384")
        ->capture_default_str();
    cmd->add_option("keyfile", *out, "Output key file (must not exist)")->required();
    bind(cmd, runner, [=] { return generate_signing_key(*version, *scheme, *out); });
  }
  {
    auto* cmd = add_command(*secure, "generate-flash-encryption-key", "Generate a raw flash-encryption key (0600)");
    auto keylen = std::make_shared<int>(256);
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("keylen", 'l'), *keylen, "Key length in bits: 128, 256 or 512")->capture_default_str();
    cmd->add_option("key_file", *out, "Output key file (must not exist)")->required();
    bind(cmd, runner, [=] { return generate_flash_encryption_key(*keylen, *out); });
  }
}

}  // namespace espsec::cli
