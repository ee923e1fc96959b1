// The espefuse v5.1.0 state sequence in vectors/secure/efuse/esp32c3 (README-secure.md
// section 5): every recorded command, applied through the library to the previous state,
// reproduces the next .bin byte for byte, and every state's summaries match espefuse's.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "efuse/espefuse_commands.hpp"
#include "efuse/espefuse_view.hpp"
#include "efuse/storage.hpp"
#include "efuse_test_util.hpp"
#include "test_util.hpp"

namespace espsec::efuse {
namespace {

const char* const kStates[] = {"00_fresh", "01_burn_key_xts", "02_burn_key_digest", "03_crypt_cnt_sb_en",
                               "04_secure_version", "05_read_protect_key", "06_write_protect"};

std::string state_path(const std::string& state, const char* ext) {
  return "secure/efuse/esp32c3/" + state + ext;
}

// Applies the espefuse command that produced kStates[step] from kStates[step - 1].
void apply_recorded_command(Controller& c, int step) {
  Transcript out;
  Batch batch = c.begin_batch();
  Result<AfterBurn> staged = std::unexpected(Error{});
  switch (step) {
    case 1: {
      std::vector<KeyRequest> keys;
      keys.push_back({"BLOCK_KEY0", SecretBytes::copy_of(test::read_vector("secure/xts/key256.bin")), "XTS_AES_128_KEY"});
      staged = stage_burn_key(c, batch, keys, {.no_read_protect = true}, {}, out);
      break;
    }
    case 2: {
      auto digest = sbv2_key_digest_for_pem(test::read_vector("secure/keys/rsa3072_a.pub.pem"));
      ASSERT_TRUE(digest) << digest.error().message;
      std::vector<KeyRequest> keys;
      keys.push_back({"BLOCK_KEY1", std::move(*digest), "SECURE_BOOT_DIGEST0"});
      staged = stage_burn_key(c, batch, keys, {.digest = true}, {}, out);
      break;
    }
    case 3: {
      const std::vector<std::string> args = {"SPI_BOOT_CRYPT_CNT", "1", "SECURE_BOOT_EN", "1"};
      staged = stage_burn_efuse(c, batch, args, out);
      break;
    }
    case 4: {
      const std::vector<std::string> args = {"SECURE_VERSION", "7"};
      staged = stage_burn_efuse(c, batch, args, out);
      break;
    }
    case 5: {
      const std::vector<std::string> names = {"BLOCK_KEY0"};
      staged = stage_read_protect(c, batch, names, out);
      break;
    }
    case 6: {
      const std::vector<std::string> names = {"SPI_BOOT_CRYPT_CNT"};
      staged = stage_write_protect(c, batch, names, out);
      break;
    }
  }
  ASSERT_TRUE(staged) << staged.error().message;
  ASSERT_TRUE(batch.commit());
  EXPECT_TRUE(verify_after_burn(c, *staged, out)) << out.text();
}

TEST(EfuseVectors, LibraryReproducesEveryStateByteForByte) {
  ESPSEC_REQUIRE_VECTORS();
  auto storage = std::make_unique<MemoryStorage>();
  auto slot = storage->slot();
  auto c = Controller::open(esp32c3(), std::move(storage));
  ASSERT_TRUE(c);
  EXPECT_EQ((*c)->file_image(), test::read_vector(state_path(kStates[0], ".bin")));
  for (int step = 1; step <= 6; ++step) {
    apply_recorded_command(**c, step);
    EXPECT_EQ((*c)->file_image(), test::read_vector(state_path(kStates[step], ".bin"))) << kStates[step];
    EXPECT_EQ((*slot)->file, test::read_vector(state_path(kStates[step], ".bin"))) << kStates[step];
  }
  EXPECT_EQ((*c)->burn_count(), 6u);
}

TEST(EfuseVectors, EspefuseFilesLoadAndSerializeUnchanged) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* state : kStates) {
    const Bytes file = test::read_vector(state_path(state, ".bin"));
    auto c = open_memory(file);
    ASSERT_TRUE(c) << state;
    EXPECT_EQ((*c)->file_image(), file) << state;
  }
}

TEST(EfuseVectors, JsonSummaryMatchesEveryState) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* state : kStates) {
    auto c = open_memory(test::read_vector(state_path(state, ".bin")));
    ASSERT_TRUE(c) << state;
    auto text = summary(**c, {}, SummaryFormat::kJson);
    ASSERT_TRUE(text) << state;
    const Bytes expected = test::read_vector(state_path(state, ".summary.json"));
    EXPECT_EQ(nlohmann::json::parse(*text), nlohmann::json::parse(expected)) << state;
    // Python's json.dump(sort_keys=True, indent=4) and ours agree to the byte.
    EXPECT_EQ(*text, std::string(expected.begin(), expected.end())) << state;
  }
}

TEST(EfuseVectors, TextSummaryMatchesEveryStateLineForLine) {
  ESPSEC_REQUIRE_VECTORS();
  for (const char* state : kStates) {
    auto c = open_memory(test::read_vector(state_path(state, ".bin")));
    ASSERT_TRUE(c) << state;
    auto text = summary(**c, {}, SummaryFormat::kSummary);
    ASSERT_TRUE(text) << state;
    const Bytes expected = test::read_vector(state_path(state, ".summary.txt"));
    const auto ours = split_lines(*text);
    const auto theirs = split_lines(std::string(expected.begin(), expected.end()));
    ASSERT_EQ(ours.size(), theirs.size()) << state;
    for (size_t i = 0; i < ours.size(); ++i) EXPECT_EQ(ours[i], theirs[i]) << state << " line " << i + 1;
  }
}

}  // namespace
}  // namespace espsec::efuse
