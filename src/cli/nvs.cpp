// `espsec nvs ...`: the nvs_partition_gen command set (generate, generate-key, encrypt,
// decrypt; same positional arguments and option names, underscore and dashed spellings) plus
// dump and verify in the manner of ESP-IDF's nvs_tool.py.
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/common.hpp"
#include "core/file_io.hpp"
#include "core/rng.hpp"
#include "crypto/random.hpp"
#include "nvs/csv.hpp"
#include "nvs/inspect.hpp"
#include "nvs/keys.hpp"
#include "nvs/partition_gen.hpp"

namespace espsec::cli {
namespace {

namespace fs = std::filesystem;

// verify: 0 clean (warnings allowed), 1 corruption found, 2 any other error.
constexpr int kExitCorrupt = 1;

struct KeyOptions {
  bool keygen = false;
  std::string keyfile;
  std::string inputkey;
  bool key_protect_hmac = false;
  bool kp_hmac_keygen = false;
  std::string kp_hmac_keyfile;
  std::string kp_hmac_inputkey;
};

struct GenArgs {
  std::vector<std::string> positionals;  // CSV... OUT SIZE
  int version = 2;
  std::string outdir;
};

// nvs_partition_gen only takes file names whose extension contains ".bin".
Status check_bin(const std::string& path) {
  if (fs::path(path).extension().string().find(".bin") == std::string::npos)
    return fail("nvs.extension", "{}: only the .bin extension is allowed", path);
  return {};
}

fs::path expand_user(const std::string& dir) {
  if (dir.starts_with("~")) {
    if (const char* home = std::getenv("HOME")) return fs::path(home + dir.substr(1));
  }
  return dir.empty() ? fs::path(".") : fs::path(dir);
}

// nvs_partition_gen set_target_filepath: relative names go under --outdir, absolute ones
// ignore it; a name without extension gets ".bin" when `add_bin` (key files).
Result<fs::path> target_path(const fs::path& outdir, std::string name, bool add_bin) {
  if (add_bin && fs::path(name).extension().empty()) name += ".bin";
  ESPSEC_TRY(check_bin(name));
  const fs::path p(name);
  if (p.is_absolute()) return p;
  return outdir / p;
}

Status ensure_parent(const fs::path& file) {
  std::error_code ec;
  const fs::path dir = file.parent_path();
  if (!dir.empty() && !fs::is_directory(dir)) {
    fs::create_directories(dir, ec);
    if (ec) return fail("nvs.outdir", "{}: cannot create the directory: {}", dir.string(), ec.message());
  }
  return {};
}

std::string default_keyfile_name() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "keys-%m-%d_%H-%M.bin", &local);
  return buf;
}

struct KeyFile {
  fs::path path;
  SecretBytes content;
};

struct KeyPlan {
  nvs::Keys keys;
  std::vector<KeyFile> files;  // to create (0600, never overwriting) once everything else succeeded
};

Result<SecretBytes> read_hmac_key(const std::string& path) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes key, read_secret_file(path));
  if (key.size() != nvs::kHmacKeySize)
    return fail("nvs.hmac_key_size", "{}: an HMAC key file holds the {}-byte eFuse key, this one has {} bytes", path,
                nvs::kHmacKeySize, key.size());
  return key;
}

Status check_hmac_options(const KeyOptions& o) {
  if (!o.key_protect_hmac && (o.kp_hmac_keygen || !o.kp_hmac_inputkey.empty() || !o.kp_hmac_keyfile.empty()))
    return fail("nvs.hmac_options", "--kp_hmac_keygen, --kp_hmac_inputkey and --kp_hmac_keyfile need --key_protect_hmac");
  if (o.key_protect_hmac && o.kp_hmac_keygen == !o.kp_hmac_inputkey.empty())
    return fail("nvs.hmac_options", "--key_protect_hmac needs exactly one of --kp_hmac_keygen and --kp_hmac_inputkey");
  return {};
}

// generate-key, and encrypt --keygen: new keys (random, or derived from an HMAC key) and the
// files that will hold them under <outdir>/keys/.
Result<KeyPlan> plan_new_keys(const KeyOptions& o, const fs::path& outdir) {
  ESPSEC_TRY(check_hmac_options(o));
  const std::string keyfile = o.keyfile.empty() ? default_keyfile_name() : o.keyfile;
  const fs::path keys_dir = outdir / "keys";
  ESPSEC_ASSIGN_OR_RETURN(const fs::path keys_path, target_path(keys_dir, keyfile, true));
  crypto::SystemRng rng;
  std::vector<KeyFile> files;
  std::optional<nvs::Keys> keys;
  if (o.key_protect_hmac) {
    SecretBytes hmac_key;
    if (o.kp_hmac_keygen) {
      hmac_key = rng.secret(nvs::kHmacKeySize);
      const std::string name = o.kp_hmac_keyfile.empty() ? "hmac-" + fs::path(keyfile).filename().string()
                                                         : o.kp_hmac_keyfile;
      ESPSEC_ASSIGN_OR_RETURN(const fs::path hmac_path, target_path(keys_dir, name, true));
      files.push_back({hmac_path, hmac_key.clone()});
    } else {
      ESPSEC_ASSIGN_OR_RETURN(hmac_key, read_hmac_key(o.kp_hmac_inputkey));
    }
    ESPSEC_ASSIGN_OR_RETURN(auto derived, nvs::Keys::derive_from_hmac_key(hmac_key));
    keys.emplace(std::move(derived));
  } else {
    ESPSEC_ASSIGN_OR_RETURN(auto random, nvs::Keys::generate(rng));
    keys.emplace(std::move(random));
  }
  files.insert(files.begin(), KeyFile{keys_path, keys->partition_image()});
  for (const auto& f : files)
    if (fs::exists(f.path))
      return fail("io.exists", "{}: the key file already exists; key files are never overwritten", f.path.string());
  return KeyPlan{std::move(*keys), std::move(files)};
}

Status write_key_files(const std::vector<KeyFile>& files) {
  for (const auto& f : files) {
    ESPSEC_TRY(ensure_parent(f.path));
    ESPSEC_TRY(create_file_exclusive(f.path, f.content.expose(), FileMode::kSecret));
  }
  for (const auto& f : files) fmt::print("Created encryption keys: ===> {}\n", f.path.string());
  return {};
}

Result<nvs::Keys> read_keys_file(const std::string& path) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes image, read_secret_file(path));
  auto keys = nvs::Keys::parse_partition(image.expose());
  if (!keys) return std::unexpected(with_context(keys.error(), path));
  return keys;
}

// dump / verify: --keyfile (an nvs_keys image) or the HMAC key of the HMAC scheme.
Result<std::optional<nvs::Keys>> read_optional_keys(const std::string& keyfile, const std::string& hmac_key) {
  if (!keyfile.empty() && !hmac_key.empty())
    return fail("nvs.key_options", "give either --keyfile or --kp_hmac_inputkey, not both");
  if (!keyfile.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(auto keys, read_keys_file(keyfile));
    return std::optional<nvs::Keys>(std::move(keys));
  }
  if (!hmac_key.empty()) {
    ESPSEC_ASSIGN_OR_RETURN(SecretBytes key, read_hmac_key(hmac_key));
    ESPSEC_ASSIGN_OR_RETURN(auto keys, nvs::Keys::derive_from_hmac_key(key));
    return std::optional<nvs::Keys>(std::move(keys));
  }
  return std::optional<nvs::Keys>();
}

Status generate(const GenArgs& a, const std::optional<KeyOptions>& encryption) {
  if (a.positionals.size() < 3)
    return fail("nvs.arguments", "expected CSV... OUTPUT SIZE, got {} argument(s)", a.positionals.size());
  const std::vector<std::string> csvs(a.positionals.begin(), a.positionals.end() - 2);
  const std::string& output = a.positionals[a.positionals.size() - 2];
  ESPSEC_ASSIGN_OR_RETURN(const uint32_t size, nvs::parse_partition_size(a.positionals.back()));
  if (a.version != 1 && a.version != 2) return fail("nvs.version", "--version must be 1 or 2, got {}", a.version);
  ESPSEC_TRY(check_bin(output));
  const fs::path outdir = expand_user(a.outdir);
  ESPSEC_ASSIGN_OR_RETURN(const fs::path out_path, target_path(outdir, output, false));

  std::optional<KeyPlan> plan;
  if (encryption) {
    const KeyOptions& o = *encryption;
    if (o.keygen == !o.inputkey.empty())
      return fail("nvs.key_options", "{}", o.keygen ? "--keygen and --inputkey cannot be used together"
                                                    : "encrypt needs --keygen or --inputkey");
    if (o.keygen) {
      ESPSEC_ASSIGN_OR_RETURN(auto p, plan_new_keys(o, outdir));
      plan.emplace(std::move(p));
    } else {
      ESPSEC_TRY(check_bin(o.inputkey));
      if (!o.keyfile.empty()) fmt::print(stderr, "warning: --inputkey is given, --keyfile is ignored\n");
      if (o.key_protect_hmac || o.kp_hmac_keygen || !o.kp_hmac_inputkey.empty() || !o.kp_hmac_keyfile.empty())
        fmt::print(stderr, "warning: --inputkey is given, the --kp_hmac_* options are ignored\n");
      ESPSEC_ASSIGN_OR_RETURN(auto keys, read_keys_file(o.inputkey));
      plan.emplace(KeyPlan{std::move(keys), {}});
    }
  }

  std::vector<nvs::CsvInput> inputs;
  for (const auto& csv : csvs) {
    ESPSEC_ASSIGN_OR_RETURN(const Bytes text, read_file(csv));
    ESPSEC_ASSIGN_OR_RETURN(auto rows, nvs::parse_csv(as_chars(text), csv));
    inputs.push_back({csv, std::move(rows)});
  }
  // As nvs_partition_gen: file rows name paths relative to the working directory.
  const nvs::FileLoader load = [](const std::string& path) { return read_file(path); };
  fmt::print("Creating NVS binary with version: {}\n",
             a.version == 1 ? "V1 - Multipage Blob Support Disabled" : "V2 - Multipage Blob Support Enabled");
  ESPSEC_ASSIGN_OR_RETURN(auto part, nvs::generate_partition(inputs, nvs::GenerateOptions{size, a.version}, load,
                                                             plan ? &plan->keys : nullptr));
  if (part.read_only)
    fmt::print(stderr,
               "warning: partitions smaller than 0x3000 bytes are read-only; flag this one \"readonly\" in the "
               "partition table (only the used pages were written)\n");
  if (plan) ESPSEC_TRY(write_key_files(plan->files));
  ESPSEC_TRY(ensure_parent(out_path));
  ESPSEC_TRY(write_file_atomic(out_path, part.image));
  fmt::print("Created NVS binary: ===> {}\n", out_path.string());
  return {};
}

Status generate_key(const KeyOptions& o, const std::string& outdir) {
  ESPSEC_ASSIGN_OR_RETURN(auto plan, plan_new_keys(o, expand_user(outdir)));
  return write_key_files(plan.files);
}

Status decrypt(const std::string& input, const std::string& key, const std::string& output, const std::string& outdir) {
  for (const auto* p : {&input, &key, &output}) ESPSEC_TRY(check_bin(*p));
  ESPSEC_ASSIGN_OR_RETURN(const nvs::Keys keys, read_keys_file(key));
  ESPSEC_ASSIGN_OR_RETURN(const Bytes image, read_file(input));
  auto plain = nvs::decrypt_image(image, keys);
  if (!plain) return std::unexpected(with_context(plain.error(), input));
  ESPSEC_ASSIGN_OR_RETURN(const fs::path out_path, target_path(expand_user(outdir), output, false));
  ESPSEC_TRY(ensure_parent(out_path));
  ESPSEC_TRY(write_file_atomic(out_path, *plain));
  fmt::print("Created NVS decrypted binary: ===> {}\n", out_path.string());
  return {};
}

Result<nvs::Inspection> inspect(const std::string& partition, const std::string& keyfile, bool hmac_scheme,
                                const std::string& hmac) {
  if (hmac_scheme && hmac.empty()) return fail("nvs.key_options", "--key_protect_hmac needs --kp_hmac_inputkey");
  ESPSEC_ASSIGN_OR_RETURN(const auto keys, read_optional_keys(keyfile, hmac));
  ESPSEC_ASSIGN_OR_RETURN(const Bytes image, read_file(partition));
  auto in = nvs::inspect_partition(image, keys ? &*keys : nullptr);
  if (!in) return std::unexpected(with_context(in.error(), partition));
  return in;
}

void add_key_options(CLI::App* cmd, KeyOptions& o, bool with_keyfile) {
  if (with_keyfile) cmd->add_option(option_names("keyfile"), o.keyfile, "Output keys file name (.bin) under <outdir>/keys");
  cmd->add_flag(option_names("key-protect-hmac"), o.key_protect_hmac,
                "Use the HMAC-based scheme: derive the XTS keys from an HMAC_UP eFuse key");
  cmd->add_flag(option_names("kp-hmac-keygen"), o.kp_hmac_keygen, "Generate the 32-byte HMAC key");
  cmd->add_option(option_names("kp-hmac-keyfile"), o.kp_hmac_keyfile, "Output HMAC key file name (.bin)");
  cmd->add_option(option_names("kp-hmac-inputkey"), o.kp_hmac_inputkey, "File holding the 32-byte HMAC key");
}

void add_encrypt_options(CLI::App* cmd, KeyOptions& o) {
  cmd->add_flag(option_names("keygen"), o.keygen, "Generate new keys (written under <outdir>/keys)");
  cmd->add_option(option_names("inputkey"), o.inputkey, "Existing keys file (an nvs_keys image, .bin)");
  add_key_options(cmd, o, true);
}

void add_gen_options(CLI::App* cmd, GenArgs& a) {
  cmd->add_option("input_output_size", a.positionals, "CSV file(s), then the output .bin file, then SIZE")
      ->required()
      ->expected(3, -1);
  cmd->add_option("--version", a.version, "1: single-page blobs; 2: multi-page blobs (default)")
      ->check(CLI::IsMember({1, 2}));
  cmd->add_option("--outdir", a.outdir, "Directory for the files created (default: current directory)");
}

}  // namespace

void register_nvs(CLI::App& app, Runner& runner) {
  CLI::App* nvs = add_command(app, "nvs", "NVS partitions: generate, encrypt, decrypt, dump, verify (nvs_partition_gen)");
  nvs->require_subcommand(1);

  {
    // nvs_partition_gen's generate takes no key options; espsec's also accepts encrypt's and
    // then encrypts, a superset that leaves every tool command line valid.
    auto* cmd = add_command(*nvs, "generate", "Generate an NVS partition from CSV file(s)");
    auto a = std::make_shared<GenArgs>();
    auto o = std::make_shared<KeyOptions>();
    add_gen_options(cmd, *a);
    add_encrypt_options(cmd, *o);
    bind(cmd, runner, [=] {
      const bool encrypt = o->keygen || !o->inputkey.empty() || !o->keyfile.empty() || o->key_protect_hmac ||
                           o->kp_hmac_keygen || !o->kp_hmac_keyfile.empty() || !o->kp_hmac_inputkey.empty();
      return generate(*a, encrypt ? std::optional<KeyOptions>(*o) : std::nullopt);
    });
  }
  {
    auto* cmd = add_command(*nvs, "generate-key", "Generate NVS encryption keys (0600 files under <outdir>/keys)");
    auto o = std::make_shared<KeyOptions>();
    auto outdir = std::make_shared<std::string>();
    add_key_options(cmd, *o, true);
    cmd->add_option("--outdir", *outdir, "Directory for the files created (default: current directory)");
    bind(cmd, runner, [=] { return generate_key(*o, *outdir); });
  }
  {
    auto* cmd = add_command(*nvs, "encrypt", "Generate an XTS-encrypted NVS partition from CSV file(s)");
    auto a = std::make_shared<GenArgs>();
    auto o = std::make_shared<KeyOptions>();
    add_gen_options(cmd, *a);
    add_encrypt_options(cmd, *o);
    bind(cmd, runner, [=] { return generate(*a, *o); });
  }
  {
    auto* cmd = add_command(*nvs, "decrypt", "Decrypt an encrypted NVS partition");
    auto input = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    auto outdir = std::make_shared<std::string>();
    cmd->add_option("input", *input, "Encrypted partition (.bin)")->required();
    cmd->add_option("key", *key, "Keys file (.bin)")->required();
    cmd->add_option("output", *output, "Decrypted output (.bin)")->required();
    cmd->add_option("--outdir", *outdir, "Directory for the output (default: current directory)");
    bind(cmd, runner, [=] { return decrypt(*input, *key, *output, *outdir); });
  }
  {
    auto* cmd = add_command(*nvs, "dump", "Print every entry of a partition (namespace, key, type, value, CRCs)");
    auto partition = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>("text");
    auto keyfile = std::make_shared<std::string>();
    auto hmac = std::make_shared<std::string>();
    auto hmac_flag = std::make_shared<bool>(false);
    cmd->add_option("partition", *partition, "Partition image")->required();
    cmd->add_option(option_names("format", 'f'), *format, "text or json")->check(CLI::IsMember({"text", "json"}));
    cmd->add_option(option_names("keyfile"), *keyfile, "Keys file of an encrypted partition");
    cmd->add_flag(option_names("key-protect-hmac"), *hmac_flag, "Keys come from an HMAC key (--kp_hmac_inputkey)");
    cmd->add_option(option_names("kp-hmac-inputkey"), *hmac, "32-byte HMAC key of an encrypted partition");
    bind(cmd, runner, [=]() -> Status {
      ESPSEC_ASSIGN_OR_RETURN(const auto in, inspect(*partition, *keyfile, *hmac_flag, *hmac));
      const std::string name = fs::path(*partition).filename().string();
      fmt::print("{}", *format == "json" ? nvs::dump_json(in, name) : nvs::dump_text(in, name));
      return {};
    });
  }
  {
    auto* cmd = add_command(*nvs, "verify",
                            "Check a partition for damage; exit 0 when clean, 1 when corruption is found, 2 on error");
    auto partition = std::make_shared<std::string>();
    auto keyfile = std::make_shared<std::string>();
    auto hmac = std::make_shared<std::string>();
    auto hmac_flag = std::make_shared<bool>(false);
    cmd->add_option("partition", *partition, "Partition image")->required();
    cmd->add_option(option_names("keyfile"), *keyfile, "Keys file of an encrypted partition");
    cmd->add_flag(option_names("key-protect-hmac"), *hmac_flag, "Keys come from an HMAC key (--kp_hmac_inputkey)");
    cmd->add_option(option_names("kp-hmac-inputkey"), *hmac, "32-byte HMAC key of an encrypted partition");
    bind_exit(cmd, runner, [=]() -> Result<int> {
      ESPSEC_ASSIGN_OR_RETURN(const auto in, inspect(*partition, *keyfile, *hmac_flag, *hmac));
      size_t errors = 0;
      for (const auto& f : in.findings) errors += f.severity == nvs::Finding::Severity::kError;
      if (!in.findings.empty()) fmt::print("{}", nvs::findings_text(in));
      fmt::print("{}: {} pages checked, {} error(s), {} warning(s)\n", *partition, in.pages.size(), errors,
                 in.findings.size() - errors);
      return errors ? kExitCorrupt : kExitOk;
    });
  }
}

}  // namespace espsec::cli
