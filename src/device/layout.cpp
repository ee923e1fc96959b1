#include "device/layout.hpp"

namespace espsec::device {

namespace pt = partition;

Result<std::vector<pt::Entry>> default_partitions(uint32_t flash_size) {
  constexpr uint32_t kAppStart = 0x20000;
  if (flash_size < 2 * 1024 * 1024) return fail("device.layout_flash_size", "the default layout needs at least 2 MiB of flash");
  const uint32_t app_size = ((flash_size - kAppStart) / 2) & ~0xFFFFu;
  return std::vector<pt::Entry>{
      {"nvs", pt::type::kData, pt::subtype::kNvs, 0x9000, 0x6000, 0},
      {"otadata", pt::type::kData, pt::subtype::kDataOta, 0xF000, 0x2000, 0},
      {"phy_init", pt::type::kData, pt::subtype::kPhy, 0x11000, 0x1000, 0},
      {"nvs_keys", pt::type::kData, pt::subtype::kNvsKeys, 0x12000, 0x1000, pt::kFlagEncrypted},
      {"ota_0", pt::type::kApp, pt::subtype::kOta0, kAppStart, app_size, 0},
      {"ota_1", pt::type::kApp, static_cast<uint8_t>(pt::subtype::kOta0 + 1), kAppStart + app_size, app_size, 0},
  };
}

Result<Bytes> default_partition_table(uint32_t flash_size) {
  ESPSEC_ASSIGN_OR_RETURN(const auto entries, default_partitions(flash_size));
  return pt::serialize_table(entries, /*with_md5=*/true);
}

}  // namespace espsec::device
