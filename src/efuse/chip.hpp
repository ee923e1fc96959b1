// What an eFuse model needs to know about one chip: its blocks, every field (with espefuse's
// names, aliases, categories and descriptions, so summaries match espefuse line for line), the
// key purposes and the eFuse controller registers the virtual file keeps. Everything
// chip-specific lives in one data file per chip (esp32c3.cpp); the model itself is generic.
//
// Sources: espefuse v5.1.0 efuse_defs/<chip>.yaml and efuse/<chip>/{mem_definition,fields}.py,
// ESP-IDF components/efuse/<chip>/esp_efuse_table.csv (boot-chain fact sheet section 4).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace espsec::efuse {

inline constexpr int kNoBit = -1;

enum class Coding : uint8_t {
  kNone,         // BLOCK0: bits may be added later
  kReedSolomon,  // RS(44,32): the block can be programmed once
};

// Where the controller reports coding errors of an RS block (espefuse mem_definition.py
// BLOCK_FAIL_BIT / BLOCK_NUM_ERRORS).
struct BlockErrorBits {
  uint16_t fail_register = 0;
  int8_t fail_bit = kNoBit;  // kNoBit: the block has no fail flag
  uint16_t count_register = 0;
  int8_t count_shift = kNoBit;  // 3-bit error counter at this shift, kNoBit: none
};

struct BlockInfo {
  std::string_view name;   // espefuse name: "BLOCK_KEY0"
  std::string_view alias;  // the other name espefuse accepts: "BLOCK4" (empty for BLOCK0)
  uint8_t id;
  uint16_t read_offset;  // register offset of the block's first read word
  uint8_t words;         // 32-bit words of data (6 or 8)
  int8_t wr_dis_bit;     // WR_DIS bit that locks the whole block, or kNoBit
  int8_t rd_dis_bit;     // RD_DIS bit that hides the block from software, or kNoBit
  Coding coding;
  std::string_view key_purpose_field;  // "KEY_PURPOSE_0" for key blocks, empty otherwise
  BlockErrorBits errors;
};

enum class FieldType : uint8_t { kBool, kUint, kBytes };

// How espefuse presents and parses a field (its field classes).
enum class FieldKind : uint8_t {
  kPlain,
  kMac,          // "aa:bb:..:ff (OK)"
  kKeyPurpose,   // purpose names
  kBitCount,     // counters: a bare burn sets the next bit (SPI_BOOT_CRYPT_CNT, SECURE_VERSION)
  kKeyBlock,     // shows its block's key purpose in the text summary
  kTempSensor,   // sign bit + value x 0.1
  kAdcPoint,     // sign bit + value x 4
  kCalculated,   // no bits of its own: sum of other fields shifted (WAFER_VERSION_MINOR)
};

enum class Visibility : uint8_t {
  kShown,        // in espefuse's summary and accepted by its commands
  kCalibration,  // shown only when the block version is >= 1.0 (BLK_VERSION_MAJOR * 100 + MINOR)
  kHidden,       // tracked by the model (and the hardware) but not exposed by espefuse
};

struct Meaning {
  uint64_t value;
  std::string_view text;
};

struct CalcPart {
  std::string_view field;
  uint8_t shift;
};

struct FieldInfo {
  std::string_view name;
  std::array<std::string_view, 2> aliases;
  uint8_t block;
  int8_t word;  // -1 for kCalculated
  int8_t pos;   // -1 for kCalculated
  uint16_t bit_len;
  int8_t wr_dis_bit;  // kNoBit: cannot be write-protected
  int8_t rd_dis_bit;  // kNoBit: cannot be read-protected
  FieldType type;
  FieldKind kind;
  Visibility visibility;
  std::string_view category;  // espefuse category ("security", "spi pad", "MAC", ...)
  std::string_view description;
  std::span<const Meaning> meanings = {};
  std::span<const CalcPart> parts = {};

  bool calculated() const { return kind == FieldKind::kCalculated; }
  unsigned start_bit() const { return static_cast<unsigned>(word) * 32u + static_cast<unsigned>(pos); }
  bool has_name(std::string_view n) const {
    return !n.empty() && (n == name || n == aliases[0] || n == aliases[1]);
  }
};

// KEY_PURPOSE_n values. The numbers are the hardware's and the same on every chip with key
// purposes (ESP-IDF esp_efuse_purpose_t); which of them a chip offers is in its data.
enum class KeyPurpose : uint8_t {
  kUser = 0,
  kReserved = 1,
  kXtsAes256Key1 = 2,
  kXtsAes256Key2 = 3,
  kXtsAes128Key = 4,
  kHmacDownAll = 5,
  kHmacDownJtag = 6,
  kHmacDownDigitalSignature = 7,
  kHmacUp = 8,
  kSecureBootDigest0 = 9,
  kSecureBootDigest1 = 10,
  kSecureBootDigest2 = 11,
};

struct KeyPurposeInfo {
  std::string_view name;
  KeyPurpose value;
  bool reverse_on_burn;  // espefuse burn-key reverses the key file (AES-XTS keys)
  bool secret;           // read-protected by burn-key and esp_efuse_write_key
  bool digest;           // a Secure Boot key digest (burn-key-digest)
  bool xts;              // a flash-encryption key
};

// eFuse controller registers (offsets in the register window) that the virtual file keeps,
// and the values espefuse's emulator leaves in them after a program command.
struct ControllerRegisters {
  uint16_t pgm_data;       // PGM_DATA0..7
  uint16_t check_value;    // PGM_CHECK_VALUE0..2: RS parity of the last RS block programmed
  uint16_t repeat_err;     // RD_REPEAT_ERR0..: BLOCK0 error bits, word k <-> BLOCK0 word k + 1
  uint8_t repeat_err_words;
  uint16_t conf;
  uint16_t cmd;
  uint16_t dac_conf;
  uint16_t wr_tim_conf1;
  uint16_t wr_tim_conf2;
  uint32_t conf_after_burn;      // EFUSE_READ_OP_CODE, the last op code espefuse writes
  uint32_t dac_conf_bits;        // OR-ed in by espefuse's set_efuse_timing()
  uint32_t wr_tim_conf1_bits;
  uint32_t wr_tim_conf2_bits;
};

struct ChipDescription {
  std::string_view name;          // "esp32c3" (--chip)
  std::string_view display_name;  // "ESP32-C3"
  std::string_view emulated_revision;  // what espefuse's emulator reports: "v0.4"
  uint16_t register_window;       // bytes of the virtual file (EFUSE_MEM_SIZE)
  std::span<const BlockInfo> blocks;
  std::span<const FieldInfo> fields;  // in espefuse's order (its summary order within a category)
  std::span<const KeyPurposeInfo> key_purposes;
  ControllerRegisters registers;
  // Key block whose purpose may not be an XTS key (SOC_EFUSE_BLOCK9_KEY_PURPOSE_QUIRK).
  int8_t xts_forbidden_key_block;
  // Fields that must all be set (with CRYPT_CNT locked) for flash encryption RELEASE mode
  // (ESP-IDF esp_get_flash_encryption_mode()).
  std::span<const std::string_view> release_mode_fields;
};

// The chip named like espefuse's --chip, or nullptr when espsec has no data for it yet.
const ChipDescription* find_chip(std::string_view name);
const ChipDescription& esp32c3();

}  // namespace espsec::efuse
