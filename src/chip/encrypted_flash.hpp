// Transparent flash encryption as the ESP32-C3's cache and flash-encryption engine apply it:
// software reads plaintext (decrypted on the way in) and writes plaintext that reaches the
// chip encrypted. Ciphertext = espsecure encrypt-flash-data --aes-xts with the same key at the
// same absolute address (boot-chain fact sheet 3.1, 3.5).
//
// - read: any address and length; the 16-byte blocks around the range are decrypted.
// - program: the engine works on whole 16-byte blocks, so address and length must be
//   multiples of 16 ("flash.encrypted_unaligned" otherwise, nothing written).
// - erase: passes through; an erased sector therefore reads back as decrypted 0xFF, i.e.
//   noise, exactly as on the chip.
//
// The view uses absolute flash addresses (the XTS tweak is the flash address): put it directly
// on the whole flash and take partition windows from it.
#pragma once

#include "chip/flash.hpp"
#include "flashcrypt/xts.hpp"

namespace espsec::chip {

class EncryptedFlash final : public Flash {
 public:
  EncryptedFlash(Flash& raw, flashcrypt::FlashXts xts) : raw_(raw), xts_(std::move(xts)) {}

  uint32_t size() const override { return raw_.size(); }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override { return raw_.erase_sector(address); }

 private:
  Flash& raw_;
  flashcrypt::FlashXts xts_;
};

}  // namespace espsec::chip
