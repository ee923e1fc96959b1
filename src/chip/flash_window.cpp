#include "chip/flash_window.hpp"

namespace espsec::chip {

Result<FlashWindow> FlashWindow::make(Flash& inner, uint32_t offset, uint32_t size) {
  if (offset % kSectorSize != 0)
    return fail("flash.unaligned", "partition offset 0x{:x} is not 4 KiB aligned", offset);
  if (uint64_t{offset} + size > inner.size())
    return fail("flash.out_of_range", "partition at 0x{:x} of 0x{:x} bytes runs past the end of the 0x{:x} byte flash",
                offset, size, inner.size());
  return FlashWindow(inner, offset, size);
}

Status FlashWindow::check(uint32_t address, uint64_t length, const char* op) const {
  if (uint64_t{address} + length > size_)
    return fail("flash.out_of_range",
                "{} of {} bytes at partition offset 0x{:x} runs past the end of the 0x{:x} byte partition at 0x{:x}",
                op, length, address, size_, offset_);
  return {};
}

Status FlashWindow::read(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(check(address, out.size(), "read"));
  return inner_->read(offset_ + address, out);
}

Status FlashWindow::program(uint32_t address, ByteSpan data) {
  ESPSEC_TRY(check(address, data.size(), "program"));
  return inner_->program(offset_ + address, data);
}

Status FlashWindow::erase_sector(uint32_t address) {
  if (address % kSectorSize != 0)
    return fail("flash.unaligned", "flash erase at partition offset 0x{:x} is not 4 KiB aligned", address);
  ESPSEC_TRY(check(address, kSectorSize, "erase"));
  return inner_->erase_sector(offset_ + address);
}

}  // namespace espsec::chip
