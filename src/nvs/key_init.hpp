// The NVS key step of nvs_flash_init() with CONFIG_NVS_ENCRYPTION, flash-encryption scheme
// (ESP-IDF nvs_api.cpp: nvs_flash_read_security_cfg, nvs_flash_generate_keys, nvs_flash_init).
//
// ESP-IDF generates new keys after *any* failure to read them. A keys partition that is
// corrupt, or erased by mistake, then silently orphans every encrypted entry of the NVS
// partition, and the next open erases them all as unreadable. init_keys() generates keys only
// while the NVS partition holds no data; otherwise it reports the problem and writes nothing,
// so the data survives until someone decides (restore the keys, or erase the partition).
#pragma once

#include <cstdint>

#include "chip/flash.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "nvs/keys.hpp"

namespace espsec::nvs {

// The nvs_keys partition as the device reaches it: `raw` reads the bytes as stored (cipher
// text under flash encryption), `plain` reads and writes through flash encryption. Without
// flash encryption both are the same Flash.
struct KeysPartition {
  chip::Flash& raw;
  chip::Flash& plain;
  uint32_t offset;
};

// nvs_flash_read_security_cfg. nvs.keys_not_initialized when the stored bytes were never
// written; nvs.keys_crc when the plain text fails its CRC.
[[nodiscard]] Result<Keys> read_keys_partition(const KeysPartition& partition);

// nvs_flash_generate_keys: erases the keys partition and writes new keys from `rng`, then their
// CRC block (ESP-IDF instead reads a fixed raw pattern back through flash decryption; either
// way the keys are unique to the device). Power loss midway leaves a partition that reads as
// corrupt or erased, which init_keys() regenerates while the NVS partition is still empty.
[[nodiscard]] Result<Keys> generate_keys_partition(const KeysPartition& partition, Rng& rng);

enum class KeysSource { kRead, kGenerated };

struct InitializedKeys {
  Keys keys;
  KeysSource source;
};

// Keys for the NVS partition [nvs_offset, nvs_offset + nvs_size) of `nvs_flash`: the stored
// ones when they read back, new ones when the NVS partition is erased, and otherwise the read
// error (nvs.keys_crc, or nvs.keys_lost for erased keys over existing data).
[[nodiscard]] Result<InitializedKeys> init_keys(const KeysPartition& keys, chip::Flash& nvs_flash, uint32_t nvs_offset,
                                                uint32_t nvs_size, Rng& rng);

}  // namespace espsec::nvs
