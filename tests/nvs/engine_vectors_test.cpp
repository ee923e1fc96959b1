// The engine against partitions and operation traces made by Espressif's tools and by
// ESP-IDF's own NVS engine (../shared/vectors/nvs, README-storage-ota.md).
#include <gtest/gtest.h>

#include "chip/flash.hpp"
#include "nvs/nvs_test_util.hpp"
#include "nvs/storage.hpp"
#include "test_util.hpp"

namespace espsec::nvs {
namespace {

using espsec::test::read_vector;
using espsec::test::vectors_dir;
using test::expect_contents;
using test::first_difference;
using test::open_whole;
using test::read_expected;

std::filesystem::path nvs_dir() { return vectors_dir() / "nvs"; }

Keys vector_keys() {
  auto keys = Keys::parse_partition(read_vector("nvs/keys/nvs_keys.bin"));
  EXPECT_TRUE(keys) << keys.error().message;
  return std::move(*keys);
}

Keys hmac_keys() {
  auto keys = Keys::derive_from_hmac_key(SecretBytes::copy_of(read_vector("nvs/keys/hmac_key.bin")));
  EXPECT_TRUE(keys) << keys.error().message;
  return std::move(*keys);
}

// What expect_writable() adds, for comparisons after it ran.
std::vector<test::ExpectedItem> with_probes(std::vector<test::ExpectedItem> items) {
  items.push_back({"after_open", "probe", 4, "int", 0xC0FFEE, "", true});
  items.push_back({"after_open", "probe_s", 0x21, "string", 0, to_hex(as_bytes(std::string_view("still writable\0", 15))), true});
  return items;
}

void expect_writable(Storage& storage) {
  auto h = storage.open_namespace("after_open", OpenMode::kReadWrite);
  ASSERT_TRUE(h) << h.error().message;
  ASSERT_TRUE(h->set<uint32_t>("probe", 0xC0FFEE));
  ASSERT_TRUE(h->set_string("probe_s", "still writable"));
  EXPECT_EQ(h->get<uint32_t>("probe").value_or(0), 0xC0FFEEu);
  EXPECT_EQ(h->get_string("probe_s").value_or(""), "still writable");
}

struct ReadCase {
  const char* name;
  const char* image;
  const char* expected;
  int keys;  // 0 none, 1 keys file, 2 HMAC
};

class ReadsVector : public ::testing::TestWithParam<ReadCase> {};

TEST_P(ReadsVector, EveryItemReadsBackAndThePartitionStaysWritable) {
  ESPSEC_REQUIRE_VECTORS();
  const ReadCase& c = GetParam();
  auto keys = [&]() -> std::optional<Keys> {
    if (c.keys == 1) return vector_keys();
    if (c.keys == 2) return hmac_keys();
    return std::nullopt;
  };
  const Bytes image = read_vector(std::string("nvs/") + c.image);
  const auto expected = read_expected(nvs_dir() / c.expected);

  chip::MemoryFlash ro_flash(image);
  auto ro = open_whole(ro_flash, keys(), OpenOptions{.read_only = true});
  ASSERT_TRUE(ro) << ro.error().message;
  expect_contents(**ro, expected);
  EXPECT_EQ(ro_flash.contents(), image) << "a read-only open must not write";

  chip::MemoryFlash rw_flash(image);
  auto rw = open_whole(rw_flash, keys());
  ASSERT_TRUE(rw) << rw.error().message;
  expect_contents(**rw, expected);
  expect_writable(**rw);
  auto again = open_whole(rw_flash, keys());
  ASSERT_TRUE(again) << again.error().message;
  expect_contents(**again, with_probes(expected));
}

INSTANTIATE_TEST_SUITE_P(
    Nvs, ReadsVector,
    ::testing::Values(ReadCase{"plain", "nvs_plain.bin", "nvs_plain.expected.jsonl", 0},
                      ReadCase{"encrypted", "nvs_encrypted.bin", "nvs_plain.expected.jsonl", 1},
                      ReadCase{"encrypted_hmac", "nvs_encrypted_hmac.bin", "nvs_plain.expected.jsonl", 2},
                      ReadCase{"v1", "nvs_v1.bin", "nvs_v1.expected.jsonl", 0},
                      ReadCase{"ext_encodings", "nvs_ext_encodings.bin", "nvs_ext_encodings.expected.jsonl", 0},
                      ReadCase{"device_written", "nvs_device_written.bin", "nvs_device_written.expected.jsonl", 0},
                      ReadCase{"device_written_encrypted", "nvs_device_written_encrypted.bin", "nvs_device_written.expected.jsonl", 1},
                      ReadCase{"quirk_ns_reentry", "quirks/nvs_quirk_ns_reentry.bin", "quirks/nvs_quirk_ns_reentry.expected.jsonl", 0}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(NvsDeviceTrace, ReplayingTheDeviceOperationsGivesTheDeviceImageByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  chip::MemoryFlash flash(read_vector("nvs/nvs_plain.bin"));
  auto storage = open_whole(flash);
  ASSERT_TRUE(storage) << storage.error().message;
  ASSERT_TRUE(test::apply_ops(**storage, nvs_dir() / "device_ops.txt", nvs_dir()));
  const Bytes want = read_vector("nvs/nvs_device_written.bin");
  EXPECT_TRUE(flash.contents() == want) << first_difference(flash.contents(), want);
  expect_contents(**storage, read_expected(nvs_dir() / "nvs_device_written.expected.jsonl"));
}

TEST(NvsDeviceTrace, EncryptedReplayGivesTheEncryptedDeviceImageByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  chip::MemoryFlash flash(read_vector("nvs/nvs_encrypted.bin"));
  auto storage = open_whole(flash, vector_keys());
  ASSERT_TRUE(storage) << storage.error().message;
  ASSERT_TRUE(test::apply_ops(**storage, nvs_dir() / "device_ops.txt", nvs_dir()));
  const Bytes want = read_vector("nvs/nvs_device_written_encrypted.bin");
  EXPECT_TRUE(flash.contents() == want) << first_difference(flash.contents(), want);
}

struct CutCase {
  const char* name;
  const char* start;  // "" = erased 3 pages
  const char* script;
  uint64_t cut;
};

class PowerLossVector : public ::testing::TestWithParam<CutCase> {};

// Cutting our own replay of the device script at the same operation gives the device's torn
// image: the flash operation sequence is the device's, one for one.
TEST_P(PowerLossVector, CutAtTheSameOperationGivesTheDeviceTornImage) {
  ESPSEC_REQUIRE_VECTORS();
  const CutCase& c = GetParam();
  chip::MemoryFlash mem(*c.start ? read_vector(std::string("nvs/") + c.start) : Bytes(0x3000, 0xFF));
  chip::FaultInjectingFlash flash(mem);
  auto storage = open_whole(flash);
  ASSERT_TRUE(storage) << storage.error().message;
  flash.cut_power_after(c.cut);
  EXPECT_FALSE(test::apply_ops(**storage, nvs_dir() / c.script, nvs_dir())) << "the cut must interrupt the script";
  const Bytes want = read_vector(std::string("nvs/power_loss/") + c.name + ".bin");
  EXPECT_TRUE(mem.contents() == want) << first_difference(mem.contents(), want);
}

// Opening the torn image recovers what the device recovers, writes the same repairs, is
// idempotent and leaves a writable partition.
TEST_P(PowerLossVector, RecoveryMatchesTheDevice) {
  ESPSEC_REQUIRE_VECTORS();
  const CutCase& c = GetParam();
  const std::string base = std::string("nvs/power_loss/") + c.name;
  chip::MemoryFlash flash(read_vector(base + ".bin"));
  auto storage = open_whole(flash);
  ASSERT_TRUE(storage) << storage.error().message;
  expect_contents(**storage, read_expected(vectors_dir() / (base + ".expected.jsonl")));
  const Bytes recovered = read_vector(base + ".recovered.bin");
  EXPECT_TRUE(flash.contents() == recovered) << first_difference(flash.contents(), recovered);

  const Bytes after_first = flash.contents();
  auto reopened = open_whole(flash);
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ(flash.contents(), after_first) << "recovery must be idempotent";
  EXPECT_TRUE((*reopened)->recovery_log().empty());
  expect_writable(**reopened);
}

INSTANTIATE_TEST_SUITE_P(
    Nvs, PowerLossVector,
    ::testing::Values(CutCase{"pl01_u8_written_unmarked", "nvs_plain.bin", "device_ops.txt", 1},
                      CutCase{"pl02_u8_duplicate", "nvs_plain.bin", "device_ops.txt", 2},
                      CutCase{"pl03_str_header_only", "nvs_plain.bin", "device_ops.txt", 5},
                      CutCase{"pl04_blob_chunks_no_index", "nvs_plain.bin", "device_ops.txt", 30},
                      CutCase{"pl05_blob_two_indexes", "nvs_plain.bin", "device_ops.txt", 32},
                      CutCase{"pl06_blob_old_chunks_half_erased", "nvs_plain.bin", "device_ops.txt", 40},
                      CutCase{"pl07_gc_victim_freeing", "", "gc_ops.txt", 699},
                      CutCase{"pl08_gc_items_copied", "", "gc_ops.txt", 702}),
    [](const auto& param_info) { return std::string(param_info.param.name).substr(0, 4); });

// A device reads version-1 blobs and replaces them with the version-2 form when they are
// rewritten; iteration then lists them (it skips legacy blobs).
TEST(NvsLegacyBlob, RewritingAVersionOneBlobConvertsIt) {
  ESPSEC_REQUIRE_VECTORS();
  chip::MemoryFlash flash(read_vector("nvs/nvs_v1.bin"));
  auto storage = open_whole(flash);
  ASSERT_TRUE(storage);
  auto h = (*storage)->open_namespace("legacy", OpenMode::kReadWrite);
  ASSERT_TRUE(h);
  EXPECT_EQ(to_hex(h->get_blob("blob_small").value()), "00112233445566778899aabbccddeeff");
  ASSERT_TRUE(h->set_blob("blob_small", Bytes{1, 2, 3}));
  storage->reset();
  auto again = open_whole(flash);
  ASSERT_TRUE(again);
  auto r = (*again)->open_namespace("legacy", OpenMode::kReadOnly);
  EXPECT_EQ(r->get_blob("blob_small").value(), (Bytes{1, 2, 3}));
  auto listed = (*again)->entries("legacy", ItemType::kBlobData);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u) << "the converted blob is listed, the untouched legacy one is not";
  EXPECT_EQ((*listed)[0].key, "blob_small");
  EXPECT_EQ(to_hex(r->get_blob("blob_file").value()).size(), 154u);
}

// ESP-IDF's load-time duplicate check trusts a 24-bit hash: "alpha" and "k4bfc40" collide
// and ESP-IDF loses "alpha" when it reopens the partition. This engine keeps both.
TEST(NvsHashCollision, BothCollidingKeysSurviveAReopen) {
  ESPSEC_REQUIRE_VECTORS();
  const Bytes image = read_vector("nvs/quirks/nvs_hash_collision.bin");
  const Item alpha = Item::make(1, ItemType::kU32, 1, "alpha");
  const Item other = Item::make(1, ItemType::kU32, 1, "k4bfc40");
  ASSERT_EQ(item_hash24(alpha), item_hash24(other)) << "the vector's keys must collide, or the test proves nothing";

  chip::MemoryFlash written(Bytes(0x3000, 0xFF));
  {
    auto storage = open_whole(written);
    ASSERT_TRUE(storage);
    ASSERT_TRUE(test::apply_ops(**storage, nvs_dir() / "quirks/hash_collision_ops.txt", nvs_dir()));
  }
  EXPECT_TRUE(written.contents() == image) << first_difference(written.contents(), image);

  chip::MemoryFlash flash(image);
  auto storage = open_whole(flash);
  ASSERT_TRUE(storage) << storage.error().message;
  expect_contents(**storage, read_expected(nvs_dir() / "quirks/nvs_hash_collision.logical.jsonl"));
  EXPECT_EQ(flash.contents(), image) << "nothing to repair: no item may be erased";
  const auto espidf = read_expected(nvs_dir() / "quirks/nvs_hash_collision.espidf_reload.jsonl");
  EXPECT_EQ(espidf.size(), 1u) << "ESP-IDF itself reports only one key after reload";
}

}  // namespace
}  // namespace espsec::nvs
