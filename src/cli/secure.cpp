// `espsec secure ...`: the espsecure command set (Secure Boot v2 keys and signatures, flash
// encryption). Command and option names, messages and exit codes follow espsecure v5.1;
// underscore spellings are accepted too. Each command parses options, calls src/signing or
// src/flashcrypt, prints, and writes its output atomically.
#include <algorithm>
#include <charconv>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"
#include "flashcrypt/legacy.hpp"
#include "flashcrypt/xts.hpp"
#include "format/sbv2.hpp"
#include "signing/keys.hpp"
#include "signing/sign.hpp"
#include "signing/verify.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

void print_line(std::string_view line) { fmt::print("{}\n", line); }

// "<file>: <reason>". File errors from core/file_io already name their file.
Error about(Error error, const std::string& file) {
  if (error.code.starts_with("io.")) return error;
  return with_context(std::move(error), file);
}

template <class T>
Result<T> about(Result<T> result, const std::string& file) {
  if (!result) return std::unexpected(about(std::move(result).error(), file));
  return result;
}

// An output computed from inputs that stay on disk: written atomically (never partial), without
// the fsync that would double the time of large outputs; rerunning the command recreates it.
Status write_derived(const std::string& path, ByteSpan data) {
  return write_file_atomic(path, data, FileMode::kPublic, Durability::kAtomicOnly);
}

// espsecure's _check_output_is_not_input, by path and by inode; also the guard that no output
// ever replaces a key file.
bool same_path(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  const fs::path ca = fs::weakly_canonical(a, ec1);
  const fs::path cb = fs::weakly_canonical(b, ec2);
  return same_file(a, b) || (!ec1 && !ec2 && ca == cb);
}

Status check_output_is_not_input(const std::string& input, const std::string& output) {
  if (same_path(input, output))
    return fail("secure.output_is_input", "The input \"{}\" and output \"{}\" should not be the same!", input, output);
  return {};
}

// espsecure --version takes "1" or "2"; espsec implements the Secure Boot v2 side of signing.
Status require_v2(const std::string& version, const char* command) {
  if (version != "2")
    return fail("secure.version", "{} handles Secure Boot v2 only; Secure Boot v1 (ESP32 ECO1/2) is out of scope, use --version 2",
                command);
  return {};
}

// esptool's AnyIntType: Python int(text, 0), limited to the 32-bit flash address space.
Result<uint32_t> parse_u32(const std::string& text, const char* what) {
  std::string_view digits = text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) base = 16;
  else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) base = 8;
  else if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B')) base = 2;
  if (base != 10) digits.remove_prefix(2);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || value > 0xFFFFFFFFu)
    return fail("secure.number", "{} '{}' is not a number between 0 and 0xFFFFFFFF", what, text);
  return static_cast<uint32_t>(value);
}

// ---- keys ----

Status generate_signing_key(const std::string& version, const std::string& scheme, const std::string& out) {
  // Checked before the (slow) key generation; create_file_exclusive closes the race.
  if (fs::exists(fs::symlink_status(out)))
    return fail("secure.key_exists", "{}: key file already exists; refusing to overwrite it", out);
  Result<crypto::PrivateKey> key = std::unexpected(Error{});
  std::string label;
  if (version == "1") {
    // Secure Boot v1 keys are ECDSA P-256 (espsecure generate_signing_key).
    if (!scheme.empty() && scheme != "ecdsa256") return fail("secure.scheme", "ERROR: V1 only supports ECDSA256.");
    key = crypto::PrivateKey::generate_ec(crypto::Curve::kP256);
    label = "ECDSA NIST256p";
  } else if (scheme.empty() || scheme == "rsa3072") {
    key = crypto::PrivateKey::generate_rsa(3072);
    label = "RSA 3072";
  } else if (scheme == "ecdsa192") {
    key = crypto::PrivateKey::generate_ec(crypto::Curve::kP192);
    label = "ECDSA NIST192p";
  } else if (scheme == "ecdsa256") {
    key = crypto::PrivateKey::generate_ec(crypto::Curve::kP256);
    label = "ECDSA NIST256p";
  } else {
    key = crypto::PrivateKey::generate_ec(crypto::Curve::kP384);
    label = "ECDSA NIST384p";
  }
  if (!key) return std::unexpected(key.error());
  const auto pem = key->to_pem_traditional();
  ESPSEC_TRY(create_file_exclusive(out, pem.expose(), FileMode::kSecret));
  fmt::print("{} private key in PEM format written to \"{}\".\n", label, out);
  return {};
}

Status generate_flash_encryption_key(int keylen, const std::string& out) {
  // 192 bits: the ESP32 3/4 coding scheme key (encrypt-flash-data without --aes-xts).
  if (keylen != 128 && keylen != 192 && keylen != 256 && keylen != 512)
    return fail("secure.keylen", "--keylen must be 128, 192, 256 or 512, got {}", keylen);
  crypto::SystemRng rng;
  const auto key = rng.secret(static_cast<size_t>(keylen / 8));
  ESPSEC_TRY(create_file_exclusive(out, key.expose(), FileMode::kSecret));
  fmt::print("Writing {} random bits to key file \"{}\".\n", keylen, out);
  return {};
}

Result<crypto::PublicKey> read_verification_key(const std::string& path) {
  ESPSEC_ASSIGN_OR_RETURN(const SecretBytes file, read_secret_file(path));
  return about(signing::load_verification_key(file.expose()), path);
}

Status extract_public_key(const std::string& version, const std::string& keyfile, const std::string& out) {
  ESPSEC_TRY(check_output_is_not_input(keyfile, out));
  ESPSEC_ASSIGN_OR_RETURN(const SecretBytes file, read_secret_file(keyfile));
  Bytes public_key;
  if (version == "1") {
    ESPSEC_ASSIGN_OR_RETURN(public_key, about(signing::secure_boot_v1_public_key(file.expose()), keyfile));
  } else {
    ESPSEC_ASSIGN_OR_RETURN(const auto key, about(signing::load_signing_key(file.expose()), keyfile));
    public_key = key.public_key().to_pem();
  }
  ESPSEC_TRY(write_derived(out, public_key));
  fmt::print("\"{}\" public key extracted to \"{}\".\n", keyfile, out);
  return {};
}

Status digest_sbv2_public_key(const std::string& keyfile, const std::string& out) {
  ESPSEC_TRY(check_output_is_not_input(keyfile, out));
  ESPSEC_ASSIGN_OR_RETURN(const auto key, read_verification_key(keyfile));
  ESPSEC_ASSIGN_OR_RETURN(const auto digest, about(sbv2::key_digest(key), keyfile));
  fmt::print("Writing the public key digest of \"{}\" to \"{}\".\n", keyfile, out);
  return write_derived(out, digest);
}

// ---- signatures ----

struct SignOptions {
  std::string version;
  std::vector<std::string> keyfiles;
  std::string output;
  bool append = false;
  std::vector<std::string> pub_keys;
  std::vector<std::string> signatures;
  std::string datafile;
};

Status sign_data(const SignOptions& o) {
  ESPSEC_TRY(require_v2(o.version, "sign-data"));
  const std::string& out = o.output.empty() ? o.datafile : o.output;
  for (const auto& keyfile : o.keyfiles) {
    ESPSEC_TRY(check_output_is_not_input(keyfile, out));
  }
  if (!o.output.empty()) ESPSEC_TRY(check_output_is_not_input(o.datafile, o.output));

  std::vector<crypto::PrivateKey> keys;
  std::vector<crypto::PublicKey> pub_keys;
  std::vector<Bytes> signatures;
  if (o.signatures.empty()) {
    for (const auto& path : o.keyfiles) {
      ESPSEC_ASSIGN_OR_RETURN(const SecretBytes file, read_secret_file(path));
      ESPSEC_ASSIGN_OR_RETURN(auto key, about(signing::load_signing_key(file.expose()), path));
      keys.push_back(std::move(key));
    }
  } else {
    // espsecure opens --keyfile (it must exist) but signs nothing with it here.
    for (const auto& path : o.keyfiles) ESPSEC_TRY(read_secret_file(path));
    for (const auto& path : o.pub_keys) {
      ESPSEC_ASSIGN_OR_RETURN(auto key, read_verification_key(path));
      pub_keys.push_back(std::move(key));
    }
    for (const auto& path : o.signatures) {
      ESPSEC_ASSIGN_OR_RETURN(auto signature, read_file(path));
      signatures.push_back(std::move(signature));
    }
  }
  ESPSEC_ASSIGN_OR_RETURN(const MappedFile input, map_file(o.datafile));
  signing::SignRequest request;
  request.keys = keys;
  request.precalculated_keys = pub_keys;
  request.precalculated_signatures = signatures;
  request.append_signatures = o.append;
  ESPSEC_ASSIGN_OR_RETURN(const auto signed_image,
                          about(signing::sign_image(input.bytes(), request, print_line), o.datafile));
  ESPSEC_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::create(out));
  ESPSEC_TRY(writer.write_from(input, 0, signed_image.data_length));
  ESPSEC_TRY(writer.write(Bytes(signed_image.padding, 0xFF)));
  ESPSEC_TRY(writer.write(signed_image.sector));
  // In place, the input itself is replaced: that write must survive a power cut.
  ESPSEC_TRY(writer.commit(o.output.empty() ? Durability::kDurable : Durability::kAtomicOnly));
  fmt::print("Signed {} bytes of data from \"{}\". Signature sector now has {} signature blocks.\n",
             signed_image.signed_length(), o.datafile, signed_image.total_blocks);
  return {};
}

Status verify_signature(const std::string& version, const std::string& keyfile, const std::string& datafile) {
  ESPSEC_TRY(require_v2(version, "verify-signature"));
  ESPSEC_ASSIGN_OR_RETURN(const auto key, read_verification_key(keyfile));
  ESPSEC_ASSIGN_OR_RETURN(const MappedFile image, map_file(datafile));
  ESPSEC_TRY(about(signing::verify_image(image.bytes(), key, print_line), datafile));
  return {};
}

Status signature_info_v2(const std::string& datafile) {
  ESPSEC_ASSIGN_OR_RETURN(const MappedFile image, map_file(datafile));
  ESPSEC_ASSIGN_OR_RETURN(const auto info, about(signing::signature_info(image.bytes(), print_line), datafile));
  // espsecure stops quietly at any invalid slot; a damaged (not erased) block is an error here.
  if (info.corrupt_block)
    return fail("secure.corrupt_block", "{}: signature block {} is not a valid Secure Boot v2 block: {}", datafile, *info.corrupt_block,
                info.corrupt_reason);
  return {};
}

// ---- flash encryption ----

struct FlashCryptOptions {
  std::string keyfile;
  std::string output;
  std::string address;
  std::string flash_crypt_conf = "0xF";
  bool aes_xts = false;
  std::string input;
};

// Transforms `in` a chunk at a time into the output file, so that a large image is never held
// twice in memory. Chunks end on 128-byte flash units, so no unit is split between two calls.
Status stream_xts(flashcrypt::FlashXts& xts, bool encrypt, uint32_t address, ByteSpan in, const std::string& output) {
  constexpr size_t kChunk = size_t{1} << 20;
  ESPSEC_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::create(output));
  Bytes buffer(std::min(in.size(), kChunk + flashcrypt::kXtsUnit));
  size_t done = 0;
  while (done < in.size()) {
    const uint64_t here = uint64_t{address} + done;
    const uint64_t unit_end = align_up(here + kChunk, flashcrypt::kXtsUnit) - here;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(unit_end, in.size() - done));
    const uint32_t at = static_cast<uint32_t>(here);
    const MutableByteSpan out = MutableByteSpan(buffer).first(n);
    ESPSEC_TRY(encrypt ? xts.encrypt(at, in.subspan(done, n), out) : xts.decrypt(at, in.subspan(done, n), out));
    ESPSEC_TRY(writer.write(out));
    done += n;
  }
  return writer.commit(Durability::kAtomicOnly);
}

std::string key_size_message(size_t key_file_bytes, bool extended) {
  if (extended) return fmt::format("Using {}-bit key (extended).", key_file_bytes * 8);
  return fmt::format("Using {}-bit key.", key_file_bytes * 8);
}

Status xts_flash_crypt(const FlashCryptOptions& o, bool encrypt, uint32_t address, const SecretBytes& key) {
  ESPSEC_ASSIGN_OR_RETURN(auto xts, about(flashcrypt::FlashXts::from_key_file_bytes(key), o.keyfile));
  print_line(key_size_message(key.size(), xts.key_extended()));
  ESPSEC_ASSIGN_OR_RETURN(const MappedFile input, map_file(o.input));
  const ByteSpan in = input.bytes();
  ESPSEC_TRY(about(flashcrypt::FlashXts::check_range(address, in.size()), o.input));
  if (in.empty()) return fail("secure.empty_input", "{}: Input data must be longer than 0.", o.input);
  return stream_xts(xts, encrypt, address, in, o.output);
}

// ESP32: message order and padding as espsecure's _flash_encryption_operation_esp32.
Status legacy_flash_crypt(const FlashCryptOptions& o, bool encrypt, uint32_t address, uint32_t conf,
                          const SecretBytes& key) {
  ESPSEC_ASSIGN_OR_RETURN(const auto legacy,
                          about(flashcrypt::LegacyFlashCrypt::from_key_file_bytes(key, conf), o.keyfile));
  print_line(key_size_message(key.size(), legacy.key_extended()));
  ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(o.input));
  if (address % 16 != 0)
    return fail("flashcrypt.address", "{}: Starting flash address 0x{:x} must be a multiple of 16.", o.input, address);
  if (conf == 0) print_line("Warning: Setting FLASH_CRYPT_CONF to zero is not recommended.");
  if (data.empty()) return fail("secure.empty_input", "{}: Input data must be longer than 0.", o.input);
  if (encrypt) {
    crypto::SystemRng rng;
    if (const size_t pad = flashcrypt::pad_with_random(data, rng); pad != 0)
      print_line(fmt::format(
          "Note: Padding with {} bytes of random data (encrypted data must be multiple of 16 bytes long).", pad));
  }
  ESPSEC_TRY(about(encrypt ? legacy.encrypt(address, data, data) : legacy.decrypt(address, data, data), o.input));
  return write_derived(o.output, data);
}

Status flash_crypt(const FlashCryptOptions& o, bool encrypt) {
  ESPSEC_TRY(check_output_is_not_input(o.keyfile, o.output));
  ESPSEC_TRY(check_output_is_not_input(o.input, o.output));
  ESPSEC_ASSIGN_OR_RETURN(const uint32_t address, parse_u32(o.address, "--address"));
  ESPSEC_ASSIGN_OR_RETURN(const uint32_t conf, parse_u32(o.flash_crypt_conf, "--flash-crypt-conf"));
  ESPSEC_ASSIGN_OR_RETURN(const SecretBytes key, read_secret_file(o.keyfile));
  return o.aes_xts ? xts_flash_crypt(o, encrypt, address, key) : legacy_flash_crypt(o, encrypt, address, conf, key);
}

void add_flash_crypt_command(CLI::App& secure, Runner& runner, const std::string& name, bool encrypt,
                             const std::string& description) {
  auto* cmd = add_command(secure, name, description);
  auto o = std::make_shared<FlashCryptOptions>();
  cmd->add_option(option_names("keyfile", 'k'), o->keyfile, "File with flash encryption key")->required();
  cmd->add_option(option_names("output", 'o'), o->output, "Output file")->required();
  cmd->add_option(option_names("address", 'a'), o->address, "Flash address of the data (multiple of 16)")
      ->required();
  cmd->add_option(option_names("flash-crypt-conf"), o->flash_crypt_conf,
                  "FLASH_CRYPT_CONFIG eFuse value, ESP32 only (default 0xF)");
  cmd->add_flag(option_names("aes-xts", 'x'), o->aes_xts, "XTS-AES (every chip but the ESP32)");
  cmd->add_option(encrypt ? "plaintext_file" : "encrypted_file", o->input, "Input file")->required();
  bind(cmd, runner, [o, encrypt] { return flash_crypt(*o, encrypt); });
}

}  // namespace

void register_secure(CLI::App& app, Runner& runner) {
  CLI::App* secure = add_command(app, "secure", "Secure Boot v2 signing and flash encryption (espsecure)");
  secure->require_subcommand(1);
  const std::vector<std::string> versions = {"1", "2"};

  {
    auto* cmd = add_command(*secure, "generate-signing-key", "Generate a Secure Boot signing key (PEM, 0600)");
    auto version = std::make_shared<std::string>("1");
    auto scheme = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("version", 'v'), *version, "Secure Boot version (1 or 2; default 1 as espsecure)")
        ->check(CLI::IsMember(versions));
    cmd->add_option(option_names("scheme", 's'), *scheme, "v2: rsa3072 (default), ecdsa192, ecdsa256 or ecdsa384")
        ->check(CLI::IsMember({"rsa3072", "ecdsa192", "ecdsa256", "ecdsa384"}));
    cmd->add_option("keyfile", *out, "Output key file (must not exist)")->required();
    bind(cmd, runner, [=] { return generate_signing_key(*version, *scheme, *out); });
  }
  {
    auto* cmd = add_command(*secure, "generate-flash-encryption-key", "Generate a raw flash-encryption key (0600)");
    auto keylen = std::make_shared<int>(256);
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("keylen", 'l'), *keylen, "Key length in bits: 128, 192, 256 or 512")
        ->capture_default_str();
    cmd->add_option("key_file", *out, "Output key file (must not exist)")->required();
    bind(cmd, runner, [=] { return generate_flash_encryption_key(*keylen, *out); });
  }
  {
    auto* cmd = add_command(*secure, "sign-data", "Sign a data file for Secure Boot v2 (one block per key)");
    auto o = std::make_shared<SignOptions>();
    cmd->add_option(option_names("version", 'v'), o->version, "Secure Boot version (2)")
        ->required()
        ->check(CLI::IsMember(versions));
    cmd->add_option(option_names("keyfile", 'k'), o->keyfiles, "Private key file(s), PEM; up to 3")->required();
    cmd->add_option(option_names("output", 'o'), o->output, "Output file (default: sign the input in place)");
    cmd->add_flag(option_names("append-signatures", 'a'), o->append, "Append blocks to an already signed image");
    cmd->add_option(option_names("pub-key"), o->pub_keys, "Public keys of pre-calculated signatures");
    cmd->add_option(option_names("signature"), o->signatures, "Pre-calculated signatures (RSA raw, ECDSA DER)");
    cmd->add_option("datafile", o->datafile, "File to sign")->required();
    bind(cmd, runner, [o] { return sign_data(*o); });
  }
  {
    auto* cmd = add_command(*secure, "verify-signature", "Verify a Secure Boot v2 signed image with a key");
    auto version = std::make_shared<std::string>();
    auto keyfile = std::make_shared<std::string>();
    auto datafile = std::make_shared<std::string>();
    cmd->add_option(option_names("version", 'v'), *version, "Secure Boot version (2)")
        ->required()
        ->check(CLI::IsMember(versions));
    cmd->add_option(option_names("keyfile", 'k'), *keyfile, "Private or public key file (PEM or DER)")->required();
    cmd->add_option("datafile", *datafile, "Signed image")->required();
    bind(cmd, runner, [=] { return verify_signature(*version, *keyfile, *datafile); });
  }
  {
    auto* cmd = add_command(*secure, "extract-public-key", "Write the public key of a signing key");
    auto version = std::make_shared<std::string>("1");
    auto keyfile = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("version", 'v'), *version,
                    "1: raw 64-byte P-256 X||Y; 2: PEM SubjectPublicKeyInfo (default 1 as espsecure)")
        ->check(CLI::IsMember(versions));
    cmd->add_option(option_names("keyfile", 'k'), *keyfile, "Private key file")->required();
    cmd->add_option("public_keyfile", *out, "Output public key file")->required();
    bind(cmd, runner, [=] { return extract_public_key(*version, *keyfile, *out); });
  }
  for (const char* name : {"digest-sbv2-public-key", "digest-rsa-public-key"}) {
    const bool deprecated = std::string_view(name) == "digest-rsa-public-key";
    auto* cmd = add_command(*secure, name,
                            deprecated ? "Deprecated alias of digest-sbv2-public-key"
                                       : "SHA-256 of a public key as eFuse SECURE_BOOT_DIGESTn stores it");
    auto keyfile = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option(option_names("keyfile", 'k'), *keyfile, "Private or public key file")->required();
    cmd->add_option(option_names("output", 'o'), *out, "Output file for the 32-byte digest")->required();
    bind(cmd, runner, [=] {
      if (deprecated)
        fmt::print(stderr, "Warning: digest-rsa-public-key is deprecated; use digest-sbv2-public-key.\n");
      return digest_sbv2_public_key(*keyfile, *out);
    });
  }
  {
    auto* cmd = add_command(*secure, "signature-info-v2", "Print the key digest of each signature block");
    auto datafile = std::make_shared<std::string>();
    cmd->add_option("datafile", *datafile, "Signed image")->required();
    bind(cmd, runner, [=] { return signature_info_v2(*datafile); });
  }
  add_flash_crypt_command(*secure, runner, "encrypt-flash-data", true,
                          "Encrypt data as flash encryption stores it at an address");
  add_flash_crypt_command(*secure, runner, "decrypt-flash-data", false, "Decrypt data read from encrypted flash");
}

}  // namespace espsec::cli
