#include "efuse/reed_solomon.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::efuse {
namespace {

// The example from the reedsolo documentation (the library espefuse uses):
// RSCodec(10).encode(b"hello world") == b"hello world\xed%T\xc4\xfd\xfd\x89\xf3\xa8\xaa".
TEST(ReedSolomon, ReedsoloDocumentationExample) {
  EXPECT_EQ(rs_parity(as_bytes("hello world"), 10), test::hex("ed2554c4fdfd89f3a8aa"));
}

TEST(ReedSolomon, ZeroDataHasZeroParityAndOnesDoNot) {
  std::array<uint8_t, kRsDataBytes> data{};
  const auto zero = rs_block_parity(data);
  EXPECT_EQ(Bytes(zero.begin(), zero.end()), Bytes(kRsParityBytes, 0));
  data.fill(0xFF);
  const auto parity = rs_block_parity(data);
  EXPECT_EQ(Bytes(parity.begin(), parity.end()), test::hex("13a36292597404257375e0aa"));
}

// The codeword is divisible by the generator: every syndrome (evaluation at a^0..a^11) is 0.
TEST(ReedSolomon, CodewordHasZeroSyndromes) {
  std::array<uint8_t, kRsDataBytes> data{};
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 37 + 11);
  const auto parity = rs_block_parity(data);
  Bytes codeword(data.begin(), data.end());
  codeword.insert(codeword.end(), parity.begin(), parity.end());
  auto mul = [](uint8_t a, uint8_t b) {
    uint8_t r = 0;
    while (b) {
      if (b & 1) r ^= a;
      a = static_cast<uint8_t>((a << 1) ^ ((a & 0x80) ? 0x1D : 0));
      b >>= 1;
    }
    return r;
  };
  uint8_t root = 1;
  for (size_t i = 0; i < kRsParityBytes; ++i) {
    uint8_t acc = 0;
    for (uint8_t byte : codeword) acc = static_cast<uint8_t>(mul(acc, root) ^ byte);
    EXPECT_EQ(acc, 0) << "syndrome " << i;
    root = mul(root, 2);
  }
}

// espefuse leaves the parity of the last RS block it burned in PGM_CHECK_VALUE0..2.
TEST(ReedSolomon, MatchesCheckValuesEspefuseLeftInTheVirtualFile) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* file; size_t block_offset; } cases[] = {
      {"secure/efuse/esp32c3/01_burn_key_xts.bin", 0x09C},     // BLOCK_KEY0
      {"secure/efuse/esp32c3/02_burn_key_digest.bin", 0x0BC},  // BLOCK_KEY1
  };
  for (const auto& c : cases) {
    const Bytes window = reversed(test::read_vector(c.file));
    std::array<uint8_t, kRsDataBytes> data{};
    std::copy_n(window.begin() + static_cast<std::ptrdiff_t>(c.block_offset), kRsDataBytes, data.begin());
    const auto parity = rs_block_parity(data);
    EXPECT_EQ(Bytes(parity.begin(), parity.end()), Bytes(window.begin() + 0x20, window.begin() + 0x2C)) << c.file;
  }
}

TEST(ReedSolomon, RefusesImpossibleSizes) {
  EXPECT_TRUE(rs_parity(as_bytes("x"), 0).empty());
  EXPECT_TRUE(rs_parity(as_bytes("x"), kRsMaxParityBytes + 1).empty());
  EXPECT_TRUE(rs_parity(Bytes(250, 1), 6).empty());
}

}  // namespace
}  // namespace espsec::efuse
