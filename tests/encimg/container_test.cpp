// The esp_encrypted_img container codec: layout, round trip and every rejected field.
#include "encimg/container.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace espsec::encimg {
namespace {

Header sample_header() {
  Header h;
  for (size_t i = 0; i < h.key_block.size(); ++i) h.key_block[i] = static_cast<uint8_t>(i * 7);
  for (size_t i = 0; i < h.iv.size(); ++i) h.iv[i] = static_cast<uint8_t>(0xA0 + i);
  h.image_size = 0x01020304;
  for (size_t i = 0; i < h.tag.size(); ++i) h.tag[i] = static_cast<uint8_t>(0x50 + i);
  return h;
}

TEST(EncImgContainer, SerializesFieldsAtTheirOffsets) {
  const Header h = sample_header();
  const Bytes bytes = serialize_header(h);
  ASSERT_EQ(bytes.size(), kHeaderSize);
  EXPECT_EQ(to_hex(ByteSpan(bytes).first(4)), "cfb68807");
  EXPECT_EQ(bytes[kKeyBlockOffset + 1], 7);
  EXPECT_EQ(bytes[kIvOffset], 0xA0);
  EXPECT_EQ(to_hex(ByteSpan(bytes).subspan(kSizeOffset, 4)), "04030201");
  EXPECT_EQ(bytes[kTagOffset + 15], 0x5F);
  for (size_t i = kReservedOffset; i < kHeaderSize; ++i) EXPECT_EQ(bytes[i], 0) << i;
  EXPECT_EQ(kKeyBlockOffset + kKeyBlockSize, kIvOffset);
  EXPECT_EQ(kIvOffset + kIvSize, kSizeOffset);
  EXPECT_EQ(kSizeOffset + 4, kTagOffset);
  EXPECT_EQ(kTagOffset + kTagSize, kReservedOffset);
  EXPECT_EQ(kReservedOffset + kReservedSize, kHeaderSize);
}

TEST(EncImgContainer, RoundTrips) {
  Header h = sample_header();
  h.reserved[3] = 0x99;  // kept as read, even though writers leave it zero
  const Bytes bytes = serialize_header(h);
  auto parsed = parse_header(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->key_block, h.key_block);
  EXPECT_EQ(parsed->iv, h.iv);
  EXPECT_EQ(parsed->image_size, h.image_size);
  EXPECT_EQ(parsed->tag, h.tag);
  EXPECT_EQ(parsed->reserved, h.reserved);
  EXPECT_EQ(serialize_header(*parsed), bytes);
}

TEST(EncImgContainer, RejectsBadMagicAtEveryByte) {
  for (size_t i = 0; i < kMagicSize; ++i) {
    Bytes bytes = serialize_header(sample_header());
    bytes[i] ^= 0x01;
    auto parsed = parse_header(bytes);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, "encimg.magic");
    EXPECT_NE(parsed.error().message.find("magic"), std::string::npos);
  }
}

TEST(EncImgContainer, RejectsTruncatedHeader) {
  const Bytes bytes = serialize_header(sample_header());
  for (size_t len : {0u, 3u, 4u, 300u, 511u}) {
    auto parsed = parse_header(ByteSpan(bytes).first(len));
    ASSERT_FALSE(parsed) << len;
    EXPECT_EQ(parsed.error().code, "encimg.header_truncated") << len;
  }
  EXPECT_TRUE(check_magic(ByteSpan(bytes).first(4)));
  EXPECT_EQ(check_magic(ByteSpan(bytes).first(3)).error().code, "encimg.header_truncated");
}

TEST(EncImgContainer, EccKeyBlockSplitsAndJoins) {
  EccKeyBlock block;
  for (size_t i = 0; i < block.server_point.size(); ++i) block.server_point[i] = static_cast<uint8_t>(i + 1);
  for (size_t i = 0; i < block.salt.size(); ++i) block.salt[i] = static_cast<uint8_t>(0xF0 - i);
  const auto bytes = ecc_key_block_bytes(block);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[kServerPointSize], 0xF0);
  for (size_t i = kServerPointSize + kSaltSize; i < kKeyBlockSize; ++i) EXPECT_EQ(bytes[i], 0) << i;
  const EccKeyBlock again = ecc_key_block(bytes);
  EXPECT_EQ(again.server_point, block.server_point);
  EXPECT_EQ(again.salt, block.salt);
}

// The reference tool's files have the layout drawn in container.hpp.
TEST(EncImgContainer, ReferenceVectorsParse) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case { const char* file; uint32_t size; bool ecc; } cases[] = {
      {"encrypted_img/plain_4k.rsa.enc.bin", 4096, false},
      {"encrypted_img/plain_4k.ecc.enc.bin", 4096, true},
      {"encrypted_img/plain_17.rsa.enc.bin", 17, false},
      {"encrypted_img/plain_empty.rsa.enc.bin", 0, false},
      {"encrypted_img/plain_200k.ecc.enc.bin", 204800, true},
  };
  for (const auto& c : cases) {
    const Bytes file = test::read_vector(c.file);
    auto h = parse_header(file);
    ASSERT_TRUE(h) << c.file << ": " << h.error().message;
    EXPECT_EQ(h->image_size, c.size) << c.file;
    EXPECT_EQ(file.size(), kHeaderSize + c.size) << c.file;
    for (uint8_t b : h->reserved) EXPECT_EQ(b, 0) << c.file;
    if (c.ecc) {
      for (size_t i = kServerPointSize + kSaltSize; i < kKeyBlockSize; ++i) EXPECT_EQ(h->key_block[i], 0) << c.file;
    }
    EXPECT_EQ(serialize_header(*h), Bytes(file.begin(), file.begin() + kHeaderSize)) << c.file;
  }
}

}  // namespace
}  // namespace espsec::encimg
