// A partition's view of the flash: addresses 0 .. size-1 of the window are `offset` ..
// `offset + size - 1` of the underlying Flash, and nothing outside is reachable.
//
// With flash encryption the window goes on top of the EncryptedFlash view (which works in
// absolute flash addresses, as the XTS tweak requires), never underneath it:
//   FileFlash  <-  EncryptedFlash  <-  FlashWindow(otadata)
#pragma once

#include <cstdint>

#include "chip/flash.hpp"

namespace espsec::chip {

class FlashWindow final : public Flash {
 public:
  // `offset` must be 4 KiB aligned (erases stay sector-aligned) and the window inside `inner`.
  [[nodiscard]] static Result<FlashWindow> make(Flash& inner, uint32_t offset, uint32_t size);

  uint32_t size() const override { return size_; }
  uint32_t offset() const { return offset_; }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override;

 private:
  FlashWindow(Flash& inner, uint32_t offset, uint32_t size) : inner_(&inner), offset_(offset), size_(size) {}
  Status check(uint32_t address, uint64_t length, const char* op) const;
  Flash* inner_;
  uint32_t offset_;
  uint32_t size_;
};

}  // namespace espsec::chip
