// Streaming decryption of a pre-encrypted image on the device, chunk by chunk, as
// esp_encrypted_img_decrypt_start/_data/_end do (storage-and-OTA fact sheet 4.2). It holds at
// most the 512-byte header, never the image.
//
//   ImageDecryptor dec(std::move(key));
//   while (chunk = next()) {
//     ESPSEC_TRY(dec.feed(chunk, out));        // out: UNAUTHENTICATED plaintext
//     if (auto n = dec.image_size()) check_fits_slot(*n);
//     write_to_passive_slot(out);
//   }
//   ESPSEC_TRY(dec.finish());                  // GCM tag: only now is the plaintext genuine
//   mark_passive_slot_bootable();
//
// SECURITY: feed() releases plaintext BEFORE the GCM tag has been checked. Those bytes are
// unauthenticated: an attacker who altered the ciphertext controls them (AES-GCM is a stream
// cipher, so flipped ciphertext bits flip the same plaintext bits). Write them only where
// they cannot run or be trusted (the passive OTA slot) and act on them only after finish()
// returns success, as esp_https_ota does with the decrypt callback. On any error, discard
// everything already written.
//
// Errors (each with its own code; the first error is sticky and repeated by later calls):
//   encimg.magic            the first 4 bytes are not CF B6 88 07 (detected at byte 4,
//                           before any key operation)
//   encimg.unwrap           RSA: the key block does not unwrap to a 32-byte key (wrong key or
//                           corrupted block; detected at byte 388)
//   encimg.key_agreement    ECIES: the server point is not on P-256 (detected at byte 388)
//   encimg.size_mismatch    more bytes arrived than the header's image size (detected by feed)
//   encimg.header_truncated finish() before the 512-byte header was complete
//   encimg.body_truncated   finish() before image-size bytes of ciphertext arrived
//   encimg.tag              finish(): the GCM tag does not match (tampered IV, ciphertext, tag,
//                           ECIES salt, or an image made for another key)
//   encimg.state            feed() or finish() after a successful finish()
// The format has no version field, so there is no "unsupported version" case: a foreign or
// future format is refused by its magic.
#pragma once

#include <memory>
#include <optional>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "encimg/container.hpp"
#include "encimg/keys.hpp"

namespace espsec::encimg {

class ImageDecryptor {
 public:
  explicit ImageDecryptor(DecryptionKey key);
  ImageDecryptor(ImageDecryptor&&) noexcept;
  ImageDecryptor& operator=(ImageDecryptor&&) noexcept;
  ~ImageDecryptor();

  // Consumes `chunk` (any size, including 0 and 1 byte, and chunks that split the header) and
  // appends the plaintext it yields to `plaintext_out` (UNAUTHENTICATED, see above).
  [[nodiscard]] Status feed(ByteSpan chunk, Bytes& plaintext_out);
  // Same, returning the plaintext of this chunk.
  [[nodiscard]] Result<Bytes> feed(ByteSpan chunk);
  // Checks that the whole image arrived and verifies the GCM tag. Success is the only point
  // from which the released plaintext may be trusted.
  [[nodiscard]] Status finish();

  // The plaintext size declared by the header, once the header has been read (so the caller
  // can check it against the target partition before writing anything).
  std::optional<uint32_t> image_size() const;
  bool header_complete() const { return image_size().has_value(); }
  // True once image_size() bytes of ciphertext have been consumed
  // (esp_encrypted_img_is_complete_data_received).
  bool all_data_received() const;
  uint64_t bytes_consumed() const { return consumed_; }  // header included
  Scheme scheme() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t consumed_ = 0;
};

}  // namespace espsec::encimg
