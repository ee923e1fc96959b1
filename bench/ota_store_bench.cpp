// The update server's release store doing the work of one device check-in (the device row
// upserted and durably committed, then the channel's latest release read), one check-in after
// another as the store's single connection and lock make the server's workers do. Its rate is
// what the HTTPS check-in rate cannot exceed; scripts/bench_ota.sh runs it beside the load test.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "crypto/hash.hpp"
#include "ota/store.hpp"

namespace espsec::bench {
namespace {

namespace fs = std::filesystem;

struct StoreDir {
  fs::path dir;
  std::unique_ptr<ota::Store> store;

  StoreDir() {
    const char* base = std::getenv("ESPSEC_BENCH_DIR");
    dir = fs::path(base ? base : fs::temp_directory_path().string()) / fmt::format("espsec-ota-store-{}", ::getpid());
    auto opened = ota::Store::open(dir);
    if (!opened) throw std::runtime_error(opened.error().message);
    store = std::move(*opened);
    const Bytes image(4096, 0xA5);
    ota::Release release;
    release.product = "bench";
    release.channel = "stable";
    release.version = "2.0.0";
    release.project = "bench";
    release.size = release.image_size = image.size();
    release.sha256 = release.image_sha256 = to_hex(crypto::sha256(image));
    if (!store->put_product({"bench", "esp32c3", false, {}}) || !store->publish(release, image))
      throw std::runtime_error("cannot set up the release store");
  }
  ~StoreDir() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void BM_ota_store_checkin(benchmark::State& state) {
  StoreDir s;
  ota::DeviceRecord device{"", "bench", "stable", "1.0.0", 0, 1795000000, "", ""};
  uint64_t n = 0;
  for (auto _ : state) {
    device.id = fmt::format("bench-{}", n++ % 10000);  // a fleet of 10,000 devices, as the load test
    if (!s.store->check_in(device)) state.SkipWithError("check_in");
    auto latest = s.store->latest("bench", "stable");
    if (!latest || !*latest) state.SkipWithError("latest");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace
}  // namespace espsec::bench

using espsec::bench::BM_ota_store_checkin;
BENCHMARK(BM_ota_store_checkin)->Unit(benchmark::kMicrosecond)->UseRealTime();
