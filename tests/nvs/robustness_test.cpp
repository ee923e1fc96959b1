// Arbitrary bytes never crash the NVS readers: randomly damaged partitions go through the
// inspector and a read-write open (then every operation), random text through the CSV reader.
// Results may be errors; what is checked is that every call returns.
#include <gtest/gtest.h>

#include <random>

#include "chip/flash.hpp"
#include "nvs/csv.hpp"
#include "nvs/inspect.hpp"
#include "nvs/partition_gen.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs {
namespace {

// A real partition with random damage: flipped bytes, mangled headers with fixed-up CRCs, and
// entries whose CRC is recomputed over random content (so they pass the CRC check).
Bytes damaged_partition(std::mt19937& rng) {
  chip::MemoryFlash flash(4 * kPageSize);
  {
    auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
    auto h = (*s)->open_namespace("n", OpenMode::kReadWrite);
    for (int i = 0; i < 40; ++i) {
      (void)h->set<uint32_t>(fmt::format("k{}", rng() % 20), static_cast<uint32_t>(rng()));
      (void)h->set_string(fmt::format("s{}", rng() % 5), std::string(rng() % 200, 'x'));
      if (rng() % 4 == 0) (void)h->set_blob(fmt::format("b{}", rng() % 3), Bytes(rng() % 6000, 7));
    }
  }
  Bytes image = flash.contents();
  const int damage = 1 + static_cast<int>(rng() % 8);
  for (int d = 0; d < damage; ++d) {
    const auto page = static_cast<uint32_t>(rng() % 4);
    uint8_t* base = image.data() + page * kPageSize;
    switch (rng() % 4) {
      case 0:
        image[rng() % image.size()] = static_cast<uint8_t>(rng());
        break;
      case 1: {
        auto h = PageHeader::parse(ByteSpan(base, 32));
        h.state_raw = static_cast<uint32_t>(rng());
        h.seq = rng() % 8;
        h.version = static_cast<uint8_t>(0xFE | (rng() & 1));
        h.crc = h.computed_crc();
        const auto raw = h.serialize();
        std::copy(raw.begin(), raw.end(), base);
        break;
      }
      case 2:
        base[kBitmapOffset + rng() % 32] = static_cast<uint8_t>(rng());
        break;
      default: {
        const auto e = static_cast<uint32_t>(rng() % kEntryCount);
        Item item = Item::parse(ByteSpan(base + kEntriesOffset + e * kEntrySize, 32));
        item.type_raw = static_cast<uint8_t>(rng());
        item.span = static_cast<uint8_t>(rng() % 130);
        item.chunk = static_cast<uint8_t>(rng());
        store_le32(item.data.data(), static_cast<uint32_t>(rng()));
        item.seal();
        const auto raw = item.serialize();
        std::copy(raw.begin(), raw.end(), base + kEntriesOffset + e * kEntrySize);
      }
    }
  }
  return image;
}

TEST(NvsRobustness, DamagedPartitionsNeverCrashTheReaders) {
  std::mt19937 rng(2024);
  for (int round = 0; round < 400; ++round) {
    const Bytes image = damaged_partition(rng);
    auto in = inspect_partition(image, nullptr);
    ASSERT_TRUE(in);
    (void)dump_text(*in, "x");
    (void)dump_json(*in, "x");

    chip::MemoryFlash flash(image);
    auto s = Storage::open(flash, 0, flash.size(), std::nullopt);
    if (!s) continue;
    auto listed = (*s)->entries();
    (void)(*s)->stats();
    auto h = (*s)->open_namespace("n", OpenMode::kReadWrite);
    if (!h) continue;
    for (int k = 0; k < 20; ++k) {
      (void)h->get<uint32_t>(fmt::format("k{}", k));
      (void)h->get_string(fmt::format("s{}", k % 5));
      (void)h->get_blob(fmt::format("b{}", k % 3));
    }
    (void)h->set<uint32_t>("after", 1);
    (void)h->set_blob("b0", Bytes(3000, 1));
    (void)h->erase_key("k1");
  }
}

TEST(NvsRobustness, RandomTextNeverCrashesTheCsvReaderOrGenerator) {
  std::mt19937 rng(7);
  const std::string alphabet = "k,\"\n\r#ab01 x;()_-=+/\xC3\xA9";
  for (int round = 0; round < 2000; ++round) {
    std::string text = "key,type,encoding,value\nns,namespace,,\n";
    const size_t n = rng() % 120;
    for (size_t i = 0; i < n; ++i) text.push_back(alphabet[rng() % alphabet.size()]);
    auto rows = parse_csv(text, "r.csv");
    if (!rows) continue;
    const CsvInput input{"r.csv", std::move(*rows)};
    (void)generate_partition(std::span(&input, 1), GenerateOptions{0x3000, 2},
                             [](const std::string&) -> Result<Bytes> { return Bytes{}; });
  }
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    for (size_t i = rng() % 40; i > 0; --i) text.push_back(static_cast<char>(rng()));
    (void)decode_base64(text);
    (void)decode_hex2bin(text);
    (void)parse_partition_size(text);
  }
}

}  // namespace
}  // namespace espsec::nvs
