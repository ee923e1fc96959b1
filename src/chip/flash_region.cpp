#include "chip/flash_region.hpp"

namespace espsec::chip {

Result<FlashRegion> FlashRegion::create(Flash& inner, uint32_t offset, uint32_t size) {
  if (offset % kSectorSize != 0 || size % kSectorSize != 0)
    return fail("flash.region_unaligned", "partition at 0x{:x} of 0x{:x} bytes is not 4 KiB aligned", offset, size);
  if (static_cast<uint64_t>(offset) + size > inner.size())
    return fail("flash.region_range", "partition at 0x{:x} of 0x{:x} bytes runs past the end of the 0x{:x} byte flash",
                offset, size, inner.size());
  return FlashRegion(inner, offset, size);
}

Status FlashRegion::read(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(check_range(size_, address, out.size(), "read"));
  return inner_->read(offset_ + address, out);
}

Status FlashRegion::program(uint32_t address, ByteSpan data) {
  ESPSEC_TRY(check_range(size_, address, data.size(), "program"));
  return inner_->program(offset_ + address, data);
}

Status FlashRegion::erase_sector(uint32_t address) {
  if (address % kSectorSize != 0)
    return fail("flash.unaligned", "flash erase at 0x{:x} is not 4 KiB aligned", address);
  ESPSEC_TRY(check_range(size_, address, kSectorSize, "erase"));
  return inner_->erase_sector(offset_ + address);
}

}  // namespace espsec::chip
