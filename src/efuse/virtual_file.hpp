// The espefuse virtual eFuse file (`espefuse --virt --path-efuse-file FILE`) for ESP32-C3 (S3 and
// C6 share the layout): the eFuse controller's 512-byte register window, byte-reversed as a
// whole. Register r (a 32-bit word at window offset r) is stored big-endian at file offset
// 0x1FC - r. Pure format code; the meaning of the registers is in chip.hpp / controller.hpp.
//
//   file offset   window offset  register(s)                     C3 (fact sheet 4.2, README 7)
//   0x000-0x003   0x1FC          DATE
//   0x008-0x00B   0x1F4          WR_TIM_CONF2                    0x190 after a burn
//   0x00C-0x00F   0x1F0          WR_TIM_CONF1                    0x3000 after a burn
//   0x014-0x017   0x1E8          DAC_CONF                        0x28 after a burn
//   0x028-0x02B   0x1D4          CMD
//   0x030-0x033   0x1CC          CONF                            0x5AA5 after a burn
//   0x038-0x03F   0x1C4..0x1C0   RD_RS_ERR1..0                   RS error counters / fail bits
//   0x070-0x083   0x18C..0x17C   RD_REPEAT_ERR4..0               BLOCK0 error bits
//   0x084-0x0A3   0x178..0x15C   BLOCK10 (BLOCK_SYS_DATA2)       8 words, word 7 first
//   0x0A4-0x0C3   0x158..0x13C   BLOCK9  (BLOCK_KEY5)
//     ...         (each key block 32 bytes lower in the window)
//   0x144-0x163   0x0B8..0x09C   BLOCK4  (BLOCK_KEY0)
//   0x164-0x183   0x098..0x07C   BLOCK3  (BLOCK_USR_DATA)
//   0x184-0x1A3   0x078..0x05C   BLOCK2  (BLOCK_SYS_DATA)
//   0x1A4-0x1BB   0x058..0x044   BLOCK1  (MAC_SPI_8M_0)          6 words
//   0x1BC-0x1D3   0x040..0x02C   BLOCK0                          6 words (WR_DIS last)
//   0x1D4-0x1DF   0x028..0x020   PGM_CHECK_VALUE2..0             RS parity of the last RS burn
//   0x1E0-0x1FF   0x01C..0x000   PGM_DATA7..0                    zero between commands
//
// Because the whole window is reversed, a block's bytes appear in the file in reverse order;
// a key that espefuse byte-reversed before burning appears in its original order.
#pragma once

#include <cstdint>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::efuse {

// The controller's register window as 32-bit words (index = window offset / 4).
class RegisterWindow {
 public:
  explicit RegisterWindow(size_t bytes) : words_(bytes / 4, 0) {}

  size_t size_bytes() const { return words_.size() * 4; }
  uint32_t reg(size_t offset) const { return words_.at(offset / 4); }
  void set_reg(size_t offset, uint32_t value) { words_.at(offset / 4) = value; }
  bool operator==(const RegisterWindow&) const = default;

 private:
  std::vector<uint32_t> words_;
};

// Parses a virtual eFuse file of exactly `window_bytes` bytes. An empty file is a fresh chip
// (espefuse initialises it to zeros). Any other size is refused ("efuse.file_size"): espefuse
// would silently pad or cut it, which could hide a truncated or foreign file.
[[nodiscard]] Result<RegisterWindow> parse_virtual_file(ByteSpan file, size_t window_bytes);

// The file bytes for `window` (byte for byte what espefuse writes).
Bytes serialize_virtual_file(const RegisterWindow& window);

}  // namespace espsec::efuse
