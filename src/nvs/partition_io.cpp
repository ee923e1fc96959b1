#include "nvs/partition_io.hpp"

#include <array>

namespace espsec::nvs {

Status PartitionIo::read_entries(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(track(flash_->read(address, out)));
  if (cipher_) ESPSEC_TRY(track(cipher_->decrypt(address, out, out)));
  return {};
}

Status PartitionIo::write_entries(uint32_t address, ByteSpan data) {
  if (!cipher_) return track(flash_->program(address, data));
  Bytes buf(data.size());
  ESPSEC_TRY(track(cipher_->encrypt(address, data, buf)));
  return track(flash_->program(address, buf));
}

Result<Item> PartitionIo::read_item(uint32_t address) {
  std::array<uint8_t, kEntrySize> raw;
  ESPSEC_TRY(read_entries(address, raw));
  return Item::parse(raw);
}

}  // namespace espsec::nvs
