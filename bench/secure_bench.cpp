// `espsec secure` benchmarks, each beside its same-run baseline:
//   lib/*  the library path            vs raw/*   OpenSSL alone doing the same cryptography
//   cli/*  the whole espsec command    vs floor = proc/true (process start) + proc/cp_* (reading
//                                        and writing the same bytes) + the raw cryptography
//   ref/*  espsecure, when ESPSEC_BENCH_ESPSECURE names a command that runs it (optional)
// After the runs a table prints every figure as a ratio to its baseline (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_report.hpp"
#include "core/file_io.hpp"
#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"
#include "flashcrypt/xts.hpp"
#include "format/sbv2.hpp"
#include "signing/sign.hpp"
#include "signing/verify.hpp"

extern char** environ;

namespace {

using namespace espsec;
namespace fs = std::filesystem;

constexpr size_t kFlashBytes = 16u << 20;  // encrypt-flash-data input
constexpr size_t kImageBytes = 4u << 20;   // sign-data / verify-signature input
constexpr uint32_t kAddress = 0x10000;

// Inputs, keys and files shared by every benchmark, made once.
struct World {
  fs::path dir;
  Bytes flash_data;
  Bytes image;
  SecretBytes xts128_key;  // 32-byte key file: XTS-AES-128
  SecretBytes xts256_key;  // 64-byte key file: XTS-AES-256
  crypto::PrivateKey rsa;
  crypto::PrivateKey p256;
  Bytes signed_rsa;
  Bytes signed_p256;

  World()
      : rsa(crypto::PrivateKey::generate_rsa(3072).value()),
        p256(crypto::PrivateKey::generate_ec(crypto::Curve::kP256).value()) {
    crypto::DeterministicRng rng(2024);
    flash_data = rng.bytes(kFlashBytes);
    image = rng.bytes(kImageBytes);
    xts128_key = rng.secret(32);
    xts256_key = rng.secret(64);
    const char* base = std::getenv("ESPSEC_BENCH_DIR");
    dir = fs::path(base ? base : fs::temp_directory_path().string()) / fmt::format("espsec-bench-{}", ::getpid());
    fs::create_directories(dir);
    signed_rsa = sign(rsa);
    signed_p256 = sign(p256);
    put("flash.bin", flash_data);
    put("image.bin", image);
    put("xts128.key", xts128_key.expose());
    put("xts256.key", xts256_key.expose());
    put("rsa.pem", rsa.to_pem_traditional().expose());
    put("p256.pem", p256.to_pem_traditional().expose());
    put("rsa.pub.pem", rsa.public_key().to_pem());
    put("p256.pub.pem", p256.public_key().to_pem());
    put("signed_rsa.bin", signed_rsa);
    put("signed_p256.bin", signed_p256);
  }
  ~World() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  Bytes sign(const crypto::PrivateKey& key) const {
    std::vector<crypto::PrivateKey> keys{key};
    signing::SignRequest request;
    request.keys = keys;
    return signing::assemble(image, signing::sign_image(image, request, [](std::string_view) {}).value());
  }
  void put(const std::string& name, ByteSpan data) const {
    if (!write_file_atomic(dir / name, data)) std::abort();
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
};

World& world() {
  static World w;
  return w;
}

// ---- raw OpenSSL baselines ----

void raw_xts(benchmark::State& state, const SecretBytes& key) {
  const Bytes& in = world().flash_data;
  Bytes out(in.size());
  const EVP_CIPHER* cipher = key.size() == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts();
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  EVP_CipherInit_ex2(ctx.get(), cipher, key.expose().data(), nullptr, 1, nullptr);
  uint8_t tweak[16] = {};
  for (auto _ : state) {
    for (size_t off = 0; off < in.size(); off += 128) {
      store_le32(tweak, kAddress + static_cast<uint32_t>(off));
      int len = 0;
      EVP_CipherInit_ex2(ctx.get(), nullptr, nullptr, tweak, -1, nullptr);
      EVP_CipherUpdate(ctx.get(), out.data() + off, &len, in.data() + off, 128);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
void BM_raw_xts128_16MiB(benchmark::State& s) { raw_xts(s, world().xts128_key); }
void BM_raw_xts256_16MiB(benchmark::State& s) { raw_xts(s, world().xts256_key); }

void BM_raw_sha256_4MiB(benchmark::State& state) {
  uint8_t md[32];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_Digest(world().image.data(), world().image.size(), md, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(md);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * world().image.size()));
}

void setup_pss(EVP_PKEY_CTX* ctx, bool rsa) {
  EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
  if (rsa) {
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32);
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
  }
}

void raw_sign(benchmark::State& state, const crypto::PrivateKey& key) {
  const bool rsa = key.kind() == crypto::KeyKind::kRsa;
  const auto digest = crypto::sha256(world().image);
  uint8_t sig[512];
  for (auto _ : state) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.native(), nullptr);
    EVP_PKEY_sign_init(ctx);
    setup_pss(ctx, rsa);
    size_t len = sizeof sig;
    EVP_PKEY_sign(ctx, sig, &len, digest.data(), digest.size());
    EVP_PKEY_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
}
void BM_raw_rsa3072_sign(benchmark::State& s) { raw_sign(s, world().rsa); }
void BM_raw_p256_sign(benchmark::State& s) { raw_sign(s, world().p256); }

void raw_verify(benchmark::State& state, const crypto::PrivateKey& key) {
  const bool rsa = key.kind() == crypto::KeyKind::kRsa;
  const crypto::PublicKey pub = key.public_key();
  const auto digest = crypto::sha256(world().image);
  const Bytes sig = crypto::sign_digest(key, rsa ? crypto::SignatureScheme::kRsaPssSha256
                                                 : crypto::SignatureScheme::kEcdsaSha256,
                                        digest)
                        .value();
  for (auto _ : state) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pub.native(), nullptr);
    EVP_PKEY_verify_init(ctx);
    setup_pss(ctx, rsa);
    if (EVP_PKEY_verify(ctx, sig.data(), sig.size(), digest.data(), digest.size()) != 1) state.SkipWithError("verify");
    EVP_PKEY_CTX_free(ctx);
  }
}
void BM_raw_rsa3072_verify(benchmark::State& s) { raw_verify(s, world().rsa); }
void BM_raw_p256_verify(benchmark::State& s) { raw_verify(s, world().p256); }

// ---- the library ----

void lib_xts(benchmark::State& state, const SecretBytes& key) {
  auto xts = flashcrypt::FlashXts::from_key_file_bytes(key).value();
  const Bytes& in = world().flash_data;
  Bytes out(in.size());
  for (auto _ : state) {
    if (!xts.encrypt(kAddress, in, out)) state.SkipWithError("encrypt");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
}
void BM_lib_xts128_16MiB(benchmark::State& s) { lib_xts(s, world().xts128_key); }
void BM_lib_xts256_16MiB(benchmark::State& s) { lib_xts(s, world().xts256_key); }

void lib_sign(benchmark::State& state, const crypto::PrivateKey& key) {
  std::vector<crypto::PrivateKey> keys{key};
  signing::SignRequest request;
  request.keys = keys;
  for (auto _ : state) {
    auto signed_image = signing::sign_image(world().image, request, [](std::string_view) {});
    if (!signed_image) state.SkipWithError("sign");
    benchmark::DoNotOptimize(signed_image->sector.data());
  }
}
void BM_lib_sign_rsa3072_4MiB(benchmark::State& s) { lib_sign(s, world().rsa); }
void BM_lib_sign_p256_4MiB(benchmark::State& s) { lib_sign(s, world().p256); }

void lib_verify(benchmark::State& state, const crypto::PrivateKey& key, const Bytes& signed_image) {
  const crypto::PublicKey pub = key.public_key();
  for (auto _ : state) {
    if (!signing::verify_image(signed_image, pub, [](std::string_view) {})) state.SkipWithError("verify");
  }
}
void BM_lib_verify_rsa3072_4MiB(benchmark::State& s) { lib_verify(s, world().rsa, world().signed_rsa); }
void BM_lib_verify_p256_4MiB(benchmark::State& s) { lib_verify(s, world().p256, world().signed_p256); }

// ---- whole commands ----

// Runs argv (PATH lookup), output discarded; false unless it exits 0.
bool spawn(const std::vector<std::string>& args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> store = args;
  std::vector<char*> argv;
  for (auto& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void run_process(benchmark::State& state, const std::vector<std::string>& args) {
  for (auto _ : state)
    if (!spawn(args)) state.SkipWithError(fmt::format("{} failed", args[0]).c_str());
}

std::vector<std::string> espsec(std::vector<std::string> args) {
  args.insert(args.begin(), {ESPSEC_CLI_PATH, "secure"});
  return args;
}

void BM_proc_true(benchmark::State& s) { run_process(s, {"true"}); }
void BM_proc_cp_16MiB(benchmark::State& s) { run_process(s, {"cp", world().path("flash.bin"), world().path("cp.bin")}); }
void BM_proc_cp_4MiB(benchmark::State& s) { run_process(s, {"cp", world().path("image.bin"), world().path("cp.bin")}); }
void BM_proc_read_4MiB(benchmark::State& s) { run_process(s, {"cp", world().path("signed_rsa.bin"), "/dev/null"}); }

std::vector<std::string> encrypt_args(const char* key) {
  return {"encrypt-flash-data", "--aes-xts", "--keyfile", world().path(key), "--address", "0x10000", "--output",
          world().path("enc.bin"), world().path("flash.bin")};
}
std::vector<std::string> sign_args(const char* key) {
  return {"sign-data", "--version", "2", "--keyfile", world().path(key), "--output", world().path("signed.bin"),
          world().path("image.bin")};
}
std::vector<std::string> verify_args(const char* key, const char* image) {
  return {"verify-signature", "--version", "2", "--keyfile", world().path(key), world().path(image)};
}

void BM_cli_encrypt_xts128_16MiB(benchmark::State& s) { run_process(s, espsec(encrypt_args("xts128.key"))); }
void BM_cli_encrypt_xts256_16MiB(benchmark::State& s) { run_process(s, espsec(encrypt_args("xts256.key"))); }
void BM_cli_sign_rsa3072_4MiB(benchmark::State& s) { run_process(s, espsec(sign_args("rsa.pem"))); }
void BM_cli_sign_p256_4MiB(benchmark::State& s) { run_process(s, espsec(sign_args("p256.pem"))); }
void BM_cli_verify_rsa3072_4MiB(benchmark::State& s) {
  run_process(s, espsec(verify_args("rsa.pub.pem", "signed_rsa.bin")));
}
void BM_cli_verify_p256_4MiB(benchmark::State& s) {
  run_process(s, espsec(verify_args("p256.pub.pem", "signed_p256.bin")));
}

// espsecure (ESPSEC_BENCH_ESPSECURE = a command, split on spaces, that runs it).
std::vector<std::string> espsecure(std::vector<std::string> args) {
  std::vector<std::string> out;
  std::istringstream words(std::getenv("ESPSEC_BENCH_ESPSECURE"));
  for (std::string w; words >> w;) out.push_back(w);
  out.insert(out.end(), args.begin(), args.end());
  return out;
}
void BM_ref_encrypt_xts128_16MiB(benchmark::State& s) { run_process(s, espsecure(encrypt_args("xts128.key"))); }
void BM_ref_encrypt_xts256_16MiB(benchmark::State& s) { run_process(s, espsecure(encrypt_args("xts256.key"))); }
void BM_ref_sign_rsa3072_4MiB(benchmark::State& s) { run_process(s, espsecure(sign_args("rsa.pem"))); }
void BM_ref_sign_p256_4MiB(benchmark::State& s) { run_process(s, espsecure(sign_args("p256.pem"))); }
void BM_ref_verify_rsa3072_4MiB(benchmark::State& s) {
  run_process(s, espsecure(verify_args("rsa.pub.pem", "signed_rsa.bin")));
}
void BM_ref_verify_p256_4MiB(benchmark::State& s) {
  run_process(s, espsecure(verify_args("p256.pub.pem", "signed_p256.bin")));
}

// ---- the ratio table ----

void print_ratios(const bench::Timings& t) {
  auto has = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (!t.count(n)) return false;
    return true;
  };
  auto ms = [](double s) { return s * 1e3; };
  fmt::print("\n== espsec secure: ratios to same-run baselines\n");
  fmt::print("\nCrypto-bound library paths: rate relative to raw OpenSSL (target >= 0.80)\n");
  struct Lib { const char* what; const char* lib; std::vector<const char*> raw; } libs[] = {
      {"XTS-AES-128 encrypt 16 MiB", "BM_lib_xts128_16MiB", {"BM_raw_xts128_16MiB"}},
      {"XTS-AES-256 encrypt 16 MiB", "BM_lib_xts256_16MiB", {"BM_raw_xts256_16MiB"}},
      {"sign 4 MiB, RSA-3072", "BM_lib_sign_rsa3072_4MiB", {"BM_raw_sha256_4MiB", "BM_raw_rsa3072_sign"}},
      {"sign 4 MiB, ECDSA P-256", "BM_lib_sign_p256_4MiB", {"BM_raw_sha256_4MiB", "BM_raw_p256_sign"}},
      {"verify 4 MiB, RSA-3072", "BM_lib_verify_rsa3072_4MiB", {"BM_raw_sha256_4MiB", "BM_raw_rsa3072_verify"}},
      {"verify 4 MiB, ECDSA P-256", "BM_lib_verify_p256_4MiB", {"BM_raw_sha256_4MiB", "BM_raw_p256_verify"}},
  };
  for (const auto& l : libs) {
    if (!t.count(l.lib)) continue;
    double raw = 0;
    bool complete = true;
    for (const char* r : l.raw) {
      if (!t.count(r)) complete = false;
      else raw += t.at(r);
    }
    if (!complete) continue;
    const double ratio = raw / t.at(l.lib);
    fmt::print("  {:<28} espsec {:8.2f} ms   raw OpenSSL {:8.2f} ms   rate ratio {:.2f}  {}\n", l.what, ms(t.at(l.lib)),
               ms(raw), ratio, ratio >= 0.80 ? "ok" : "BELOW TARGET");
  }
  fmt::print("\nWhole commands: time relative to the practical floor = process start + cp of the same bytes +\n"
             "raw OpenSSL crypto (target <= 1.50)\n");
  struct Cli { const char* what; const char* cli; const char* io; std::vector<const char*> crypto; const char* ref; } clis[] = {
      {"encrypt-flash-data XTS-128 16 MiB", "BM_cli_encrypt_xts128_16MiB", "BM_proc_cp_16MiB", {"BM_raw_xts128_16MiB"},
       "BM_ref_encrypt_xts128_16MiB"},
      {"encrypt-flash-data XTS-256 16 MiB", "BM_cli_encrypt_xts256_16MiB", "BM_proc_cp_16MiB", {"BM_raw_xts256_16MiB"},
       "BM_ref_encrypt_xts256_16MiB"},
      {"sign-data RSA-3072 4 MiB", "BM_cli_sign_rsa3072_4MiB", "BM_proc_cp_4MiB",
       {"BM_raw_sha256_4MiB", "BM_raw_rsa3072_sign"}, "BM_ref_sign_rsa3072_4MiB"},
      {"sign-data ECDSA P-256 4 MiB", "BM_cli_sign_p256_4MiB", "BM_proc_cp_4MiB", {"BM_raw_sha256_4MiB", "BM_raw_p256_sign"},
       "BM_ref_sign_p256_4MiB"},
      {"verify-signature RSA-3072 4 MiB", "BM_cli_verify_rsa3072_4MiB", "BM_proc_read_4MiB",
       {"BM_raw_sha256_4MiB", "BM_raw_rsa3072_verify"}, "BM_ref_verify_rsa3072_4MiB"},
      {"verify-signature P-256 4 MiB", "BM_cli_verify_p256_4MiB", "BM_proc_read_4MiB",
       {"BM_raw_sha256_4MiB", "BM_raw_p256_verify"}, "BM_ref_verify_p256_4MiB"},
  };
  for (const auto& c : clis) {
    if (!has({c.cli, c.io, "BM_proc_true"})) continue;
    double floor = t.at("BM_proc_true") + t.at(c.io);
    bool complete = true;
    for (const char* r : c.crypto) {
      if (!t.count(r)) complete = false;
      else floor += t.at(r);
    }
    if (!complete) continue;
    const double ratio = t.at(c.cli) / floor;
    fmt::print("  {:<34} espsec {:8.2f} ms   floor {:8.2f} ms   ratio {:.2f}  {}\n", c.what, ms(t.at(c.cli)), ms(floor),
               ratio, ratio <= 1.50 ? "ok" : "ABOVE TARGET");
  }
  bool any_ref = false;
  for (const auto& c : clis) {
    if (!has({c.cli, c.ref})) continue;
    if (!any_ref) fmt::print("\nespsecure v5.1 (measured in this run): end-to-end speedup of espsec\n");
    any_ref = true;
    fmt::print("  {:<34} espsecure {:9.2f} ms   espsec {:8.2f} ms   speedup {:.1f}x\n", c.what, ms(t.at(c.ref)),
               ms(t.at(c.cli)), t.at(c.ref) / t.at(c.cli));
  }
  if (!any_ref) fmt::print("\n(espsecure not measured: set ESPSEC_BENCH_ESPSECURE to a command that runs it)\n");
}

// espsecure is measured only when ESPSEC_BENCH_ESPSECURE says how to run it.
[[maybe_unused]] const bool kRefRegistered = [] {
  if (!std::getenv("ESPSEC_BENCH_ESPSECURE")) return false;
  for (auto [name, fn] : {std::pair{"BM_ref_encrypt_xts128_16MiB", &BM_ref_encrypt_xts128_16MiB},
                          std::pair{"BM_ref_encrypt_xts256_16MiB", &BM_ref_encrypt_xts256_16MiB},
                          std::pair{"BM_ref_sign_rsa3072_4MiB", &BM_ref_sign_rsa3072_4MiB},
                          std::pair{"BM_ref_sign_p256_4MiB", &BM_ref_sign_p256_4MiB},
                          std::pair{"BM_ref_verify_rsa3072_4MiB", &BM_ref_verify_rsa3072_4MiB},
                          std::pair{"BM_ref_verify_p256_4MiB", &BM_ref_verify_p256_4MiB}})
    benchmark::RegisterBenchmark(name, fn)->Unit(benchmark::kMillisecond)->UseRealTime();
  return true;
}();
[[maybe_unused]] const bool kSummaryRegistered = bench::add_summary(print_ratios);

}  // namespace

BENCHMARK(BM_raw_xts128_16MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_xts256_16MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_xts128_16MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_xts256_16MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_sha256_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_rsa3072_sign)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_p256_sign)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_rsa3072_verify)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_raw_p256_verify)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_sign_rsa3072_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_sign_p256_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_verify_rsa3072_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lib_verify_p256_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_proc_true)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_proc_cp_16MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_proc_cp_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_proc_read_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_encrypt_xts128_16MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_encrypt_xts256_16MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_sign_rsa3072_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_sign_p256_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_verify_rsa3072_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_cli_verify_p256_4MiB)->Unit(benchmark::kMillisecond)->UseRealTime();

