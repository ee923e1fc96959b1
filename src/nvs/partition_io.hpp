// Internal to the NVS engine: the partition as the engine reads and writes it, mirroring
// ESP-IDF's NVSPartition / NVSEncryptedPartition. Raw operations (page headers, bitmaps,
// purge zeros) bypass encryption; entry operations go through EntryCipher when keys are set.
#pragma once

#include <cstdint>
#include <optional>

#include "chip/flash.hpp"
#include "nvs/cipher.hpp"
#include "nvs/format.hpp"

namespace espsec::nvs {

class PartitionIo {
 public:
  PartitionIo(chip::Flash& flash, std::optional<EntryCipher> cipher)
      : flash_(&flash), cipher_(std::move(cipher)) {}

  uint32_t size() const { return flash_->size(); }
  bool encrypted() const { return cipher_.has_value(); }

  [[nodiscard]] Status read_raw(uint32_t address, MutableByteSpan out) { return track(flash_->read(address, out)); }
  [[nodiscard]] Status write_raw(uint32_t address, ByteSpan data) { return track(flash_->program(address, data)); }
  [[nodiscard]] Status erase_page(uint32_t address) { return track(flash_->erase_sector(address)); }

  // Whole entries, decrypted / encrypted under their own addresses.
  [[nodiscard]] Status read_entries(uint32_t address, MutableByteSpan out);
  [[nodiscard]] Status write_entries(uint32_t address, ByteSpan data);
  [[nodiscard]] Result<Item> read_item(uint32_t address);

  // True once any flash or cipher operation failed: a write sequence may have stopped midway.
  bool failed() const { return failed_; }

 private:
  Status track(Status s) {
    if (!s) failed_ = true;
    return s;
  }
  chip::Flash* flash_;
  std::optional<EntryCipher> cipher_;
  bool failed_ = false;
};

}  // namespace espsec::nvs
