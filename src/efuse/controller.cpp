#include "efuse/controller.hpp"

#include <algorithm>
#include <bit>
#include <cstdlib>

#include <fmt/format.h>

#include "efuse/bits.hpp"
#include "efuse/reed_solomon.hpp"

namespace espsec::efuse {
namespace {

using Hidden = std::vector<std::optional<SecretBytes>>;

Hidden clone_hidden(const Hidden& hidden) {
  Hidden out;
  out.reserve(hidden.size());
  for (const auto& h : hidden) out.push_back(h ? std::optional<SecretBytes>(h->clone()) : std::nullopt);
  return out;
}

size_t block_bytes(const BlockInfo& block) { return size_t{block.words} * 4; }

}  // namespace

struct Controller::Programmed {
  RegisterWindow registers;
  Hidden hidden;
};

Controller::Controller(const ChipDescription& chip, std::unique_ptr<Storage> storage)
    : chip_(chip), storage_(std::move(storage)), registers_(chip.register_window), hidden_(chip.blocks.size()) {}

Controller::~Controller() = default;

Result<std::unique_ptr<Controller>> Controller::open(const ChipDescription& chip, std::unique_ptr<Storage> storage) {
  std::unique_ptr<Controller> c(new Controller(chip, std::move(storage)));
  ESPSEC_ASSIGN_OR_RETURN(auto stored, c->storage_->load());
  if (!stored || stored->file.empty()) {
    // espefuse writes 512 zero bytes for a missing or empty file; so do we.
    ESPSEC_TRY(c->storage_->save(c->stored_state(c->registers_, c->hidden_)));
    return c;
  }
  ESPSEC_ASSIGN_OR_RETURN(c->registers_, parse_virtual_file(stored->file, chip.register_window));
  for (const BlockInfo& block : chip.blocks) {
    if (block.rd_dis_bit != kNoBit && c->rd_dis(block.rd_dis_bit) && !all_zero(c->read_block(block.id)))
      return fail("efuse.file_inconsistent",
                  "{} is read-protected but the eFuse file holds data for it; neither the chip nor espefuse "
                  "ever lets software see such bits, so the file is damaged or not an eFuse file",
                  block.name);
  }
  for (auto& record : stored->hardware_keys) {
    if (record.block >= chip.blocks.size() || chip.blocks[record.block].rd_dis_bit == kNoBit)
      return fail("efuse.hwkeys_block", "hardware key file names block {}, which cannot be read-protected on {}",
                  record.block, chip.display_name);
    // A record only counts while its block is read-protected: a crash between writing the
    // sidecar and the eFuse file leaves records the file does not need yet.
    if (!c->block_readable(record.block)) c->hidden_[record.block] = std::move(record.contents);
  }
  return c;
}

const FieldInfo* Controller::find_field(std::string_view name) const {
  for (const FieldInfo& f : chip_.fields)
    if (f.has_name(name)) return &f;
  return nullptr;
}

const BlockInfo* Controller::find_block(std::string_view name) const {
  for (const BlockInfo& b : chip_.blocks)
    if (name == b.name || (!b.alias.empty() && name == b.alias)) return &b;
  return nullptr;
}

const FieldInfo& Controller::field(std::string_view name) const {
  const FieldInfo* f = find_field(name);
  if (f == nullptr) std::abort();  // chip data lacks a field every supported chip has: a bug
  return *f;
}

Bytes Controller::block_bits(const RegisterWindow& window, unsigned id) const {
  const BlockInfo& b = block(id);
  Bytes out(block_bytes(b));
  for (size_t k = 0; k < b.words; ++k) store_le32(out.data() + 4 * k, window.reg(b.read_offset + 4 * k));
  return out;
}

void Controller::put_block(RegisterWindow& window, unsigned id, ByteSpan bits) const {
  const BlockInfo& b = block(id);
  for (size_t k = 0; k < b.words; ++k) window.set_reg(b.read_offset + 4 * k, load_le32(bits.data() + 4 * k));
}

Bytes Controller::field_bits(const RegisterWindow& window, const FieldInfo& f) const {
  if (f.calculated()) {
    uint64_t value = 0;
    for (const CalcPart& part : f.parts) value += to_uint(field_bits(window, field(part.field))) << part.shift;
    return from_uint(value, f.bit_len);
  }
  return extract_bits(block_bits(window, f.block), f.start_bit(), f.bit_len);
}

Bytes Controller::read_block(unsigned id) const { return block_bits(registers_, id); }

Bytes Controller::read_bits(const FieldInfo& f) const { return field_bits(registers_, f); }

uint64_t Controller::read_uint(const FieldInfo& f) const { return to_uint(read_bits(f)); }

Result<uint64_t> Controller::read_uint(std::string_view name) const {
  const FieldInfo* f = find_field(name);
  if (f == nullptr) return fail("efuse.unknown_field", "{} has no eFuse named {}", chip_.display_name, name);
  return read_uint(*f);
}

Bytes Controller::file_image() const { return serialize_virtual_file(registers_); }

bool Controller::wr_dis(int bit) const {
  return bit != kNoBit && ((read_uint(field("WR_DIS")) >> bit) & 1u) != 0;
}

bool Controller::rd_dis(int bit) const {
  return bit != kNoBit && ((read_uint(field("RD_DIS")) >> bit) & 1u) != 0;
}

bool Controller::is_key_block(unsigned id) const { return id < chip_.blocks.size() && !block(id).key_purpose_field.empty(); }

uint8_t Controller::key_purpose_value(unsigned key_block) const {
  return static_cast<uint8_t>(read_uint(field(block(key_block).key_purpose_field)));
}

const KeyPurposeInfo* Controller::purpose_info(KeyPurpose purpose) const {
  for (const KeyPurposeInfo& p : chip_.key_purposes)
    if (p.value == purpose) return &p;
  return nullptr;
}

const KeyPurposeInfo* Controller::purpose_info(std::string_view name) const {
  for (const KeyPurposeInfo& p : chip_.key_purposes)
    if (p.name == name) return &p;
  return nullptr;
}

std::optional<unsigned> Controller::key_block_with_purpose(KeyPurpose purpose) const {
  for (const BlockInfo& b : chip_.blocks)
    if (is_key_block(b.id) && key_purpose_value(b.id) == static_cast<uint8_t>(purpose)) return b.id;
  return std::nullopt;
}

bool Controller::key_block_unused(unsigned id) const {
  if (!is_key_block(id)) return false;
  const FieldInfo& purpose = field(block(id).key_purpose_field);
  return read_uint(purpose) == static_cast<uint8_t>(KeyPurpose::kUser) && field_writeable(purpose) &&
         block_readable(id) && block_writeable(id) && all_zero(read_block(id));
}

std::optional<unsigned> Controller::find_unused_key_block() const {
  for (const BlockInfo& b : chip_.blocks)
    if (key_block_unused(b.id)) return b.id;
  return std::nullopt;
}

unsigned Controller::secure_version() const {
  return static_cast<unsigned>(popcount(read_bits(field("SECURE_VERSION"))));
}

bool Controller::flash_encryption_enabled() const {
  return popcount(read_bits(field("SPI_BOOT_CRYPT_CNT"))) % 2 == 1;
}

FlashEncryptionMode Controller::flash_encryption_mode() const {
  if (!flash_encryption_enabled()) return FlashEncryptionMode::kDisabled;
  const FieldInfo& cnt = field("SPI_BOOT_CRYPT_CNT");
  const bool locked = !field_writeable(cnt) || popcount(read_bits(cnt)) == cnt.bit_len;
  if (!locked) return FlashEncryptionMode::kDevelopment;
  for (std::string_view name : chip_.release_mode_fields)
    if (read_uint(field(name)) == 0) return FlashEncryptionMode::kDevelopment;
  return FlashEncryptionMode::kRelease;
}

unsigned Controller::plaintext_flashes_left() const {
  const FieldInfo& cnt = field("SPI_BOOT_CRYPT_CNT");
  if (!field_writeable(cnt)) return 0;
  return static_cast<unsigned>((cnt.bit_len - popcount(read_bits(cnt))) / 2);
}

bool Controller::secure_boot_enabled() const { return read_uint(field("SECURE_BOOT_EN")) != 0; }

bool Controller::secure_boot_key_revoked(unsigned digest_index) const {
  const FieldInfo* f = find_field(fmt::format("SECURE_BOOT_KEY_REVOKE{}", digest_index));
  return f != nullptr && read_uint(*f) != 0;
}

bool Controller::jtag_soft_disabled() const { return popcount(read_bits(field("SOFT_DIS_JTAG"))) % 2 == 1; }

unsigned Controller::block_version() const {
  return static_cast<unsigned>(read_uint(field("BLK_VERSION_MAJOR")) * 100 + read_uint(field("BLK_VERSION_MINOR")));
}

Result<SecretBytes> Controller::hardware_key(unsigned id) const {
  if (id >= chip_.blocks.size()) return fail("efuse.unknown_block", "{} has no BLOCK{}", chip_.display_name, id);
  if (block_readable(id)) return SecretBytes::copy_of(read_block(id));
  if (hidden_[id]) return hidden_[id]->clone();
  return fail("efuse.hw_key_unknown",
              "{} is read-protected and its contents are unknown to espsec (it was protected by another tool, "
              "or the .hwkeys file beside the eFuse file is missing)",
              block(id).name);
}

Result<SecretBytes> Controller::flash_encryption_key() const {
  auto reversed_key = [&](unsigned id) -> Result<SecretBytes> {
    ESPSEC_ASSIGN_OR_RETURN(SecretBytes key, hardware_key(id));
    reverse_bytes(key.expose_mutable());  // espefuse reverses the key file when burning XTS keys
    return key;
  };
  if (auto id = key_block_with_purpose(KeyPurpose::kXtsAes128Key); id && purpose_info(KeyPurpose::kXtsAes128Key))
    return reversed_key(*id);
  const auto first = key_block_with_purpose(KeyPurpose::kXtsAes256Key1);
  const auto second = key_block_with_purpose(KeyPurpose::kXtsAes256Key2);
  if (first && second && purpose_info(KeyPurpose::kXtsAes256Key1)) {
    ESPSEC_ASSIGN_OR_RETURN(SecretBytes a, reversed_key(*first));
    ESPSEC_ASSIGN_OR_RETURN(SecretBytes b, reversed_key(*second));
    SecretBytes key(a.size() + b.size());
    std::copy(a.expose().begin(), a.expose().end(), key.expose_mutable().begin());
    std::copy(b.expose().begin(), b.expose().end(), key.expose_mutable().begin() + static_cast<std::ptrdiff_t>(a.size()));
    return key;
  }
  return fail("efuse.no_flash_key", "no key block holds a flash-encryption (XTS-AES) key");
}

Controller::BlockErrors Controller::block_errors(unsigned id) const {
  BlockErrors e;
  const auto& regs = chip_.registers;
  if (id == 0) {
    for (unsigned k = 0; k < regs.repeat_err_words; ++k)
      e.errors += static_cast<unsigned>(std::popcount(registers_.reg(regs.repeat_err + 4 * k)));
    e.fail = e.errors != 0;
    return e;
  }
  const BlockErrorBits& bits = block(id).errors;
  if (bits.fail_bit != kNoBit) e.fail = ((registers_.reg(bits.fail_register) >> bits.fail_bit) & 1u) != 0;
  if (bits.count_shift != kNoBit) e.errors = (registers_.reg(bits.count_register) >> bits.count_shift) & 0x7u;
  return e;
}

bool Controller::field_has_error(const FieldInfo& f) const {
  if (f.calculated()) return false;
  if (f.block != 0) {
    const BlockErrors e = block_errors(f.block);
    return e.errors != 0 || e.fail;
  }
  // RD_REPEAT_ERRk flags the bits of BLOCK0 word k + 1 (WR_DIS has no repeat copy).
  const auto& regs = chip_.registers;
  for (unsigned i = 0; i < f.bit_len; ++i) {
    const unsigned bit = f.start_bit() + i;
    const unsigned word = bit / 32;
    if (word == 0 || word > regs.repeat_err_words) continue;
    if ((registers_.reg(regs.repeat_err + 4 * (word - 1)) >> (bit % 32)) & 1u) return true;
  }
  return false;
}

Batch Controller::begin_batch() { return Batch(*this); }

Controller::Programmed Controller::program(const std::vector<SecretBytes>& pending, bool hide_read_protected) const {
  Programmed p{registers_, clone_hidden(hidden_)};
  std::optional<std::array<uint8_t, kRsParityBytes>> parity;
  bool programmed = false;
  // espefuse and ESP-IDF program BLOCKn first and BLOCK0 (with the protection bits) last.
  for (size_t id = chip_.blocks.size(); id-- > 0;) {
    const ByteSpan bits = pending[id].expose();
    if (all_zero(bits)) continue;
    programmed = true;
    Bytes data = bits_or(block_bits(p.registers, static_cast<unsigned>(id)), bits);
    put_block(p.registers, static_cast<unsigned>(id), data);
    if (block(static_cast<unsigned>(id)).coding == Coding::kReedSolomon) {
      std::array<uint8_t, kRsDataBytes> padded{};  // a 6-word block is coded as 8 words
      std::copy(data.begin(), data.end(), padded.begin());
      parity = rs_block_parity(padded);
    }
  }
  if (!programmed) return p;
  const ControllerRegisters& regs = chip_.registers;
  if (parity) {
    for (size_t k = 0; k < kRsParityBytes / 4; ++k) p.registers.set_reg(regs.check_value + 4 * k, load_le32(parity->data() + 4 * k));
  }
  for (size_t k = 0; k < 8; ++k) p.registers.set_reg(regs.pgm_data + 4 * k, 0);
  p.registers.set_reg(regs.cmd, 0);
  p.registers.set_reg(regs.conf, regs.conf_after_burn);
  p.registers.set_reg(regs.dac_conf, p.registers.reg(regs.dac_conf) | regs.dac_conf_bits);
  p.registers.set_reg(regs.wr_tim_conf1, p.registers.reg(regs.wr_tim_conf1) | regs.wr_tim_conf1_bits);
  p.registers.set_reg(regs.wr_tim_conf2, p.registers.reg(regs.wr_tim_conf2) | regs.wr_tim_conf2_bits);
  if (!hide_read_protected) return p;
  // A newly read-protected block vanishes from the software view (and from the file, as in
  // espefuse's emulator); the key engines keep seeing it.
  const FieldInfo& rd = field("RD_DIS");
  const uint64_t rd_before = read_uint(rd);
  const uint64_t rd_after = to_uint(field_bits(p.registers, rd));
  for (const BlockInfo& b : chip_.blocks) {
    if (b.rd_dis_bit == kNoBit) continue;
    const bool newly = ((rd_after >> b.rd_dis_bit) & 1u) && !((rd_before >> b.rd_dis_bit) & 1u);
    if (!newly) continue;
    p.hidden[b.id] = SecretBytes::copy_of(block_bits(p.registers, b.id));
    put_block(p.registers, b.id, Bytes(block_bytes(b), 0));
  }
  return p;
}

StoredState Controller::stored_state(const RegisterWindow& window, const Hidden& hidden) const {
  StoredState state;
  state.file = serialize_virtual_file(window);
  for (size_t id = 0; id < hidden.size(); ++id)
    if (hidden[id]) state.hardware_keys.push_back({static_cast<uint8_t>(id), hidden[id]->clone()});
  return state;
}

Status Controller::commit(Batch& batch) {
  ESPSEC_TRY(batch.usable());
  if (batch.empty()) return {};
  if (power_budget_ && burn_count_ >= *power_budget_) {
    power_lost_ = true;
    return fail("efuse.power_lost", "power was lost before burn operation {}; nothing of it was burned",
                burn_count_ + 1);
  }
  Programmed p = program(batch.pending_);
  ESPSEC_TRY(storage_->save(stored_state(p.registers, p.hidden)));
  registers_ = std::move(p.registers);
  hidden_ = std::move(p.hidden);
  ++burn_count_;
  ++generation_;
  batch.generation_ = generation_;
  batch.cancel();
  return {};
}

// ---------------------------------------------------------------------------------------------

Batch::Batch(Controller& controller) : controller_(&controller), generation_(controller.generation_) {
  for (const BlockInfo& b : controller.chip().blocks) pending_.emplace_back(block_bytes(b));
}

Status Batch::usable() const {
  if (controller_->power_lost_) return fail("efuse.power_lost", "the chip has lost power; reopen it to continue");
  if (generation_ != controller_->generation_)
    return fail("efuse.stale_batch", "another batch was committed after this one began; start a new batch");
  return {};
}

bool Batch::empty() const {
  return std::all_of(pending_.begin(), pending_.end(), [](const SecretBytes& p) { return all_zero(p.expose()); });
}

bool Batch::touches_block(unsigned block) const { return !all_zero(pending_.at(block).expose()); }

void Batch::cancel() {
  for (auto& p : pending_) p = SecretBytes(p.size());
}

Status Batch::commit() { return controller_->commit(*this); }

Bytes Batch::pending_field(const FieldInfo& field) const {
  return extract_bits(pending_[field.block].expose(), field.start_bit(), field.bit_len);
}

Status Batch::check_block_writable(unsigned id, ByteSpan new_bits) const {
  const Controller& c = *controller_;
  const BlockInfo& b = c.block(id);
  if (!c.block_readable(id))
    return fail("efuse.read_protected", "{} is read-protected. Burn in this case may damage an already written value.",
                b.name);
  if (!c.block_writeable(id)) return fail("efuse.write_protected", "{} is write-protected. Burn is not possible.", b.name);
  if (b.coding == Coding::kReedSolomon) {
    const Bytes current = c.read_block(id);
    if (!all_zero(current) && !is_subset(bits_or(pending_[id].expose(), new_bits), current))
      return fail("efuse.rs_programmed", "Burn into {} is forbidden (RS coding scheme does not allow this).", b.name);
  }
  return {};
}

Result<Staged> Batch::set_field(const FieldInfo& f, ByteSpan value) {
  ESPSEC_TRY(usable());
  const Controller& c = *controller_;
  if (f.calculated()) return fail("efuse.calculated", "Burning {} is not supported.", f.name);
  if (value.size() != bits_to_bytes(f.bit_len) || popcount(value) != popcount(extract_bits(value, 0, f.bit_len)))
    return fail("efuse.value_too_wide", "the new value for {} does not fit in its {} bits", f.name, f.bit_len);
  const Bytes current = c.read_bits(f);
  const Bytes queued = pending_field(f);
  const Bytes old = bits_or(current, queued);
  const Bytes requested(value.begin(), value.end());
  if (requested == old) return Staged::kAlreadyBurned;
  // A field must read back as the value asked for, so a value lacking a burned 1 is refused
  // (espefuse words it so; it would otherwise fail its read-back check). WR_DIS and RD_DIS
  // collect single protection bits, so their earlier bits are kept instead.
  if (f.name != "WR_DIS" && f.name != "RD_DIS" && bits_or(requested, old) != requested) {
    // Data fields may carry key material: their bits never go into a message.
    if (f.type == FieldType::kBytes)
      return fail("efuse.clear_bits", "New value contains some bits that cannot be cleared ({} already holds other data)",
                  f.name);
    return fail("efuse.clear_bits", "New value contains some bits that cannot be cleared (value will be {})",
                bitstring_text(bits_or(old, requested), f.bit_len));
  }
  if (is_subset(requested, current)) return Staged::kAlreadyBurned;
  if (requested == queued) return Staged::kAlreadyQueued;
  if (!c.field_readable(f))
    return fail("efuse.read_protected", "{} is read-protected. Burn in this case may damage an already written value.",
                f.name);
  if (!c.field_writeable(f)) return fail("efuse.write_protected", "{} is write-protected. Burn is not possible.", f.name);
  Bytes placed(pending_[f.block].size(), 0);
  or_bits(placed, f.start_bit(), requested, f.bit_len);
  ESPSEC_TRY(check_block_writable(f.block, placed));
  or_bits(pending_[f.block].expose_mutable(), f.start_bit(), requested, f.bit_len);
  return Staged::kQueued;
}

Result<Staged> Batch::set_field(std::string_view name, uint64_t value) {
  const FieldInfo* f = controller_->find_field(name);
  if (f == nullptr)
    return fail("efuse.unknown_field", "{} has no eFuse named {}", controller_->chip().display_name, name);
  if (exceeds(value, f->bit_len))
    return fail("efuse.value_too_wide", "{} does not fit in {} ({} bits)", value, f->name, f->bit_len);
  return set_field(*f, from_uint(value, f->bit_len));
}

Result<Staged> Batch::set_bits(unsigned id, std::span<const unsigned> bits) {
  ESPSEC_TRY(usable());
  const Controller& c = *controller_;
  if (id >= c.chip().blocks.size()) return fail("efuse.unknown_block", "{} has no BLOCK{}", c.chip().display_name, id);
  const BlockInfo& b = c.block(id);
  const size_t nbits = block_bytes(b) * 8;
  Bytes requested(block_bytes(b), 0);
  for (unsigned bit : bits) {
    if (bit >= nbits) return fail("efuse.bit_range", "{} has bit_number in [0..{}]", b.name, nbits - 1);
    set_bit(requested, bit);
  }
  const Bytes current = c.read_block(id);
  if (is_subset(requested, current)) return Staged::kAlreadyBurned;
  if (is_subset(requested, pending_[id].expose())) return Staged::kAlreadyQueued;
  for (const FieldInfo& f : c.chip().fields) {
    if (f.calculated() || f.block != id || c.field_writeable(f)) continue;
    const Bytes wanted = extract_bits(requested, f.start_bit(), f.bit_len);
    if (!is_subset(wanted, extract_bits(current, f.start_bit(), f.bit_len)))
      return fail("efuse.write_protected", "{} is write-protected. Burn is not possible.", f.name);
  }
  ESPSEC_TRY(check_block_writable(id, requested));
  or_bits(pending_[id].expose_mutable(), 0, requested, nbits);
  return Staged::kQueued;
}

Result<Staged> Batch::read_protect(int rd_dis_bit) {
  ESPSEC_TRY(usable());
  const Controller& c = *controller_;
  const FieldInfo& rd = c.field("RD_DIS");
  if (rd_dis_bit < 0 || rd_dis_bit >= static_cast<int>(rd.bit_len))
    return fail("efuse.bit_range", "RD_DIS has no bit {}", rd_dis_bit);
  if (!c.field_writeable(rd) && !c.rd_dis(rd_dis_bit))
    return fail("efuse.rd_dis_locked",
                "This eFuse cannot be read-disabled due to the RD_DIS field being already write-disabled");
  return set_field(rd, from_uint(uint64_t{1} << rd_dis_bit, rd.bit_len));
}

Result<Staged> Batch::read_protect_block(unsigned id) {
  const Controller& c = *controller_;
  if (id >= c.chip().blocks.size()) return fail("efuse.unknown_block", "{} has no BLOCK{}", c.chip().display_name, id);
  const BlockInfo& b = c.block(id);
  if (b.rd_dis_bit == kNoBit) return fail("efuse.not_read_protectable", "{} cannot be read-protected", b.name);
  return read_protect(b.rd_dis_bit);
}

Result<Staged> Batch::write_protect(int wr_dis_bit) {
  const FieldInfo& wr = controller_->field("WR_DIS");
  if (wr_dis_bit < 0 || wr_dis_bit >= static_cast<int>(wr.bit_len))
    return fail("efuse.bit_range", "WR_DIS has no bit {}", wr_dis_bit);
  return set_field(wr, from_uint(uint64_t{1} << wr_dis_bit, wr.bit_len));
}

Status Batch::write_key(unsigned id, KeyPurpose purpose, const SecretBytes& key) {
  ESPSEC_TRY(usable());
  const Controller& c = *controller_;
  if (!c.is_key_block(id)) {
    if (id >= c.chip().blocks.size()) return fail("efuse.not_key_block", "BLOCK{} is not a key block", id);
    return fail("efuse.not_key_block", "{} is not a key block", c.block(id).name);
  }
  const BlockInfo& b = c.block(id);
  const KeyPurposeInfo* info = c.purpose_info(purpose);
  if (info == nullptr)
    return fail("efuse.key_purpose_unsupported", "key purpose {} is not available on {}", static_cast<int>(purpose),
                c.chip().display_name);
  if (key.empty() || key.size() > block_bytes(b))
    return fail("efuse.key_size", "a key for {} must be 1 to {} bytes, got {}", b.name, block_bytes(b), key.size());
  const FieldInfo& purpose_field = c.field(b.key_purpose_field);
  if (!c.key_block_unused(id) || touches_block(id) || !all_zero(pending_field(purpose_field)))
    return fail("efuse.key_block_in_use", "{} is already in use (its purpose, protection or contents are set)", b.name);
  if (static_cast<int>(id) == c.chip().xts_forbidden_key_block && info->xts)
    return fail("efuse.key_purpose_quirk", "{} can not have the {} purpose because of a hardware quirk", b.name, info->name);
  if (info->secret && !c.field_writeable(c.field("RD_DIS")))
    return fail("efuse.rd_dis_locked",
                "This eFuse cannot be read-disabled due to the RD_DIS field being already write-disabled");
  // Every check that could refuse a step is above, so the batch never holds half a key.
  Bytes data(block_bytes(b), 0);
  std::copy(key.expose().begin(), key.expose().end(), data.begin());
  or_bits(pending_[id].expose_mutable(), 0, data, data.size() * 8);
  secure_wipe(data);
  ESPSEC_TRY(write_protect(b.wr_dis_bit));
  if (info->secret) ESPSEC_TRY(read_protect_block(id));
  ESPSEC_TRY(set_field(purpose_field, from_uint(static_cast<uint8_t>(purpose), purpose_field.bit_len)));
  ESPSEC_TRY(write_protect(purpose_field.wr_dis_bit));
  return {};
}

Result<unsigned> Batch::write_key_to_unused_block(KeyPurpose purpose, const SecretBytes& key) {
  const Controller& c = *controller_;
  const KeyPurposeInfo* info = c.purpose_info(purpose);
  for (const BlockInfo& b : c.chip().blocks) {
    if (!c.key_block_unused(b.id) || touches_block(b.id)) continue;
    if (!all_zero(pending_field(c.field(b.key_purpose_field)))) continue;
    if (info != nullptr && info->xts && static_cast<int>(b.id) == c.chip().xts_forbidden_key_block) continue;
    ESPSEC_TRY(write_key(b.id, purpose, key));
    return b.id;
  }
  return fail("efuse.no_free_key_block", "no unused key block is left for the key");
}

std::vector<FieldChange> Batch::changes() const {
  const Controller& c = *controller_;
  std::vector<FieldChange> out;
  if (empty()) return out;
  const Controller::Programmed p = c.program(pending_, false);
  const uint64_t rd_after = to_uint(c.field_bits(p.registers, c.field("RD_DIS")));
  for (const FieldInfo& f : c.chip().fields) {
    Bytes before = c.read_bits(f);
    Bytes after = c.field_bits(p.registers, f);
    const bool readable_after = f.rd_dis_bit == kNoBit || ((rd_after >> f.rd_dis_bit) & 1u) == 0;
    if (before != after || readable_after != c.field_readable(f))
      out.push_back({&f, std::move(before), std::move(after), readable_after});
  }
  return out;
}

}  // namespace espsec::efuse
