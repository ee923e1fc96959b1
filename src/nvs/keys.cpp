#include "nvs/keys.hpp"

#include <algorithm>

#include "crypto/crc32.hpp"
#include "crypto/hash.hpp"
#include "nvs/format.hpp"

namespace espsec::nvs {

namespace {
constexpr size_t kHalf = kXtsKeySize / 2;
// nvs_sec_provider_private.h: HMAC seed words for the two XTS key halves.
constexpr uint8_t kEkeySeed[4] = {0x5A, 0x5A, 0xBE, 0xAE};
constexpr uint8_t kTkeySeed[4] = {0xA5, 0xA5, 0xDE, 0xCE};

uint32_t keys_crc(ByteSpan key64) { return crypto::crc32_le(0xFFFFFFFF, key64); }

Bytes seed_message(const uint8_t (&word)[4]) {
  Bytes msg;
  for (int i = 0; i < 8; ++i) msg.insert(msg.end(), word, word + 4);
  return msg;
}
}  // namespace

Result<Keys> Keys::from_xts_key(SecretBytes key) {
  if (key.size() != kXtsKeySize)
    return fail("nvs.keys_size", "NVS encryption key must be {} bytes, got {}", kXtsKeySize, key.size());
  const ByteSpan k = key.expose();
  if (crypto::constant_time_equal(k.first(kHalf), k.subspan(kHalf)))
    return fail("nvs.keys_equal_halves",
                "NVS encryption key is unusable: its data key and tweak key halves are identical");
  return Keys(std::move(key));
}

Result<Keys> Keys::parse_partition(ByteSpan image) {
  if (image.size() != kKeysPartitionSize)
    return fail("nvs.keys_size", "an NVS keys file must be {} bytes (an nvs_keys partition image), got {}",
                kKeysPartitionSize, image.size());
  const ByteSpan key = image.first(kXtsKeySize);
  const uint32_t stored = load_le32(image.data() + kXtsKeySize);
  if (stored == 0xFFFFFFFF && is_erased(key))
    return fail("nvs.keys_not_initialized", "the NVS keys partition is erased (no keys were ever written)");
  if (stored != keys_crc(key))
    return fail("nvs.keys_crc", "the NVS keys partition is corrupt: CRC 0x{:08x} stored, 0x{:08x} computed", stored,
                keys_crc(key));
  return from_xts_key(SecretBytes::copy_of(key));
}

Result<Keys> Keys::derive_from_hmac_key(const SecretBytes& hmac_key) {
  if (hmac_key.size() != kHmacKeySize)
    return fail("nvs.hmac_key_size", "an HMAC_UP eFuse key must be {} bytes, got {}", kHmacKeySize, hmac_key.size());
  Bytes eky = crypto::hmac_sha256(hmac_key, seed_message(kEkeySeed));
  Bytes tky = crypto::hmac_sha256(hmac_key, seed_message(kTkeySeed));
  SecretBytes key(kXtsKeySize);
  std::copy(eky.begin(), eky.end(), key.expose_mutable().begin());
  std::copy(tky.begin(), tky.end(), key.expose_mutable().begin() + kHalf);
  secure_wipe(eky);
  secure_wipe(tky);
  return from_xts_key(std::move(key));
}

Result<Keys> Keys::generate(Rng& rng) {
  for (;;) {
    auto keys = from_xts_key(rng.secret(kXtsKeySize));
    if (keys || keys.error().code != "nvs.keys_equal_halves") return keys;
  }
}

SecretBytes Keys::partition_image() const {
  SecretBytes image(kKeysPartitionSize);
  MutableByteSpan out = image.expose_mutable();
  std::fill(out.begin(), out.end(), 0xFF);
  std::copy(key_.expose().begin(), key_.expose().end(), out.begin());
  store_le32(out.data() + kXtsKeySize, keys_crc(key_.expose()));
  return image;
}

}  // namespace espsec::nvs
