// Where a virtual chip's eFuses live: in memory (tests, throw-away chips) or in the espefuse
// virtual eFuse file plus its hardware-key sidecar (hwkeys_file.hpp).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "efuse/controller.hpp"

namespace espsec::efuse {

StoredState clone_state(const StoredState& state);

// State kept in a slot that several MemoryStorage objects can share, so a test can "power the
// chip off" by dropping a Controller and reopen the same eFuses.
class MemoryStorage final : public Storage {
 public:
  using Slot = std::optional<StoredState>;
  MemoryStorage() : slot_(std::make_shared<Slot>()) {}
  explicit MemoryStorage(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}

  Result<std::optional<StoredState>> load() override;
  Status save(const StoredState& state) override;

  const std::shared_ptr<Slot>& slot() const { return slot_; }
  uint64_t saves() const { return saves_; }

 private:
  std::shared_ptr<Slot> slot_;
  uint64_t saves_ = 0;
};

// The espefuse-compatible eFuse file at `path` (missing = a fresh chip) and, beside it,
// `<path>.hwkeys` (0600) with the contents of read-protected blocks as the key engines see
// them. save() writes the sidecar first (only when it changes) and then the eFuse file, each
// with an atomic replace: a crash in between leaves records for blocks the file does not yet
// protect, which load ignores.
class FileStorage final : public Storage {
 public:
  explicit FileStorage(std::filesystem::path path);
  static std::filesystem::path hwkeys_path(const std::filesystem::path& efuse_file);

  Result<std::optional<StoredState>> load() override;
  Status save(const StoredState& state) override;

 private:
  std::filesystem::path path_;
  std::filesystem::path sidecar_;
  std::optional<SecretBytes> sidecar_on_disk_;  // serialized sidecar as last read or written
};

}  // namespace espsec::efuse
