#include "encimg/encrypt.hpp"

#include <limits>

#include "crypto/aes.hpp"

namespace espsec::encimg {

Result<Bytes> encrypt_image(ByteSpan plaintext, const EncryptionKey& key, Rng& rng) {
  if (plaintext.size() > std::numeric_limits<uint32_t>::max())
    return fail("encimg.too_large", "the image is {} bytes; the container's size field holds at most {}",
                plaintext.size(), std::numeric_limits<uint32_t>::max());
  ESPSEC_ASSIGN_OR_RETURN(WrappedKey wrapped, wrap_new_key(key, rng));
  Header header;
  header.key_block = wrapped.key_block;
  rng.fill(header.iv);
  header.image_size = static_cast<uint32_t>(plaintext.size());
  ESPSEC_ASSIGN_OR_RETURN(crypto::GcmSealed sealed, crypto::gcm_seal(wrapped.aes_key, header.iv, {}, plaintext));
  std::copy(sealed.tag.begin(), sealed.tag.end(), header.tag.begin());
  Bytes out = serialize_header(header);
  out.insert(out.end(), sealed.ciphertext.begin(), sealed.ciphertext.end());
  return out;
}

}  // namespace espsec::encimg
