#include "nvs/key_init.hpp"

#include <gtest/gtest.h>

#include "crypto/random.hpp"
#include "nvs/storage.hpp"

namespace espsec::nvs {
namespace {

constexpr uint32_t kNvsOffset = 0x0000, kNvsSize = 0x3000, kKeysOffset = 0x3000;

// A stand-in for the flash-encryption view: bytes are transformed on the way in and out, so
// erased flash does not read as FF through it.
class ScrambledView final : public chip::Flash {
 public:
  explicit ScrambledView(chip::Flash& inner) : inner_(inner) {}
  uint32_t size() const override { return inner_.size(); }
  Status read(uint32_t a, MutableByteSpan out) override {
    ESPSEC_TRY(inner_.read(a, out));
    for (auto& b : out) b ^= 0x5A;
    return {};
  }
  Status program(uint32_t a, ByteSpan data) override {
    Bytes x(data.begin(), data.end());
    for (auto& b : x) b ^= 0x5A;
    return inner_.program(a, x);
  }
  Status erase_sector(uint32_t a) override { return inner_.erase_sector(a); }

 private:
  chip::Flash& inner_;
};

struct Device {
  chip::MemoryFlash flash{0x4000};
  ScrambledView plain{flash};
  KeysPartition keys{flash, plain, kKeysOffset};
  crypto::DeterministicRng rng{3};
  Result<InitializedKeys> init() { return init_keys(keys, flash, kNvsOffset, kNvsSize, rng); }
  Result<std::unique_ptr<Storage>> open(const Keys& k) { return Storage::open(flash, kNvsOffset, kNvsSize, k.clone()); }
};

void store_secret(Device& d, const Keys& keys) {
  auto s = d.open(keys);
  ASSERT_TRUE(s);
  ASSERT_TRUE((*s)->open_namespace("wifi", OpenMode::kReadWrite)->set_string("psk", "correct horse"));
}

TEST(NvsKeyInit, FirstBootGeneratesKeysAndLaterBootsReadThem) {
  Device d;
  auto first = d.init();
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->source, KeysSource::kGenerated);
  store_secret(d, first->keys);
  auto second = d.init();
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->source, KeysSource::kRead);
  EXPECT_TRUE(second->keys.xts_key().equals(first->keys.xts_key()));
  auto s = d.open(second->keys);
  EXPECT_EQ((*s)->open_namespace("wifi", OpenMode::kReadOnly)->get_string("psk").value(), "correct horse");
}

// ESP-IDF regenerates keys after any read error; the next open then erases every entry it can
// no longer decrypt. init_keys() refuses and leaves both partitions untouched.
TEST(NvsKeyInit, ACorruptKeysPartitionNeverTriggersNewKeysOverExistingData) {
  Device d;
  auto keys = d.init();
  ASSERT_TRUE(keys);
  store_secret(d, keys->keys);
  d.flash.contents()[kKeysOffset + 10] ^= 0x01;  // one bit of the stored key flips
  const Bytes before = d.flash.contents();

  // What ESP-IDF's policy does with the same flash: new keys, then the data is gone.
  {
    chip::MemoryFlash naive_flash(before);
    ScrambledView naive_plain(naive_flash);
    crypto::DeterministicRng rng(99);
    ASSERT_FALSE(read_keys_partition(KeysPartition{naive_flash, naive_plain, kKeysOffset}));
    auto fresh = generate_keys_partition(KeysPartition{naive_flash, naive_plain, kKeysOffset}, rng);
    ASSERT_TRUE(fresh);
    auto s = Storage::open(naive_flash, kNvsOffset, kNvsSize, fresh->clone());
    ASSERT_TRUE(s);
    EXPECT_FALSE((*s)->open_namespace("wifi", OpenMode::kReadOnly)) << "the naive policy loses the data";
    EXPECT_FALSE(std::equal(naive_flash.contents().begin(), naive_flash.contents().begin() + kNvsSize, before.begin()))
        << "and erases it on flash";
  }

  auto refused = d.init();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "nvs.keys_crc");
  EXPECT_NE(refused.error().message.find("no new keys are generated"), std::string::npos);
  EXPECT_EQ(d.flash.contents(), before) << "nothing may be written";

  d.flash.contents()[kKeysOffset + 10] ^= 0x01;  // the keys partition is restored
  auto restored = d.init();
  ASSERT_TRUE(restored);
  auto s = d.open(restored->keys);
  EXPECT_EQ((*s)->open_namespace("wifi", OpenMode::kReadOnly)->get_string("psk").value(), "correct horse");
}

TEST(NvsKeyInit, ErasedKeysOverExistingDataAreReportedNotReplaced) {
  Device d;
  auto keys = d.init();
  ASSERT_TRUE(keys);
  store_secret(d, keys->keys);
  ASSERT_TRUE(d.flash.erase_sector(kKeysOffset));
  const Bytes before = d.flash.contents();
  auto r = d.init();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "nvs.keys_lost");
  EXPECT_EQ(d.flash.contents(), before);
  // Erasing the NVS partition is the explicit way forward.
  ASSERT_TRUE(d.flash.erase_range(kNvsOffset, kNvsSize));
  auto fresh = d.init();
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->source, KeysSource::kGenerated);
}

TEST(NvsKeyInit, PowerLossDuringGenerationIsRepairedOnTheNextBoot) {
  for (uint64_t cut = 0; cut < 3; ++cut) {
    chip::MemoryFlash mem(0x4000);
    {
      chip::FaultInjectingFlash flash(mem);
      ScrambledView plain(flash);
      crypto::DeterministicRng rng(cut);
      flash.cut_power_after(cut);
      EXPECT_FALSE(init_keys(KeysPartition{flash, plain, kKeysOffset}, flash, kNvsOffset, kNvsSize, rng));
    }
    ScrambledView plain(mem);
    crypto::DeterministicRng rng(100 + cut);
    auto again = init_keys(KeysPartition{mem, plain, kKeysOffset}, mem, kNvsOffset, kNvsSize, rng);
    ASSERT_TRUE(again) << "cut " << cut << ": " << again.error().message;
    EXPECT_EQ(again->source, KeysSource::kGenerated);
    EXPECT_TRUE(read_keys_partition(KeysPartition{mem, plain, kKeysOffset}));
  }
}

TEST(NvsKeyInit, TheStoredLayoutIsTheNvsKeysPartition) {
  chip::MemoryFlash flash(0x4000);
  crypto::DeterministicRng rng(5);
  const KeysPartition p{flash, flash, kKeysOffset};
  auto keys = generate_keys_partition(p, rng);
  ASSERT_TRUE(keys);
  const SecretBytes image = keys->partition_image();
  const ByteSpan stored = ByteSpan(flash.contents()).subspan(kKeysOffset, kKeysPartitionSize);
  EXPECT_TRUE(std::equal(stored.begin(), stored.end(), image.expose().begin()));
  EXPECT_EQ(read_keys_partition(KeysPartition{flash, flash, 0}).error().code, "nvs.keys_not_initialized");
}

}  // namespace
}  // namespace espsec::nvs
