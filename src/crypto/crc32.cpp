#include "crypto/crc32.hpp"

#include <zlib.h>

namespace espsec::crypto {

uint32_t crc32_le(uint32_t previous, ByteSpan data) {
  uLong crc = previous;
  // zlib takes uInt lengths; feed large buffers in pieces.
  size_t done = 0;
  while (done < data.size()) {
    const size_t n = std::min<size_t>(data.size() - done, 1u << 30);
    crc = ::crc32(crc, data.data() + done, static_cast<uInt>(n));
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace espsec::crypto
