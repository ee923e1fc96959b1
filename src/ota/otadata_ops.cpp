#include "ota/otadata_ops.hpp"

#include <algorithm>

namespace espsec::ota {
namespace {

using otadata::Entry;
namespace state = otadata::state;

constexpr int kOther[2] = {1, 0};

std::optional<AppSlot> default_boot_partition(const AppLayout& layout) {
  // esp_ota_ops find_default_boot_partition: factory, else the first ota_N, else test.
  if (layout.has_factory) return AppSlot::factory();
  for (uint8_t n = 0; n < partition::subtype::kOtaCount; ++n)
    if (layout.ota_present[n]) return AppSlot::ota_slot(n);
  if (layout.has_test) return AppSlot::test();
  return std::nullopt;
}

Error running_factory() { return Error{"ota.running_factory", "Running firmware is factory (otadata selects no OTA app)"}; }

std::string not_bootable_log(AppSlot slot) {
  switch (slot.kind) {
    case AppSlot::Kind::kFactory: return "Factory app partition is not bootable";
    case AppSlot::Kind::kTest: return "Factory test app partition is not bootable";
    case AppSlot::Kind::kOta: break;
  }
  return fmt::format("OTA app partition slot {} is not bootable", slot.ota);
}

}  // namespace

std::string to_string(AppSlot slot) {
  switch (slot.kind) {
    case AppSlot::Kind::kFactory: return "factory";
    case AppSlot::Kind::kTest: return "test";
    case AppSlot::Kind::kOta: break;
  }
  return fmt::format("ota_{}", slot.ota);
}

uint32_t AppLayout::app_side_ota_count() const {
  uint32_t n = 0;
  while (n < ota_present.size() && ota_present[n]) ++n;
  return n;
}

AppLayout AppLayout::from_table(const partition::Table& table) {
  AppLayout layout;
  for (const auto& e : table.entries) {
    if (e.type != partition::type::kApp) continue;
    if (e.subtype == partition::subtype::kFactory) layout.has_factory = true;
    else if (e.subtype == partition::subtype::kTest) layout.has_test = true;
    else if (auto n = e.ota_slot()) {
      layout.ota_present[*n] = true;
      ++layout.ota_entries;
    }
  }
  return layout;
}

AppLayout AppLayout::contiguous(uint32_t ota_slots, bool factory, bool test) {
  AppLayout layout;
  layout.has_factory = factory;
  layout.has_test = test;
  layout.ota_entries = std::min<uint32_t>(ota_slots, partition::subtype::kOtaCount);
  for (uint32_t n = 0; n < layout.ota_entries; ++n) layout.ota_present[n] = true;
  return layout;
}

// ---- App side ---------------------------------------------------------------------------------

std::optional<AppSlot> boot_partition(const Pair& pair, const AppLayout& layout) {
  const uint32_t n = layout.app_side_ota_count();
  if ((pair[0].marked_invalid() && pair[1].marked_invalid()) || n == 0) return default_boot_partition(layout);
  const auto active = otadata::active_entry(pair);
  if (!active) return default_boot_partition(layout);
  return AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(pair[*active].ota_seq, n)));
}

Result<WritePlan> plan_set_boot_partition(const Pair& pair, AppSlot target, const AppLayout& layout,
                                          const Config& config) {
  if (target.kind == AppSlot::Kind::kFactory) {
    if (!layout.has_factory)
      return fail("ota.invalid_target", "the partition table has no factory app to boot");
    return WritePlan{{0, std::nullopt}, {1, std::nullopt}};  // erase the whole otadata partition
  }
  if (target.kind == AppSlot::Kind::kTest)
    return fail("ota.invalid_target", "the test app is selected by a GPIO at reset, not through otadata");
  const uint32_t n = layout.app_side_ota_count();
  if (target.ota >= n)
    return fail("ota.invalid_target", "ota_{} is not one of the {} consecutive OTA app partitions", target.ota, n);

  const uint32_t new_state = config.rollback ? state::kNew : state::kUndefined;
  const auto active = otadata::active_entry(pair);
  if (!active) {
    // Both entries unusable (e.g. never written): sector 0 selects the slot.
    return WritePlan{{0, pair[0].with_seq(target.ota + 1u).with_state(new_state)}};
  }
  const int a = *active;
  const int other = kOther[a];
  const uint32_t seq = pair[a].ota_seq;
  if (otadata::slot_of(seq, n) != target.ota) {
    ESPSEC_ASSIGN_OR_RETURN(const uint32_t next, otadata::seq_for_slot(seq, target.ota, n));
    return WritePlan{{other, pair[other].with_seq(next).with_state(new_state)}};
  }
  // The active entry already selects the slot; only its state changes.
  if (pair[other].valid()) {
    // IDF rewrites it in place, keeping the other entry (the rollback target) intact.
    const Entry rewritten = pair[a].with_seq(seq).with_state(new_state);
    if (rewritten == pair[a]) return WritePlan{};
    return WritePlan{{a, rewritten}};
  }
  // No rollback target to keep: write the next sequence number for the same slot into the other
  // sector, so that a power cut at any point still leaves the slot selected.
  // (seq is valid, so below 0xFFFFFFFF.)
  ESPSEC_ASSIGN_OR_RETURN(const uint32_t next, otadata::seq_for_slot(seq + 1, target.ota, n));
  return WritePlan{{other, pair[other].with_seq(next).with_state(new_state)}};
}

Result<WritePlan> plan_mark_app_valid(const Pair& pair, const AppLayout& layout) {
  const auto active = otadata::active_entry(pair);
  if (!active || layout.app_side_ota_count() == 0) return std::unexpected(running_factory());
  if (pair[*active].ota_state == state::kValid) return WritePlan{};
  return WritePlan{{*active, pair[*active].with_seq(pair[*active].ota_seq).with_state(state::kValid)}};
}

bool rollback_possible(const Pair& pair, const AppLayout& layout, const Config& config, const SlotPredicate& bootable) {
  const uint32_t n = layout.app_side_ota_count();
  if (n == 0) return false;
  const std::array<bool, 2> valid = {pair[0].valid(), pair[1].valid()};
  const auto active = otadata::select(pair, valid, true);
  if (!active) return false;
  const int last = kOther[*active];
  if (!config.anti_rollback && !valid[last] && layout.has_factory && bootable(AppSlot::factory())) return true;
  if (valid[last]) {
    const auto slot = AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(pair[last].ota_seq, n)));
    if (bootable(slot)) return true;
  }
  return false;
}

Result<WritePlan> plan_mark_app_invalid(const Pair& pair, const AppLayout& layout, const Config& config,
                                        const SlotPredicate& bootable) {
  const auto active = otadata::active_entry(pair);
  if (!active || layout.app_side_ota_count() == 0) return std::unexpected(running_factory());
  if (!rollback_possible(pair, layout, config, bootable))
    return fail("ota.rollback_failed", "Rollback is not possible, do not have any suitable apps in slots");
  return WritePlan{{*active, pair[*active].with_seq(pair[*active].ota_seq).with_state(state::kInvalid)}};
}

Result<uint32_t> slot_state(const Pair& pair, uint8_t ota_n, const AppLayout& layout) {
  const uint32_t n = layout.app_side_ota_count();
  if (ota_n >= partition::subtype::kOtaCount)
    return fail("ota.invalid_target", "ota_{} is not an OTA app partition", ota_n);
  if (n != 0)
    for (const auto& e : pair)
      if (otadata::slot_of(e.ota_seq, n) == ota_n && e.crc_matches()) return e.ota_state;
  return fail("ota.not_found", "otadata holds no state for ota_{}", ota_n);
}

std::optional<AppSlot> last_invalid_slot(const Pair& pair, const AppLayout& layout) {
  auto invalid = [](const Entry& e) {
    return e.ota_seq != otadata::kSeqEmpty && e.crc_matches() &&
           (e.ota_state == state::kInvalid || e.ota_state == state::kAborted);
  };
  const uint32_t n = layout.app_side_ota_count();
  const auto pick = otadata::select(pair, {invalid(pair[0]), invalid(pair[1])}, false);
  if (!pick || n == 0) return std::nullopt;
  return AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(pair[*pick].ota_seq, n)));
}

Result<WritePlan> plan_invalidate_inactive(const Pair& pair, const AppLayout& layout, AppSlot running) {
  const uint32_t n = layout.app_side_ota_count();
  const auto active = otadata::active_entry(pair);
  if (!active || n == 0) return WritePlan{};
  const int inactive = kOther[*active];
  const Entry& e = pair[inactive];
  if (e.ota_seq == otadata::kSeqEmpty || !e.crc_matches()) return WritePlan{};
  if (AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(e.ota_seq, n))) == running) return WritePlan{};
  return WritePlan{{inactive, std::nullopt}};
}

// ---- Bootloader side --------------------------------------------------------------------------

Selection select_boot(const std::optional<Pair>& otadata, const AppLayout& layout, const Config& config,
                      const SlotPredicate& secure_version_ok) {
  Selection s;
  if (!otadata) return s;  // no otadata partition: factory
  Pair p = *otadata;
  if (config.rollback) {
    // The app never confirmed itself on its previous boot.
    for (int i = 0; i < 2; ++i) {
      if (p[i].ota_state == state::kPendingVerify) {
        p[i].ota_state = state::kAborted;
        s.writes.push_back({i, p[i]});
        s.log.push_back(fmt::format("otadata[{}] is marking as ABORTED", i));
      }
    }
  }
  const uint32_t n = layout.bootloader_ota_count();
  std::optional<int> active;
  if (!config.anti_rollback) {
    if ((p[0].marked_invalid() && p[1].marked_invalid()) || n == 0) {
      if (layout.has_factory) {
        s.log.push_back("Defaulting to factory image");
      } else {
        s.log.push_back("No factory image, trying OTA 0");
        s.start = AppSlot::ota_slot(0);
        s.initial_contents = p[0].blank_or_corrupt() && p[1].blank_or_corrupt();
      }
      return s;
    }
    active = otadata::active_entry(p);
  } else {
    s.log.push_back("Enabled a check secure version of app for anti rollback");
    if (p[0].blank_or_corrupt() && p[1].blank_or_corrupt()) {
      s.log.push_back("otadata[0..1] in initial state");
      s.initial_contents = true;
      return s;
    }
    std::array<bool, 2> usable{};
    for (int i = 0; i < 2; ++i)
      usable[i] = p[i].valid() && n != 0 &&
                  secure_version_ok(AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(p[i].ota_seq, n))));
    active = otadata::select(p, usable, true);
  }
  if (!active) {
    s.log.push_back(layout.has_factory ? "ota data partition invalid, falling back to factory"
                                       : "ota data partition invalid and no factory, will try all partitions");
    return s;
  }
  const int a = *active;
  s.start = AppSlot::ota_slot(static_cast<uint8_t>(otadata::slot_of(p[a].ota_seq, n)));
  if (config.rollback && p[a].ota_state == state::kNew) {
    p[a].ota_state = state::kPendingVerify;
    s.writes.push_back({a, p[a]});
    s.log.push_back(fmt::format("otadata[{}] is selected as new and marked PENDING_VERIFY state", a));
  }
  if (config.anti_rollback && p[a].ota_state == state::kValid) s.raise_secure_version = s.start;
  return s;
}

std::vector<AppSlot> boot_candidates(AppSlot start, const AppLayout& layout) {
  std::vector<AppSlot> out;
  if (start.kind == AppSlot::Kind::kTest) {
    if (layout.has_test) out.push_back(AppSlot::test());
    return out;
  }
  const int n = static_cast<int>(std::min<uint32_t>(layout.bootloader_ota_count(), partition::subtype::kOtaCount));
  const int first = start.kind == AppSlot::Kind::kFactory ? -1 : start.ota;
  auto slot_at = [&](int index) -> std::optional<AppSlot> {
    if (index < 0) return layout.has_factory ? std::optional(AppSlot::factory()) : std::nullopt;
    if (index < n && layout.ota_present[static_cast<size_t>(index)])
      return AppSlot::ota_slot(static_cast<uint8_t>(index));
    return std::nullopt;
  };
  for (int index = first; index >= -1; --index)
    if (auto s = slot_at(index)) out.push_back(*s);
  for (int index = first + 1; index < n; ++index)
    if (auto s = slot_at(index)) out.push_back(*s);
  if (layout.has_test) out.push_back(AppSlot::test());
  return out;
}

BootDecision decide_boot(const std::optional<Pair>& otadata, const AppLayout& layout, const Config& config,
                         const SlotPredicate& bootable, const SlotPredicate& secure_version_ok) {
  Selection s = select_boot(otadata, layout, config, secure_version_ok);
  BootDecision d;
  d.writes = std::move(s.writes);
  d.log = std::move(s.log);
  d.raise_secure_version = s.raise_secure_version;
  for (const AppSlot c : boot_candidates(s.start, layout)) {
    if (!bootable(c)) {
      if (c.kind != AppSlot::Kind::kTest) d.log.push_back(not_bootable_log(c));
      continue;
    }
    d.boot = c;
    if (c.kind == AppSlot::Kind::kTest && s.start.kind != AppSlot::Kind::kTest)
      d.log.push_back("Falling back to test app as only bootable partition");
    if (c.kind == AppSlot::Kind::kOta && s.initial_contents && otadata) {
      // set_actual_ota_seq: record what booted so the next boot selects it directly.
      d.writes.push_back({0, Entry::make(c.ota + 1u, state::kValid)});
      d.log.push_back(fmt::format("Set actual ota_seq={} in otadata[0]", c.ota + 1u));
      if (config.anti_rollback) d.raise_secure_version = c;
    }
    return d;
  }
  d.log.push_back("No bootable app partitions in the partition table");
  return d;
}

// ---- On flash ----------------------------------------------------------------------------------

Result<Pair> read_otadata(chip::Flash& otadata) {
  if (otadata.size() < otadata::kPartitionSize)
    return fail("otadata.partition_size", "otadata partition size 0x{:x} is too small (minimum 0x{:x} bytes)",
                otadata.size(), otadata::kPartitionSize);
  Pair pair;
  for (uint32_t i = 0; i < 2; ++i) {
    std::array<uint8_t, otadata::kEntrySize> raw{};
    ESPSEC_TRY(otadata.read(i * otadata::kSectorSize, raw));
    ESPSEC_ASSIGN_OR_RETURN(pair[i], otadata::decode(raw));
  }
  return pair;
}

Status apply_plan(chip::Flash& otadata, const WritePlan& plan) {
  for (const auto& w : plan) {
    if (w.sector != 0 && w.sector != 1) return fail("otadata.sector", "otadata has no sector {}", w.sector);
    const uint32_t address = static_cast<uint32_t>(w.sector) * otadata::kSectorSize;
    ESPSEC_TRY(otadata.erase_sector(address));
    if (w.entry) ESPSEC_TRY(otadata.program(address, otadata::encode(*w.entry)));
  }
  return {};
}

Status set_boot_partition(chip::Flash& otadata, AppSlot target, const AppLayout& layout, const Config& config) {
  ESPSEC_ASSIGN_OR_RETURN(const Pair pair, read_otadata(otadata));
  ESPSEC_ASSIGN_OR_RETURN(const WritePlan plan, plan_set_boot_partition(pair, target, layout, config));
  return apply_plan(otadata, plan);
}

Status mark_app_valid_cancel_rollback(chip::Flash& otadata, const AppLayout& layout) {
  ESPSEC_ASSIGN_OR_RETURN(const Pair pair, read_otadata(otadata));
  ESPSEC_ASSIGN_OR_RETURN(const WritePlan plan, plan_mark_app_valid(pair, layout));
  return apply_plan(otadata, plan);
}

Status mark_app_invalid_rollback(chip::Flash& otadata, const AppLayout& layout, const Config& config,
                                 const SlotPredicate& bootable) {
  ESPSEC_ASSIGN_OR_RETURN(const Pair pair, read_otadata(otadata));
  ESPSEC_ASSIGN_OR_RETURN(const WritePlan plan, plan_mark_app_invalid(pair, layout, config, bootable));
  return apply_plan(otadata, plan);
}

Status invalidate_inactive_slot(chip::Flash& otadata, const AppLayout& layout, AppSlot running) {
  ESPSEC_ASSIGN_OR_RETURN(const Pair pair, read_otadata(otadata));
  ESPSEC_ASSIGN_OR_RETURN(const WritePlan plan, plan_invalidate_inactive(pair, layout, running));
  return apply_plan(otadata, plan);
}

Result<BootDecision> bootloader_select(chip::Flash* otadata, const AppLayout& layout, const Config& config,
                                       const SlotPredicate& bootable, const SlotPredicate& secure_version_ok) {
  std::optional<Pair> pair;
  if (otadata) {
    ESPSEC_ASSIGN_OR_RETURN(pair, read_otadata(*otadata));
  }
  BootDecision decision = decide_boot(pair, layout, config, bootable, secure_version_ok);
  if (otadata) ESPSEC_TRY(apply_plan(*otadata, decision.writes));
  return decision;
}

}  // namespace espsec::ota
