// NVS benchmarks, each beside a baseline measured in the same run (docs/PERFORMANCE.md, "NVS"):
//  - generating an encrypted partition from a 10,000-row CSV, as a library call and as the
//    whole `espsec nvs encrypt` command; baselines: memcpy and raw XTS over the same entries,
//    and starting the espsec process;
//  - engine set/get throughput with and without encryption over MemoryFlash; baselines: the
//    flash model's cost of the same program calls, and raw XTS of one entry;
//  - the engine's RAM per stored item (counter index_bytes_per_item).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "chip/flash.hpp"
#include "core/file_io.hpp"
#include "crypto/random.hpp"
#include "nvs/cipher.hpp"
#include "nvs/csv.hpp"
#include "nvs/partition_gen.hpp"
#include "nvs/storage.hpp"

extern char** environ;

namespace espsec::nvs {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kBigSize = 0x100000;  // 256 pages for the 10,000 rows

// 10,000 data rows over 10 namespaces: 70% integers, 20% strings of ~30 bytes, 10% 64-byte blobs.
const std::string& big_csv() {
  static const std::string csv = [] {
    std::mt19937 rng(42);
    std::string out = "key,type,encoding,value\n";
    int rows = 0;
    for (int ns = 0; rows < 10000; ++ns) {
      out += fmt::format("ns{},namespace,,\n", ns);
      for (int i = 0; i < 1000 && rows < 10000; ++i, ++rows) {
        const auto kind = rng() % 10;
        if (kind < 7) {
          out += fmt::format("k{},data,u32,{}\n", i, rng());
        } else if (kind < 9) {
          out += fmt::format("k{},data,string,value-{:024x}\n", i, rng());
        } else {
          std::string hex;
          for (int b = 0; b < 64; ++b) hex += fmt::format("{:02x}", rng() & 0xFF);
          out += fmt::format("k{},data,hex2bin,{}\n", i, hex);
        }
      }
    }
    return out;
  }();
  return csv;
}

const Keys& bench_keys() {
  static const Keys keys = [] {
    crypto::DeterministicRng rng(1);
    return std::move(*Keys::generate(rng));
  }();
  return keys;
}

GeneratedPartition generate_big(const Keys* keys) {
  auto rows = parse_csv(big_csv(), "big.csv");
  const CsvInput input{"big.csv", std::move(*rows)};
  auto out = generate_partition(std::span(&input, 1), GenerateOptions{kBigSize, 2},
                                [](const std::string& p) { return read_file(p); }, keys);
  if (!out) throw std::runtime_error(out.error().message);
  return std::move(*out);
}

size_t written_entries(ByteSpan image) {
  size_t n = 0;
  for (size_t page = 0; page < image.size(); page += kPageSize) {
    const auto t = EntryStateTable::parse(image.subspan(page + kBitmapOffset, 32));
    for (size_t e = 0; e < kEntryCount; ++e) n += t.get(e) != EntryState::kEmpty;
  }
  return n;
}

void BM_GenerateEncrypted_Library(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(generate_big(&bench_keys()));
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_GenerateEncrypted_Library)->Unit(benchmark::kMillisecond);

void BM_GeneratePlain_Library(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(generate_big(nullptr));
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_GeneratePlain_Library)->Unit(benchmark::kMillisecond);

// Baseline: XTS alone over exactly the entries the generator encrypts.
void BM_Baseline_XtsOverWrittenEntries(benchmark::State& state) {
  const Bytes image = generate_big(nullptr).image;
  const size_t entries = written_entries(image);
  auto cipher = EntryCipher::create(bench_keys());
  Bytes buf(entries * kEntrySize, 0x5A);
  for (auto _ : state) {
    // The generator encrypts one entry per call, as here.
    for (size_t i = 0; i < entries; ++i) {
      MutableByteSpan e(buf.data() + i * kEntrySize, kEntrySize);
      (void)cipher->encrypt(static_cast<uint32_t>(kEntriesOffset + i * kEntrySize), e, e);
    }
    benchmark::ClobberMemory();
  }
  state.counters["entries"] = static_cast<double>(entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(buf.size()));
}
BENCHMARK(BM_Baseline_XtsOverWrittenEntries)->Unit(benchmark::kMillisecond);

// Baseline: copying the finished image once.
void BM_Baseline_MemcpyImage(benchmark::State& state) {
  const Bytes image = generate_big(nullptr).image;
  Bytes dst(image.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), image.data(), image.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(image.size()));
}
BENCHMARK(BM_Baseline_MemcpyImage)->Unit(benchmark::kMicrosecond);

int spawn(const std::vector<std::string>& args, const fs::path& cwd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid;
  int status = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) waitpid(pid, &status, 0);
  posix_spawn_file_actions_destroy(&actions);
  return status;
}

struct CommandDir {
  fs::path dir = fs::temp_directory_path() / fmt::format("espsec-nvs-bench-{}", ::getpid());
  CommandDir() {
    fs::create_directories(dir);
    std::ofstream(dir / "big.csv") << big_csv();
    const SecretBytes image = bench_keys().partition_image();
    std::ofstream(dir / "keys.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(image.expose().data()), static_cast<std::streamsize>(image.size()));
  }
  ~CommandDir() { fs::remove_all(dir); }
};

void BM_GenerateEncrypted_Command(benchmark::State& state) {
  CommandDir d;
  for (auto _ : state) {
    if (spawn({ESPSEC_CLI_PATH, "nvs", "encrypt", "big.csv", "out.bin", "0x100000", "--inputkey", "keys.bin"}, d.dir) != 0)
      state.SkipWithError("espsec nvs encrypt failed");
  }
  state.SetItemsProcessed(state.iterations() * 10000);
}
BENCHMARK(BM_GenerateEncrypted_Command)->Unit(benchmark::kMillisecond)->UseRealTime();

// Baseline: starting and ending the espsec process.
void BM_Baseline_ProcessStart(benchmark::State& state) {
  CommandDir d;
  for (auto _ : state) spawn({ESPSEC_CLI_PATH, "--espsec-version"}, d.dir);
}
BENCHMARK(BM_Baseline_ProcessStart)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- Engine throughput ----

constexpr uint32_t kEnginePages = 64;
constexpr int kKeys = 500;

struct Engine {
  chip::MemoryFlash flash{kEnginePages * kPageSize};
  std::unique_ptr<Storage> storage;
  std::optional<Handle> handle;
  explicit Engine(bool encrypted) {
    storage = std::move(*Storage::open(flash, 0, flash.size(),
                                       encrypted ? std::optional<Keys>(bench_keys().clone()) : std::nullopt));
    handle.emplace(std::move(*storage->open_namespace("bench", OpenMode::kReadWrite)));
    for (int i = 0; i < kKeys; ++i) (void)handle->set<uint32_t>(fmt::format("key{}", i), static_cast<uint32_t>(i));
  }
};

std::vector<std::string> key_names() {
  std::vector<std::string> k;
  for (int i = 0; i < kKeys; ++i) k.push_back(fmt::format("key{}", i));
  return k;
}

void BM_EngineSetU32(benchmark::State& state) {
  Engine e(state.range(0) != 0);
  const auto keys = key_names();
  uint32_t v = 1000;
  for (auto _ : state) {
    if (!e.handle->set<uint32_t>(keys[v % kKeys], v)) state.SkipWithError("set failed");
    ++v;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineSetU32)->ArgName("encrypted")->Arg(0)->Arg(1);

void BM_EngineSetU32AndCommit(benchmark::State& state) {
  Engine e(state.range(0) != 0);
  const auto keys = key_names();
  uint32_t v = 1000;
  for (auto _ : state) {
    if (!e.handle->set<uint32_t>(keys[v % kKeys], v) || !e.handle->commit()) state.SkipWithError("set failed");
    ++v;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineSetU32AndCommit)->ArgName("encrypted")->Arg(0)->Arg(1);

void BM_EngineGetU32(benchmark::State& state) {
  Engine e(state.range(0) != 0);
  const auto keys = key_names();
  uint32_t i = 0;
  for (auto _ : state) {
    auto r = e.handle->get<uint32_t>(keys[i++ % kKeys]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EngineGetU32)->ArgName("encrypted")->Arg(0)->Arg(1);

void BM_EngineSetString64(benchmark::State& state) {
  Engine e(state.range(0) != 0);
  const auto keys = key_names();
  uint32_t v = 0;
  for (auto _ : state) {
    if (!e.handle->set_string(keys[v % 50], fmt::format("{:064}", v))) state.SkipWithError("set failed");
    ++v;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 65);
}
BENCHMARK(BM_EngineSetString64)->ArgName("encrypted")->Arg(0)->Arg(1);

// RAM of the engine's lookup structures: the fixed cost per page and the cost per item, from
// partitions holding 1000 and 5000 u32 items.
size_t engine_memory(size_t items) {
  chip::MemoryFlash flash(128 * kPageSize);
  auto s = std::move(*Storage::open(flash, 0, flash.size(), std::nullopt));
  auto h = std::move(*s->open_namespace("m", OpenMode::kReadWrite));
  for (size_t i = 0; i < items; ++i) (void)h.set<uint32_t>(fmt::format("k{}", i), 1);
  return s->memory_bytes();
}

void BM_EngineMemory(benchmark::State& state) {
  size_t small = 0, large = 0;
  for (auto _ : state) {
    small = engine_memory(1000);
    large = engine_memory(5000);
  }
  const double per_item = static_cast<double>(large - small) / 4000.0;
  state.counters["bytes_per_item"] = per_item;
  state.counters["bytes_fixed_per_page"] = (static_cast<double>(small) - per_item * 1000) / 128.0;
  state.counters["bytes_per_item_at_5000"] = static_cast<double>(large) / 5000.0;
}
BENCHMARK(BM_EngineMemory)->Unit(benchmark::kMillisecond)->Iterations(1);

// Baseline: the flash operations of one primitive overwrite (entry, two bitmap words).
void BM_Baseline_FlashOpsOfOneSet(benchmark::State& state) {
  chip::MemoryFlash flash(kEnginePages * kPageSize);
  const Bytes entry(32, 0x5A), word(4, 0xAA);
  uint32_t at = 0;
  for (auto _ : state) {
    (void)flash.program(64 + (at % 126) * 32, entry);
    (void)flash.program(32 + (at % 8) * 4, word);
    (void)flash.program(36, word);
    if (++at % 126 == 0) (void)flash.erase_sector(0);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_FlashOpsOfOneSet);

// Baseline: reading one 32-byte entry from the flash model (a get reads at least one).
void BM_Baseline_FlashReadEntry(benchmark::State& state) {
  chip::MemoryFlash flash(kEnginePages * kPageSize);
  Bytes entry(32);
  uint32_t at = 0;
  for (auto _ : state) {
    (void)flash.read(64 + (at++ % 126) * 32, entry);
    benchmark::DoNotOptimize(entry.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_FlashReadEntry);

// Baseline: XTS of one 32-byte entry (a set encrypts one, a get decrypts at least one).
void BM_Baseline_XtsOneEntry(benchmark::State& state) {
  auto cipher = EntryCipher::create(bench_keys());
  Bytes e(32, 0x5A);
  for (auto _ : state) {
    (void)cipher->encrypt(0x40, e, e);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Baseline_XtsOneEntry);

}  // namespace
}  // namespace espsec::nvs

