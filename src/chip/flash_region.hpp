// A partition as software on the chip sees it: a window [offset, offset + size) of a Flash,
// addressed from 0. NVS, OTA and key partitions are mounted through it, so an engine never
// learns (or can reach past) where its partition lives on the chip.
#pragma once

#include <cstdint>

#include "chip/flash.hpp"

namespace espsec::chip {

class FlashRegion final : public Flash {
 public:
  // Both offset and size must be multiples of the 4 KiB sector and lie inside `inner`.
  [[nodiscard]] static Result<FlashRegion> create(Flash& inner, uint32_t offset, uint32_t size);

  uint32_t size() const override { return size_; }
  uint32_t offset() const { return offset_; }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override;

 private:
  FlashRegion(Flash& inner, uint32_t offset, uint32_t size) : inner_(&inner), offset_(offset), size_(size) {}
  Flash* inner_;
  uint32_t offset_;
  uint32_t size_;
};

}  // namespace espsec::chip
