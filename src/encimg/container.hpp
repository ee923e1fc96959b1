// The pre-encrypted firmware image container of esp_encrypted_img (idf-extra-components
// esp_encrypted_img 2.7.1: private_include/esp_encrypted_img_priv.h, tools/esp_enc_img_gen.py;
// storage-and-OTA fact sheet 4.1). Pure parse/serialize; integers little-endian.
//
//   offset  size  field
//   0       4     magic  CF B6 88 07  (u32 LE 0x0788B6CF: SHA-256("esp_encrypted_img")[0..3]
//                 read big-endian; the same for both schemes)
//   4       384   key block
//                   RSA-3072 scheme:  RSAES-PKCS1-v1_5(device RSA-3072 key, 32-byte AES key)
//                   ECIES-P256 scheme:
//                     +0    64   server ephemeral P-256 point X || Y (big-endian, no 04 prefix)
//                     +64   32   HKDF salt
//                     +96   288  zero
//   388     16    AES-GCM IV (16 bytes, not the usual 12)
//   404     4     image length n (plaintext = ciphertext), u32 LE
//   408     16    AES-GCM tag
//   424     88    reserved, zero
//   512     n     AES-256-GCM ciphertext, no AAD
//
// There is no version field and the scheme is not recorded: a device is built for one scheme
// and the key decides. Nothing in the header is authenticated; the GCM tag covers only the
// ciphertext, so the length is checked against the stream, not trusted.
#pragma once

#include <array>
#include <cstdint>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::encimg {

inline constexpr size_t kHeaderSize = 512;
inline constexpr std::array<uint8_t, 4> kMagic = {0xCF, 0xB6, 0x88, 0x07};
inline constexpr size_t kMagicSize = 4;
inline constexpr size_t kKeyBlockOffset = 4;
inline constexpr size_t kKeyBlockSize = 384;
inline constexpr size_t kIvOffset = 388;
inline constexpr size_t kIvSize = 16;
inline constexpr size_t kSizeOffset = 404;
inline constexpr size_t kTagOffset = 408;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kReservedOffset = 424;
inline constexpr size_t kReservedSize = 88;

inline constexpr size_t kAesKeySize = 32;
// ECIES key block fields (esp_enc_img_gen.py SERVER_PUB_KEY_SIZE, KDF_SALT_SIZE).
inline constexpr size_t kServerPointSize = 64;
inline constexpr size_t kSaltSize = 32;

struct Header {
  std::array<uint8_t, kKeyBlockSize> key_block{};
  std::array<uint8_t, kIvSize> iv{};
  uint32_t image_size = 0;
  std::array<uint8_t, kTagSize> tag{};
  std::array<uint8_t, kReservedSize> reserved{};  // zero when written; kept as read
};

// "encimg.magic" unless `first4` (at least 4 bytes) starts with the magic.
[[nodiscard]] Status check_magic(ByteSpan first4);

// Parses the first kHeaderSize bytes of `data` (more may follow). Errors: "encimg.header_truncated",
// "encimg.magic". The reserved bytes are not checked (the device skips them).
[[nodiscard]] Result<Header> parse_header(ByteSpan data);
Bytes serialize_header(const Header& header);

// The ECIES view of the key block.
struct EccKeyBlock {
  std::array<uint8_t, kServerPointSize> server_point{};  // X || Y
  std::array<uint8_t, kSaltSize> salt{};
};
EccKeyBlock ecc_key_block(const std::array<uint8_t, kKeyBlockSize>& key_block);
std::array<uint8_t, kKeyBlockSize> ecc_key_block_bytes(const EccKeyBlock& block);

}  // namespace espsec::encimg
