#include "encimg/container.hpp"

#include <algorithm>

namespace espsec::encimg {

Status check_magic(ByteSpan first4) {
  if (first4.size() < kMagicSize)
    return fail("encimg.header_truncated", "the image ends inside the 4-byte magic");
  if (!std::equal(kMagic.begin(), kMagic.end(), first4.begin()))
    return fail("encimg.magic", "not a pre-encrypted image: magic is {}, expected {}",
                to_hex(first4.first(kMagicSize)), to_hex(kMagic));
  return {};
}

Result<Header> parse_header(ByteSpan data) {
  ESPSEC_TRY(check_magic(data));
  if (data.size() < kHeaderSize)
    return fail("encimg.header_truncated", "the image ends after {} bytes, inside the {}-byte header",
                data.size(), kHeaderSize);
  Header h;
  std::copy_n(data.begin() + kKeyBlockOffset, kKeyBlockSize, h.key_block.begin());
  std::copy_n(data.begin() + kIvOffset, kIvSize, h.iv.begin());
  h.image_size = load_le32(data.data() + kSizeOffset);
  std::copy_n(data.begin() + kTagOffset, kTagSize, h.tag.begin());
  std::copy_n(data.begin() + kReservedOffset, kReservedSize, h.reserved.begin());
  return h;
}

Bytes serialize_header(const Header& h) {
  ByteWriter w(kHeaderSize);
  w.raw(kMagic).raw(h.key_block).raw(h.iv).le32(h.image_size).raw(h.tag).raw(h.reserved);
  return w.take();
}

EccKeyBlock ecc_key_block(const std::array<uint8_t, kKeyBlockSize>& key_block) {
  EccKeyBlock b;
  std::copy_n(key_block.begin(), kServerPointSize, b.server_point.begin());
  std::copy_n(key_block.begin() + kServerPointSize, kSaltSize, b.salt.begin());
  return b;
}

std::array<uint8_t, kKeyBlockSize> ecc_key_block_bytes(const EccKeyBlock& block) {
  std::array<uint8_t, kKeyBlockSize> out{};
  std::copy(block.server_point.begin(), block.server_point.end(), out.begin());
  std::copy(block.salt.begin(), block.salt.end(), out.begin() + kServerPointSize);
  return out;
}

}  // namespace espsec::encimg
