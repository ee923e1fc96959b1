// One implementation of otadata's rules for both sides of the boot: the app's esp_ota_ops
// writers (esp_ota_set_boot_partition, esp_ota_mark_app_valid_cancel_rollback,
// esp_ota_mark_app_invalid_rollback, esp_ota_invalidate_inactive_ota_data_slot) and the
// second-stage bootloader's selection (bootloader_utility_get_selected_boot_partition and the
// candidate walk of bootloader_utility_load_boot_image).
//
// Decisions are pure functions of the two entries, the app layout of the partition table and
// caller-supplied predicates about the images in the slots; they return a WritePlan. The
// flash functions below read the two sectors, decide, and apply the plan with one erase plus
// one 32-byte program per sector write, exactly the operations IDF performs (so a power-cut
// test can stop between any two). Give them the otadata partition window; with flash
// encryption on, a window over the EncryptedFlash view (entries are then written encrypted).
//
// Sources: ESP-IDF components/app_update/esp_ota_ops.c, bootloader_support/src/
// bootloader_utility.c and bootloader_common_loader.c; boot-chain fact sheet 6; storage-and-ota
// fact sheet 5.2-5.4.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chip/flash.hpp"
#include "core/error.hpp"
#include "format/otadata.hpp"
#include "format/partition_table.hpp"

namespace espsec::ota {

using otadata::Pair;

// An app partition the boot chain can run.
struct AppSlot {
  enum class Kind : uint8_t { kFactory, kTest, kOta };
  Kind kind = Kind::kFactory;
  uint8_t ota = 0;  // N of ota_N when kind == kOta

  static constexpr AppSlot factory() { return {Kind::kFactory, 0}; }
  static constexpr AppSlot test() { return {Kind::kTest, 0}; }
  static constexpr AppSlot ota_slot(uint8_t n) { return {Kind::kOta, n}; }
  friend bool operator==(const AppSlot&, const AppSlot&) = default;
};
std::string to_string(AppSlot slot);  // "factory", "test", "ota_3"

// What the partition table says about app partitions.
struct AppLayout {
  bool has_factory = false;
  bool has_test = false;
  std::array<bool, partition::subtype::kOtaCount> ota_present{};  // ota_N exists
  // The two counts IDF uses: the app counts ota_0, ota_1, ... up to the first missing one
  // (esp_ota_get_app_partition_count); the bootloader counts every ota_N (bs->app_count).
  // They differ only for tables with gaps in the ota_N numbering (or repeated ota_N subtypes,
  // which the bootloader counts once per entry).
  uint32_t ota_entries = 0;  // ota_N entries in the table, repeats included
  uint32_t app_side_ota_count() const;
  uint32_t bootloader_ota_count() const { return ota_entries; }

  static AppLayout from_table(const partition::Table& table);
  // ota_0 .. ota_{ota_slots-1} (at most 16), plus a factory and a test app when asked.
  static AppLayout contiguous(uint32_t ota_slots, bool factory, bool test = false);
};

struct Config {
  bool rollback = false;       // CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  bool anti_rollback = false;  // CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK (requires rollback)
};

// One sector rewrite: erase sector `sector` (0 or 1), then program `entry` at its start unless
// the write is an erase only.
struct SectorWrite {
  int sector = 0;
  std::optional<otadata::Entry> entry;
  friend bool operator==(const SectorWrite&, const SectorWrite&) = default;
};
using WritePlan = std::vector<SectorWrite>;

// True when the slot's partition holds an image the caller would run (full verification;
// with anti-rollback also an acceptable secure_version).
using SlotPredicate = std::function<bool(AppSlot)>;

// ---- App side (esp_ota_ops), pure ------------------------------------------------------------

// esp_ota_get_boot_partition: the slot otadata selects, or the default (factory, else the first
// ota_N, else test) when it selects none. nullopt: the table has no app partition at all.
std::optional<AppSlot> boot_partition(const Pair& pair, const AppLayout& layout);

// esp_ota_set_boot_partition after the image was verified (the caller verifies, and under
// anti-rollback refuses a lower secure_version first). factory -> erase both sectors.
// ota_N -> if the active entry already selects N, its state is rewritten (NEW with rollback,
// else UNDEFINED); otherwise the other sector gets the smallest sequence number >= the
// active one that selects N; with no valid entry, sector 0 gets N + 1.
// Deviations from IDF, both for power-loss safety: a rewrite that would store identical bytes
// is skipped; and when the active entry already selects N but the other entry is not valid
// (so no rollback target is at stake), the new entry goes to the other sector with the next
// sequence number for N instead of replacing the active entry in place, so a power cut leaves
// N selected. Codes: ota.invalid_target (test app, or no such ota_N), otadata.seq_exhausted.
[[nodiscard]] Result<WritePlan> plan_set_boot_partition(const Pair& pair, AppSlot target, const AppLayout& layout,
                                                        const Config& config);

// esp_ota_mark_app_valid_cancel_rollback: the active entry becomes VALID (no write when it is
// already). "ota.running_factory" when no entry is active or there are no OTA slots (ESP_FAIL).
// With anti-rollback the caller then raises the eFuse secure version to the running app's.
[[nodiscard]] Result<WritePlan> plan_mark_app_valid(const Pair& pair, const AppLayout& layout);

// esp_ota_check_rollback_is_possible: the other entry is valid and its slot holds a bootable
// image, or (without anti-rollback) the other entry is not valid and a bootable factory exists.
bool rollback_possible(const Pair& pair, const AppLayout& layout, const Config& config,
                       const SlotPredicate& bootable);

// esp_ota_mark_app_invalid_rollback: the active entry becomes INVALID, only when a rollback is
// possible ("ota.rollback_failed", ESP_ERR_OTA_ROLLBACK_FAILED); "ota.running_factory" when no
// entry is active.
[[nodiscard]] Result<WritePlan> plan_mark_app_invalid(const Pair& pair, const AppLayout& layout, const Config& config,
                                                      const SlotPredicate& bootable);

// esp_ota_get_state_partition: state of the first entry (sector 0, then 1) with a good CRC that
// selects ota_N. "ota.not_found" otherwise.
[[nodiscard]] Result<uint32_t> slot_state(const Pair& pair, uint8_t ota_n, const AppLayout& layout);

// esp_ota_get_last_invalid_partition (before the caller's image check): the slot of the entry
// marked INVALID or ABORTED (good CRC), the smaller sequence number when both are.
std::optional<AppSlot> last_invalid_slot(const Pair& pair, const AppLayout& layout);

// esp_ota_invalidate_inactive_ota_data_slot (esp_ota_begin with rollback): erase the inactive
// sector when its entry (good CRC) selects a slot other than `running`, so the bootloader
// cannot roll back into the slot about to be overwritten. Empty plan when there is nothing to
// invalidate (IDF returns ESP_FAIL there, which esp_ota_begin ignores).
[[nodiscard]] Result<WritePlan> plan_invalidate_inactive(const Pair& pair, const AppLayout& layout, AppSlot running);

// ---- Bootloader side, pure -------------------------------------------------------------------

struct Selection {
  AppSlot start = AppSlot::factory();  // where the candidate walk begins (FACTORY_INDEX = factory)
  WritePlan writes;                    // PENDING_VERIFY -> ABORTED fix-ups, NEW -> PENDING_VERIFY
  bool initial_contents = false;       // both entries blank or corrupt (ota_has_initial_contents)
  std::optional<AppSlot> raise_secure_version;  // anti-rollback: active entry is VALID
  std::vector<std::string> log;                 // the bootloader's log lines
};

// bootloader_utility_get_selected_boot_partition. `otadata` is nullopt when the table has no
// otadata partition. `secure_version_ok` (consulted only with anti-rollback) says whether the
// app in a slot has secure_version >= the eFuse value.
Selection select_boot(const std::optional<Pair>& otadata, const AppLayout& layout, const Config& config,
                      const SlotPredicate& secure_version_ok);

// The order bootloader_utility_load_boot_image tries partitions in: from `start` down to
// factory, then up through the remaining OTA slots, then the test app. With start = test,
// only the test app.
std::vector<AppSlot> boot_candidates(AppSlot start, const AppLayout& layout);

struct BootDecision {
  std::optional<AppSlot> boot;  // nullopt: "No bootable app partitions in the partition table"
  WritePlan writes;             // in the order the bootloader writes them
  std::optional<AppSlot> raise_secure_version;  // anti-rollback: burn the eFuse up to this app's
  std::vector<std::string> log;
};

// The whole selection: select_boot, then the first candidate that is `bootable`; when otadata
// had initial contents and an OTA slot boots, sector 0 gets {seq = N + 1, VALID}.
BootDecision decide_boot(const std::optional<Pair>& otadata, const AppLayout& layout, const Config& config,
                         const SlotPredicate& bootable, const SlotPredicate& secure_version_ok);

// ---- On flash --------------------------------------------------------------------------------

// Both entries (the first 32 bytes of each sector). `otadata` must be the 0x2000-byte partition.
[[nodiscard]] Result<Pair> read_otadata(chip::Flash& otadata);
// Each write: erase its sector, then program its 32-byte entry.
[[nodiscard]] Status apply_plan(chip::Flash& otadata, const WritePlan& plan);

[[nodiscard]] Status set_boot_partition(chip::Flash& otadata, AppSlot target, const AppLayout& layout,
                                        const Config& config);
[[nodiscard]] Status mark_app_valid_cancel_rollback(chip::Flash& otadata, const AppLayout& layout);
[[nodiscard]] Status mark_app_invalid_rollback(chip::Flash& otadata, const AppLayout& layout, const Config& config,
                                               const SlotPredicate& bootable);
[[nodiscard]] Status invalidate_inactive_slot(chip::Flash& otadata, const AppLayout& layout, AppSlot running);
// The bootloader's selection with its otadata writes applied. `otadata` is nullptr when the
// table has none.
[[nodiscard]] Result<BootDecision> bootloader_select(chip::Flash* otadata, const AppLayout& layout,
                                                     const Config& config, const SlotPredicate& bootable,
                                                     const SlotPredicate& secure_version_ok);

}  // namespace espsec::ota
