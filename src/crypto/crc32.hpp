// CRC-32 (reflected, polynomial 0xEDB88320) through zlib.
#pragma once

#include <cstdint>

#include "core/bytes.hpp"

namespace espsec::crypto {

// Same contract as zlib's crc32() and the ESP ROM's esp_rom_crc32_le(): `previous` is the CRC of
// the data before (0 to start). Secure Boot signature blocks use previous = 0 (the zip CRC);
// NVS, otadata and nvs_keys use previous = 0xFFFFFFFF.
uint32_t crc32_le(uint32_t previous, ByteSpan data);

}  // namespace espsec::crypto
