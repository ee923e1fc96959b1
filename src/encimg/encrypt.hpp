// Host-side encryption of a firmware image into the esp_encrypted_img container, as
// esp_enc_img_gen.py encrypt does (fresh AES-256 key and 16-byte IV per image, no AAD).
#pragma once

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "encimg/keys.hpp"

namespace espsec::encimg {

// Header followed by the ciphertext. "encimg.too_large" when the image does not fit the u32
// size field. Randomness (AES key, IV, ECIES ephemeral key and salt) comes from `rng`.
[[nodiscard]] Result<Bytes> encrypt_image(ByteSpan plaintext, const EncryptionKey& key, Rng& rng);

}  // namespace espsec::encimg
