#include "nvs/key_init.hpp"

#include <algorithm>
#include <array>

#include "crypto/crc32.hpp"
#include "nvs/format.hpp"

namespace espsec::nvs {

namespace {

Result<bool> region_erased(chip::Flash& flash, uint32_t offset, uint32_t size) {
  Bytes buf(kKeysPartitionSize);
  for (uint32_t at = 0; at < size; at += static_cast<uint32_t>(buf.size())) {
    const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(buf.size()), size - at);
    ESPSEC_TRY(flash.read(offset + at, MutableByteSpan(buf).first(n)));
    if (!is_erased(ByteSpan(buf).first(n))) return false;
  }
  return true;
}

}  // namespace

Result<Keys> read_keys_partition(const KeysPartition& p) {
  // Erased flash decrypts to noise, so "never written" is decided on the stored bytes.
  std::array<uint8_t, kXtsKeySize + 4> raw;
  ESPSEC_TRY(p.raw.read(p.offset, raw));
  if (is_erased(raw))
    return fail("nvs.keys_not_initialized", "the NVS keys partition at 0x{:x} was never written", p.offset);
  SecretBytes image(kKeysPartitionSize);
  ESPSEC_TRY(p.plain.read(p.offset, image.expose_mutable()));
  return Keys::parse_partition(image.expose());
}

Result<Keys> generate_keys_partition(const KeysPartition& p, Rng& rng) {
  ESPSEC_ASSIGN_OR_RETURN(Keys keys, Keys::generate(rng));
  ESPSEC_TRY(p.plain.erase_range(p.offset, kKeysPartitionSize));
  ESPSEC_TRY(p.plain.program(p.offset, keys.xts_key().expose()));
  // ESP-IDF writes the CRC as one 16-byte flash-encryption block: CRC then 12 x FF.
  std::array<uint8_t, 16> crc_block;
  crc_block.fill(0xFF);
  store_le32(crc_block.data(), crypto::crc32_le(0xFFFFFFFF, keys.xts_key().expose()));
  ESPSEC_TRY(p.plain.program(p.offset + kXtsKeySize, crc_block));
  return keys;
}

Result<InitializedKeys> init_keys(const KeysPartition& keys, chip::Flash& nvs_flash, uint32_t nvs_offset,
                                  uint32_t nvs_size, Rng& rng) {
  auto stored = read_keys_partition(keys);
  if (stored) return InitializedKeys{std::move(*stored), KeysSource::kRead};
  const Error& why = stored.error();
  if (why.code != "nvs.keys_not_initialized" && why.code != "nvs.keys_crc" && why.code != "nvs.keys_equal_halves")
    return std::unexpected(why);  // flash errors: nothing is decided on a failed read

  ESPSEC_ASSIGN_OR_RETURN(const bool nvs_empty, region_erased(nvs_flash, nvs_offset, nvs_size));
  if (!nvs_empty) {
    if (why.code == "nvs.keys_not_initialized")
      return fail("nvs.keys_lost",
                  "the NVS keys partition is erased but the NVS partition at 0x{:x} holds data encrypted under the "
                  "lost keys; new keys would make it unreadable (restore the keys, or erase the NVS partition)",
                  nvs_offset);
    return fail(why.code,
                "{}; the NVS partition at 0x{:x} holds data encrypted under these keys, so no new keys are generated "
                "(restore the keys partition, or erase the NVS partition)",
                why.message, nvs_offset);
  }
  ESPSEC_ASSIGN_OR_RETURN(Keys fresh, generate_keys_partition(keys, rng));
  return InitializedKeys{std::move(fresh), KeysSource::kGenerated};
}

}  // namespace espsec::nvs
