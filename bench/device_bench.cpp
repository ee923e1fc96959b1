// Virtual ESP32-C3 boot benchmarks, each beside the raw cost of the work it cannot avoid,
// measured in the same run (docs/PERFORMANCE.md, "Virtual device boot"):
//   device/boot_*        a later power-on of a provisioned device (Secure Boot v2 RSA-3072 and
//                        release flash encryption enabled by an earlier first boot): 8 MiB flash,
//                        2 MiB signed app in ota_0
//   device/first_boot_*  the first power-on of a 4 MiB device that enables both features: it
//                        encrypts bootloader, partition table, otadata, nvs_keys and an app that
//                        fills ota_0, resets, then boots the encrypted flash
//   floor/*              raw OpenSSL XTS-AES-128 over 128-byte units, SHA-256 and one RSA-3072
//                        PSS verify, and MemoryFlash moving the same sectors
// The floor of a later boot: XTS decrypt + SHA-256 of the bootloader and app bytes + one verify
// per image. The floor of a first boot: XTS encrypt + read/erase/program of every sector it
// encrypts, the signature checks ESP-IDF makes before the reset (each image when it is loaded
// and again before it is encrypted), then the floor of the boot after the reset; a strict
// floor counts one check per image before the reset.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench_report.hpp"
#include "chip/flash.hpp"
#include "crypto/hash.hpp"
#include "crypto/pkey.hpp"
#include "crypto/random.hpp"
#include "device/boot.hpp"
#include "device/device.hpp"
#include "device/layout.hpp"
#include "efuse/storage.hpp"
#include "format/image.hpp"
#include "format/sbv2.hpp"
#include "format/synthetic_image.hpp"
#include "signing/sign.hpp"

namespace espsec::bench {
namespace {

constexpr uint32_t kSteadyFlash = 8u << 20;
constexpr uint32_t kFirstBootFlash = 4u << 20;
constexpr uint64_t kSteadyApp = 2u << 20;
constexpr uint32_t kTableOffset = 0x8000;
constexpr uint32_t kOta0 = 0x20000;  // device/layout.hpp

template <class T>
T must(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(fmt::format("{}: {}: {}", what, r.error().code, r.error().message));
  return std::move(*r);
}

Bytes sign(ByteSpan image, const crypto::PrivateKey& key) {
  std::vector<crypto::PrivateKey> keys{key};
  signing::SignRequest request;
  request.keys = keys;
  return signing::assemble(image, must(signing::sign_image(image, request, [](std::string_view) {}), "sign"));
}

device::DeviceConfig secure_config(uint32_t flash_size) {
  device::DeviceConfig config;
  config.id = "bench-c3";
  config.flash_size = flash_size;
  config.security.secure_boot = true;
  config.security.flash_encryption = device::FlashEncryption::kRelease;
  config.security.rom_download_mode = device::RomDownloadMode::kSecure;
  return config;
}

// An image's bytes and the part its Secure Boot v2 signature covers.
struct SignedImage {
  Bytes bytes;
  uint64_t signed_length = 0;
};

SignedImage make_signed(Bytes plain, const crypto::PrivateKey& key) {
  SignedImage out{sign(plain, key), 0};
  out.signed_length = out.bytes.size() - sbv2::kSectorSize;
  return out;
}

// Flash erased, then the bootloader, the default partition table and the app in ota_0, in the
// clear, as a factory programmer writes them before the first boot.
Bytes factory_flash(uint32_t flash_size, const SignedImage& bootloader, const SignedImage& app) {
  Bytes flash(flash_size, 0xFF);
  const Bytes table = must(device::default_partition_table(flash_size), "partition table");
  std::copy(bootloader.bytes.begin(), bootloader.bytes.end(), flash.begin());
  std::copy(table.begin(), table.end(), flash.begin() + kTableOffset);
  std::copy(app.bytes.begin(), app.bytes.end(), flash.begin() + kOta0);
  return flash;
}

// A chip: flash and eFuses that outlive each power-on.
struct Chip {
  device::DeviceConfig config;
  chip::MemoryFlash flash;
  std::shared_ptr<efuse::MemoryStorage::Slot> efuses = std::make_shared<efuse::MemoryStorage::Slot>();
  crypto::DeterministicRng rng{7};

  Chip(uint32_t flash_size, Bytes contents) : config(secure_config(flash_size)), flash(std::move(contents)) {}

  // One power-on, checked: an app booted after `resets` software resets.
  void power_on(unsigned resets) {
    auto device = must(device::Device::attach(config, flash, std::make_unique<efuse::MemoryStorage>(efuses), rng),
                       "attach");
    const auto report = must(device::power_on(*device), "power_on");
    if (report.status != device::BootStatus::kBooted || report.resets != resets)
      throw std::runtime_error(fmt::format("boot: {} after {} resets: {} {}", device::to_string(report.status),
                                           report.resets, report.code, report.reason));
  }
};

struct World {
  crypto::PrivateKey rsa = must(crypto::PrivateKey::generate_rsa(3072), "RSA key");
  SignedImage bootloader = make_signed(must(image::make_bootloader_image({}), "bootloader"), rsa);
  SignedImage steady_app;
  SignedImage big_app;       // fills ota_0 of the 4 MiB layout
  std::unique_ptr<Chip> steady;  // provisioned by its first boot
  Bytes first_boot_factory;  // 4 MiB flash before its first boot
  uint64_t encrypted_bytes = 0;  // what the first boot encrypts (sectors it rewrote)

  World() {
    image::AppImageSpec spec;
    spec.project_name = "bench";
    spec.version = "1.0.0";
    spec.size = kSteadyApp;
    steady_app = make_signed(must(image::make_app_image(spec), "app"), rsa);
    // The largest image whose signature sector still fits the 4 MiB layout's ota_0.
    const auto partitions = must(device::default_partitions(kFirstBootFlash), "layout");
    spec.size = partitions.at(4).size - sbv2::kSectorSize;
    big_app = make_signed(must(image::make_app_image(spec), "big app"), rsa);

    steady = std::make_unique<Chip>(kSteadyFlash, factory_flash(kSteadyFlash, bootloader, steady_app));
    steady->power_on(1);

    first_boot_factory = factory_flash(kFirstBootFlash, bootloader, big_app);
    Chip once(kFirstBootFlash, first_boot_factory);
    once.power_on(1);
    for (size_t s = 0; s < kFirstBootFlash; s += chip::kSectorSize)
      if (!std::equal(first_boot_factory.begin() + s, first_boot_factory.begin() + s + chip::kSectorSize,
                      once.flash.contents().begin() + s))
        encrypted_bytes += chip::kSectorSize;
  }
};

World& world() {
  static World w;
  return w;
}

// ---- the boots -----------------------------------------------------------------------------

// The timed power-ons, apart from the setup's so that a profiler can select them:
//   valgrind --tool=callgrind --toggle-collect='*timed_power_on*' build/espsec_bench --benchmark_filter=device
[[gnu::noinline]] void timed_power_on(Chip& chip, unsigned resets) { chip.power_on(resets); }

void BM_device_boot_8MiB_app2MiB(benchmark::State& state) {
  Chip& chip = *world().steady;
  for (auto _ : state) timed_power_on(chip, 0);
}

void BM_device_first_boot_4MiB(benchmark::State& state) {
  const Bytes& factory = world().first_boot_factory;
  Chip chip(kFirstBootFlash, factory);
  for (auto _ : state) {
    state.PauseTiming();
    chip.flash.contents() = factory;
    chip.efuses = std::make_shared<efuse::MemoryStorage::Slot>();
    state.ResumeTiming();
    timed_power_on(chip, 1);
  }
  state.counters["encrypted_bytes"] = static_cast<double>(world().encrypted_bytes);
}

// ---- raw baselines ---------------------------------------------------------------------------

// XTS-AES-128 over [address, address + length) of `in` in 128-byte units, tweak = unit address.
void raw_xts(EVP_CIPHER_CTX* ctx, int encrypt, const uint8_t* in, uint8_t* out, uint32_t address, size_t length) {
  uint8_t tweak[16] = {};
  for (size_t off = 0; off < length; off += 128) {
    store_le32(tweak, address + static_cast<uint32_t>(off));
    int len = 0;
    EVP_CipherInit_ex2(ctx, nullptr, nullptr, tweak, encrypt, nullptr);
    EVP_CipherUpdate(ctx, out + off, &len, in + off, 128);
  }
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx xts_context(int encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  crypto::DeterministicRng rng(3);
  const SecretBytes key = rng.secret(32);
  EVP_CipherInit_ex2(ctx.get(), EVP_aes_128_xts(), key.expose().data(), nullptr, encrypt, nullptr);
  return ctx;
}

// Decrypting the bootloader and the app at their flash addresses (the cache's work in a boot).
void xts_decrypt_images(benchmark::State& state, const SignedImage& app) {
  const SignedImage& boot = world().bootloader;
  auto ctx = xts_context(0);
  Bytes out(std::max(boot.bytes.size(), app.bytes.size()));
  for (auto _ : state) {
    raw_xts(ctx.get(), 0, boot.bytes.data(), out.data(), 0, boot.bytes.size());
    raw_xts(ctx.get(), 0, app.bytes.data(), out.data(), kOta0, app.bytes.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (boot.bytes.size() + app.bytes.size())));
}

// SHA-256 of both images' signed regions (the Secure Boot v2 image digests).
void sha256_images(benchmark::State& state, const SignedImage& app) {
  const SignedImage& boot = world().bootloader;
  uint8_t md[32];
  unsigned int len = 0;
  for (auto _ : state) {
    EVP_Digest(boot.bytes.data(), boot.signed_length, md, &len, EVP_sha256(), nullptr);
    EVP_Digest(app.bytes.data(), app.signed_length, md, &len, EVP_sha256(), nullptr);
    benchmark::DoNotOptimize(md);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (boot.signed_length + app.signed_length)));
}

void BM_floor_xts128_decrypt_boot_app2MiB(benchmark::State& s) { xts_decrypt_images(s, world().steady_app); }
void BM_floor_sha256_boot_app2MiB(benchmark::State& s) { sha256_images(s, world().steady_app); }
void BM_floor_xts128_decrypt_boot_app_4MiB_layout(benchmark::State& s) { xts_decrypt_images(s, world().big_app); }
void BM_floor_sha256_boot_app_4MiB_layout(benchmark::State& s) { sha256_images(s, world().big_app); }

void BM_floor_rsa3072_pss_verify(benchmark::State& state) {
  const crypto::PrivateKey& key = world().rsa;
  const crypto::PublicKey pub = key.public_key();
  const auto digest = crypto::sha256(world().steady_app.bytes);
  const Bytes sig = must(crypto::sign_digest(key, crypto::SignatureScheme::kRsaPssSha256, digest), "sign");
  for (auto _ : state) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pub.native(), nullptr);
    EVP_PKEY_verify_init(ctx);
    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32);
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    if (EVP_PKEY_verify(ctx, sig.data(), sig.size(), digest.data(), digest.size()) != 1) state.SkipWithError("verify");
    EVP_PKEY_CTX_free(ctx);
  }
}

// XTS-AES-128 encryption of as many bytes as the first boot encrypts.
void BM_floor_xts128_encrypt_first_boot(benchmark::State& state) {
  const uint64_t n = world().encrypted_bytes;
  const Bytes& in = world().first_boot_factory;
  auto ctx = xts_context(1);
  Bytes out(n);
  for (auto _ : state) {
    raw_xts(ctx.get(), 1, in.data(), out.data(), 0, n);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// The flash model moving the same sectors: read, erase, program each 4 KiB sector.
void BM_floor_memflash_rewrite_first_boot(benchmark::State& state) {
  const uint64_t n = world().encrypted_bytes;
  chip::MemoryFlash flash(world().first_boot_factory);
  Bytes sector(chip::kSectorSize);
  for (auto _ : state) {
    for (uint32_t addr = 0; addr < n; addr += chip::kSectorSize) {
      if (!flash.read(addr, sector) || !flash.erase_sector(addr) || !flash.program(addr, sector))
        state.SkipWithError("flash");
    }
    benchmark::DoNotOptimize(flash.contents().data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}

// ---- the ratio table -------------------------------------------------------------------------

void print_ratios(const Timings& t) {
  auto sum = [&](std::initializer_list<std::pair<const char*, double>> parts, double& out) {
    out = 0;
    for (const auto& [name, times] : parts) {
      if (!t.count(name)) return false;
      out += times * t.at(name);
    }
    return true;
  };
  auto ms = [](double s) { return s * 1e3; };
  bool header = false;
  auto row = [&](const char* what, const char* bench, double floor, double target) {
    if (!t.count(bench)) return;
    if (!header) fmt::print("\n== virtual device boot: time relative to the raw work it cannot avoid (same run)\n");
    header = true;
    const double ratio = t.at(bench) / floor;
    fmt::print("  {:<46} espsec {:8.2f} ms   floor {:8.2f} ms   ratio {:.2f}  {}\n", what, ms(t.at(bench)), ms(floor),
               ratio, ratio <= target ? "ok" : "ABOVE TARGET");
  };
  double steady = 0;
  if (sum({{"BM_floor_xts128_decrypt_boot_app2MiB", 1}, {"BM_floor_sha256_boot_app2MiB", 1},
           {"BM_floor_rsa3072_pss_verify", 2}},
          steady))
    row("boot, SB v2 + release FE on, 2 MiB app (8 MiB)", "BM_device_boot_8MiB_app2MiB", steady, 1.5);
  // ESP-IDF verifies each image again before encrypting it (flash_encrypt.c encrypt_bootloader and
  // encrypt_partition call esp_image_verify), as the emulation does: three checks per image in
  // all. The strict floor counts one check per image per pass.
  const std::pair<const char*, double> encryption[] = {{"BM_floor_xts128_encrypt_first_boot", 1},
                                                        {"BM_floor_memflash_rewrite_first_boot", 1},
                                                        {"BM_floor_xts128_decrypt_boot_app_4MiB_layout", 1}};
  double first = 0;
  if (sum({encryption[0], encryption[1], encryption[2], {"BM_floor_sha256_boot_app_4MiB_layout", 3},
           {"BM_floor_rsa3072_pss_verify", 6}},
          first))
    row("first boot, SB v2 + release FE (4 MiB)", "BM_device_first_boot_4MiB", first, 1.5);
  if (sum({encryption[0], encryption[1], encryption[2], {"BM_floor_sha256_boot_app_4MiB_layout", 2},
           {"BM_floor_rsa3072_pss_verify", 4}},
          first))
    row("  same, strict floor (one check per pass)", "BM_device_first_boot_4MiB", first, 1.5);
  if (t.count("BM_device_first_boot_4MiB"))
    fmt::print("  (the first boot encrypted {} KiB in place, then reset and booted the encrypted flash)\n",
               world().encrypted_bytes / 1024);
}

[[maybe_unused]] const bool kSummaryRegistered = add_summary(print_ratios);

}  // namespace
}  // namespace espsec::bench

using namespace espsec::bench;
BENCHMARK(BM_device_boot_8MiB_app2MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_xts128_decrypt_boot_app2MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_sha256_boot_app2MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_rsa3072_pss_verify)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_device_first_boot_4MiB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_xts128_encrypt_first_boot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_memflash_rewrite_first_boot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_xts128_decrypt_boot_app_4MiB_layout)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_floor_sha256_boot_app_4MiB_layout)->Unit(benchmark::kMillisecond);
