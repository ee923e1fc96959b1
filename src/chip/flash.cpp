#include "chip/flash.hpp"

#include <algorithm>
#include <cstring>

namespace espsec::chip {

Status check_range(uint32_t flash_size, uint32_t address, uint64_t length, const char* op) {
  if (static_cast<uint64_t>(address) + length > flash_size)
    return fail("flash.out_of_range", "flash {} of {} bytes at 0x{:x} runs past the end of the {} byte flash", op,
                length, address, flash_size);
  return {};
}

Status Flash::erase_range(uint32_t address, uint32_t length) {
  if (address % kSectorSize != 0 || length % kSectorSize != 0)
    return fail("flash.unaligned", "flash erase at 0x{:x} length 0x{:x} is not 4 KiB aligned", address, length);
  ESPSEC_TRY(check_range(size(), address, length, "erase"));
  for (uint32_t a = address; a < address + length; a += kSectorSize) ESPSEC_TRY(erase_sector(a));
  return {};
}

Result<Bytes> Flash::read_bytes(uint32_t address, uint32_t length) {
  Bytes out(length);
  ESPSEC_TRY(read(address, out));
  return out;
}

Status MemoryFlash::read(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(check_range(size(), address, out.size(), "read"));
  std::memcpy(out.data(), data_.data() + address, out.size());
  return {};
}

Status MemoryFlash::program(uint32_t address, ByteSpan data) {
  ESPSEC_TRY(check_range(size(), address, data.size(), "program"));
  uint8_t* dst = data_.data() + address;
  for (size_t i = 0; i < data.size(); ++i) dst[i] &= data[i];
  return {};
}

Status MemoryFlash::erase_sector(uint32_t address) {
  if (address % kSectorSize != 0)
    return fail("flash.unaligned", "flash erase at 0x{:x} is not 4 KiB aligned", address);
  ESPSEC_TRY(check_range(size(), address, kSectorSize, "erase"));
  std::memset(data_.data() + address, 0xFF, kSectorSize);
  return {};
}

Status FaultInjectingFlash::read(uint32_t address, MutableByteSpan out) {
  if (power_lost_) return lost();
  return inner_.read(address, out);
}

FaultInjectingFlash::Gate FaultInjectingFlash::spend() {
  if (power_lost_) return Gate::kDead;
  if (budget_ && operations_ >= *budget_) {
    power_lost_ = true;
    return Gate::kCutNow;
  }
  return Gate::kRun;
}

Status FaultInjectingFlash::lost() const {
  return fail("flash.power_lost", "power was cut after flash operation {}", operations_);
}

Status FaultInjectingFlash::program(uint32_t address, ByteSpan data) {
  const Gate gate = spend();
  if (gate == Gate::kCutNow && torn_ && !data.empty() && check_range(size(), address, data.size(), "program"))
    (void)inner_.program(address, data.first(data.size() / 2));
  if (gate != Gate::kRun) return lost();
  ESPSEC_TRY(inner_.program(address, data));
  ++operations_;
  return {};
}

Status FaultInjectingFlash::erase_sector(uint32_t address) {
  const Gate gate = spend();
  if (gate == Gate::kCutNow && torn_ && address % kSectorSize == 0 &&
      check_range(size(), address, kSectorSize, "erase")) {
    // Half an erase: the first half of the sector reads 0xFF, the rest keeps its old bytes.
    Bytes old(kSectorSize / 2);
    if (inner_.read(address + kSectorSize / 2, old) && inner_.erase_sector(address))
      (void)inner_.program(address + kSectorSize / 2, old);
  }
  if (gate != Gate::kRun) return lost();
  ESPSEC_TRY(inner_.erase_sector(address));
  ++operations_;
  return {};
}

}  // namespace espsec::chip
