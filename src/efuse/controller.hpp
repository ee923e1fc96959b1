// The eFuse controller of a virtual chip: one-time-programmable bits, write protection (WR_DIS),
// read protection (RD_DIS), Reed-Solomon coded blocks that program once, key purposes, and the
// ESP-IDF helpers the boot chain needs. State persists through a Storage as the espefuse virtual
// eFuse file (byte for byte what espefuse writes) plus a sidecar with what only the hardware key
// engines can see.
//
// Burning works like ESP-IDF's esp_efuse_batch_write_begin/commit: a Batch collects bit sets,
// each checked as espefuse checks it, and commit() programs them all as one burn operation
// (blocks BLOCKn..BLOCK1, then BLOCK0, as espefuse and ESP-IDF do) and stores the result with
// one atomic replace. A power cut therefore leaves the old or the new committed state, never a
// mixture; real hardware programs block by block, which this model deliberately does not split.
//
// Thread-compatibility: a Controller and its Batches are not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "efuse/chip.hpp"
#include "efuse/hwkeys_file.hpp"
#include "efuse/virtual_file.hpp"

namespace espsec::efuse {

// Everything a Controller persists.
struct StoredState {
  Bytes file;                                    // the espefuse virtual eFuse file
  std::vector<HardwareKeyRecord> hardware_keys;  // contents of read-protected blocks, hardware view
};

// Where a Controller keeps its state. save() must replace the stored state atomically (a crash
// leaves the previous or the new state) and keep the hardware keys away from the eFuse file.
class Storage {
 public:
  virtual ~Storage() = default;
  // nullopt when nothing is stored yet: a fresh chip.
  [[nodiscard]] virtual Result<std::optional<StoredState>> load() = 0;
  [[nodiscard]] virtual Status save(const StoredState& state) = 0;
};

enum class FlashEncryptionMode { kDisabled, kDevelopment, kRelease };

// What a batch would change, field by field, in the software view.
struct FieldChange {
  const FieldInfo* field;
  Bytes before;  // field bits (little-endian) as software reads them now
  Bytes after;   // the bits programmed once the batch is committed
  bool readable_after = true;  // false when the batch read-protects the field
};

// How a request to set bits ended when it did not fail.
enum class Staged {
  kQueued,         // the bits will be burned at commit
  kAlreadyBurned,  // every requested bit is already set: nothing to do
  kAlreadyQueued,  // the same value is already waiting in this batch
};

class Batch;

class Controller {
 public:
  // Loads the chip state (nothing stored = a fresh chip, which is stored right away, as espefuse
  // creates a missing file). Refuses a file whose read-protected blocks hold data
  // ("efuse.file_inconsistent"): espefuse and the hardware never let software see such bits.
  [[nodiscard]] static Result<std::unique_ptr<Controller>> open(const ChipDescription& chip,
                                                                std::unique_ptr<Storage> storage);
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;
  ~Controller();

  const ChipDescription& chip() const { return chip_; }

  // Lookup by espefuse name or alias (exact spelling); nullptr when unknown.
  const FieldInfo* find_field(std::string_view name) const;
  const BlockInfo* find_block(std::string_view name) const;
  const BlockInfo& block(unsigned id) const { return chip_.blocks[id]; }
  const FieldInfo& field(std::string_view name) const;  // for names every chip has; aborts otherwise

  // ---- What software reads (and what the eFuse file holds): read-protected blocks are zeros.
  Bytes read_bits(const FieldInfo& field) const;  // little-endian; calculated fields computed
  uint64_t read_uint(const FieldInfo& field) const;
  [[nodiscard]] Result<uint64_t> read_uint(std::string_view name) const;
  Bytes read_block(unsigned id) const;  // register order, words * 4 bytes
  uint32_t read_register(uint16_t offset) const { return registers_.reg(offset); }
  const RegisterWindow& registers() const { return registers_; }
  Bytes file_image() const;

  bool wr_dis(int bit) const;  // false for kNoBit
  bool rd_dis(int bit) const;
  bool field_readable(const FieldInfo& field) const { return !rd_dis(field.rd_dis_bit); }
  bool field_writeable(const FieldInfo& field) const { return !wr_dis(field.wr_dis_bit); }
  bool block_readable(unsigned id) const { return !rd_dis(block(id).rd_dis_bit); }
  bool block_writeable(unsigned id) const { return !wr_dis(block(id).wr_dis_bit); }

  // ---- ESP-IDF semantics the boot chain relies on.
  bool is_key_block(unsigned id) const;
  uint8_t key_purpose_value(unsigned key_block) const;  // raw KEY_PURPOSE_n
  const KeyPurposeInfo* purpose_info(KeyPurpose purpose) const;   // nullptr if the chip lacks it
  const KeyPurposeInfo* purpose_info(std::string_view name) const;
  // esp_efuse_find_purpose: the first key block with `purpose`.
  std::optional<unsigned> key_block_with_purpose(KeyPurpose purpose) const;
  // esp_efuse_key_block_unused: purpose USER and not write-protected, block neither read- nor
  // write-protected, all bits zero.
  bool key_block_unused(unsigned id) const;
  std::optional<unsigned> find_unused_key_block() const;
  unsigned secure_version() const;        // number of bits set in SECURE_VERSION
  bool flash_encryption_enabled() const;  // odd number of bits in SPI_BOOT_CRYPT_CNT
  FlashEncryptionMode flash_encryption_mode() const;  // esp_get_flash_encryption_mode
  // Plaintext re-flashes left: (CRYPT_CNT width - bits set) / 2, 0 once CRYPT_CNT is locked.
  unsigned plaintext_flashes_left() const;
  bool secure_boot_enabled() const;
  bool secure_boot_key_revoked(unsigned digest_index) const;  // SECURE_BOOT_KEY_REVOKEn
  bool jtag_soft_disabled() const;                            // odd number of bits in SOFT_DIS_JTAG
  unsigned block_version() const;  // BLK_VERSION_MAJOR * 100 + BLK_VERSION_MINOR

  // ---- What the hardware key engines see. The only door to read-protected key material.
  // A readable block gives its contents; a read-protected one the contents recorded when it
  // was protected ("efuse.hw_key_unknown" when protection came from another tool).
  [[nodiscard]] Result<SecretBytes> hardware_key(unsigned block) const;
  // The flash-encryption key in espsecure key-file order (the block reversed; XTS-AES-256 as
  // KEY_1 || KEY_2), ready for flashcrypt::FlashXts ("efuse.no_flash_key" when none is burned).
  [[nodiscard]] Result<SecretBytes> flash_encryption_key() const;

  // ---- Coding errors the controller reports (RD_REPEAT_ERR*, RD_RS_ERR*).
  struct BlockErrors {
    unsigned errors = 0;
    bool fail = false;
  };
  BlockErrors block_errors(unsigned id) const;
  bool field_has_error(const FieldInfo& field) const;

  // ---- Burning. Every burn goes through Batch::commit, which counts it.
  [[nodiscard]] Batch begin_batch();
  uint64_t burn_count() const { return burn_count_; }  // committed, non-empty batches
  // Test hook: power is cut once `burns` burn operations have been committed in total; the next
  // commit (and every later one) fails with "efuse.power_lost" and changes nothing. Reopening
  // the storage is the next power-on. nullopt removes the cut.
  void cut_power_after(std::optional<uint64_t> burns) { power_budget_ = burns; }
  bool power_lost() const { return power_lost_; }

 private:
  friend class Batch;
  struct Programmed;  // the state a commit would produce

  Controller(const ChipDescription& chip, std::unique_ptr<Storage> storage);
  Bytes block_bits(const RegisterWindow& window, unsigned id) const;
  Bytes field_bits(const RegisterWindow& window, const FieldInfo& field) const;
  void put_block(RegisterWindow& window, unsigned id, ByteSpan bits) const;
  // The state after programming `pending`; with `hide_read_protected`, newly read-protected
  // blocks move from the software view to the hardware-only view, as the hardware does.
  Programmed program(const std::vector<SecretBytes>& pending, bool hide_read_protected = true) const;
  StoredState stored_state(const RegisterWindow& window, const std::vector<std::optional<SecretBytes>>& hidden) const;
  [[nodiscard]] Status commit(Batch& batch);

  const ChipDescription& chip_;
  std::unique_ptr<Storage> storage_;
  RegisterWindow registers_;
  std::vector<std::optional<SecretBytes>> hidden_;  // per block: hardware view of a read-protected block
  uint64_t burn_count_ = 0;
  uint64_t generation_ = 0;  // bumped by every commit; a Batch from an older generation is stale
  std::optional<uint64_t> power_budget_;
  bool power_lost_ = false;
};

// Pending bit sets for one commit. Each request is checked against the committed state and the
// earlier requests, with espefuse's rules and wording; a refused request changes nothing.
// A Batch must not outlive its Controller; dropping it uncommitted cancels it.
class Batch {
 public:
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) noexcept = default;

  // Sets the bits of `value` (little-endian, field-sized) in `field`. Errors: "efuse.calculated",
  // "efuse.value_too_wide", "efuse.clear_bits" (a 1 already burned where `value` has 0; not for
  // WR_DIS/RD_DIS, which accumulate), "efuse.read_protected", "efuse.write_protected",
  // "efuse.rs_programmed" (an RS block already holds data).
  [[nodiscard]] Result<Staged> set_field(const FieldInfo& field, ByteSpan value);
  [[nodiscard]] Result<Staged> set_field(std::string_view name, uint64_t value);
  // Sets individual bits of a block ("efuse.bit_range" if out of range). In BLOCK0 a bit that
  // belongs to a write-protected field is refused, where the hardware would silently ignore it.
  [[nodiscard]] Result<Staged> set_bits(unsigned block, std::span<const unsigned> bits);
  // One RD_DIS bit ("efuse.bit_range", "efuse.rd_dis_locked" once RD_DIS is write-protected).
  [[nodiscard]] Result<Staged> read_protect(int rd_dis_bit);
  // The RD_DIS bit of a block ("efuse.not_read_protectable" for blocks without one).
  [[nodiscard]] Result<Staged> read_protect_block(unsigned block);
  // One WR_DIS bit: locks every field and block that bit covers.
  [[nodiscard]] Result<Staged> write_protect(int wr_dis_bit);

  // ESP-IDF esp_efuse_write_key: `key` (up to 32 bytes, written as is) into an unused key block,
  // the block write-protected, read-protected for secret purposes, the purpose set and
  // write-protected. Errors: "efuse.not_key_block", "efuse.key_block_in_use",
  // "efuse.key_purpose_unsupported", "efuse.key_purpose_quirk" (XTS key in the quirk block),
  // "efuse.key_size".
  [[nodiscard]] Status write_key(unsigned block, KeyPurpose purpose, const SecretBytes& key);
  // esp_efuse_write_keys for one key: the first key block that is unused and not touched by
  // this batch. Returns the block id ("efuse.no_free_key_block").
  [[nodiscard]] Result<unsigned> write_key_to_unused_block(KeyPurpose purpose, const SecretBytes& key);

  bool empty() const;
  bool touches_block(unsigned block) const;
  SecretBytes pending_block(unsigned block) const { return pending_[block].clone(); }  // bits to set
  std::vector<FieldChange> changes() const;  // every field whose software-view value changes

  // Programs everything as one burn operation and stores it. An empty batch commits nothing
  // and is not counted. Errors: "efuse.power_lost", "efuse.stale_batch" (another batch
  // committed since this one began), and storage errors (the state is then unchanged).
  [[nodiscard]] Status commit();
  void cancel();

 private:
  friend class Controller;
  explicit Batch(Controller& controller);
  [[nodiscard]] Status usable() const;
  Bytes pending_field(const FieldInfo& field) const;
  [[nodiscard]] Status check_block_writable(unsigned block, ByteSpan new_bits) const;

  Controller* controller_;
  uint64_t generation_;
  std::vector<SecretBytes> pending_;  // per block, register order; may hold key material
};

}  // namespace espsec::efuse
