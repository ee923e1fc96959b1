// The hardware-only key sidecar, `<efuse file>.hwkeys` (mode 0600).
//
// A read-protected key block reads as zeros to software, and espefuse's virtual file holds
// zeros for it. The chip's key engines (XTS-AES flash encryption, HMAC, DS) still use the
// burned key. espsec keeps what those engines see in this separate file, so the virtual device
// can still decrypt its flash while the espefuse-compatible eFuse file never contains the key.
// A record is only trusted while its block is read-protected in the eFuse file.
//
//   offset  size  field
//   0       8     magic "ESHWKEY1"
//   8       1     record count n (0..16)
//   9       3     zero
//   12      36*n  records, block ids strictly ascending:
//                   +0  1   block id
//                   +1  3   zero
//                   +4  32  the block's 32 bytes in register order (word 0 little-endian first)
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace espsec::efuse {

inline constexpr size_t kHwKeyBlockBytes = 32;
inline constexpr size_t kHwKeysMaxRecords = 16;

struct HardwareKeyRecord {
  uint8_t block = 0;
  SecretBytes contents;  // kHwKeyBlockBytes
};

// Total parse: magic, count, size, padding and record order each have their own error code
// ("efuse.hwkeys_magic", "efuse.hwkeys_count", "efuse.hwkeys_size", "efuse.hwkeys_padding",
// "efuse.hwkeys_order").
[[nodiscard]] Result<std::vector<HardwareKeyRecord>> parse_hwkeys_file(ByteSpan file);
// Records must have ascending unique block ids and 32-byte contents ("efuse.hwkeys_record").
[[nodiscard]] Result<SecretBytes> serialize_hwkeys_file(const std::vector<HardwareKeyRecord>& records);

}  // namespace espsec::efuse
