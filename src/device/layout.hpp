// The virtual device's default partition table, ESP-IDF's two-OTA layout plus the storage the
// security features use:
//   nvs       data nvs       0x9000   0x6000
//   otadata   data ota       0xf000   0x2000
//   phy_init  data phy       0x11000  0x1000
//   nvs_keys  data nvs_keys  0x12000  0x1000   encrypted
//   ota_0     app  ota_0     0x20000  (flash - 0x20000) / 2, 64 KiB aligned
//   ota_1     app  ota_1     after ota_0, same size
#pragma once

#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "format/partition_table.hpp"

namespace espsec::device {

[[nodiscard]] Result<std::vector<partition::Entry>> default_partitions(uint32_t flash_size);
// The binary table (with its MD5 entry) for default_partitions.
[[nodiscard]] Result<Bytes> default_partition_table(uint32_t flash_size);

}  // namespace espsec::device
