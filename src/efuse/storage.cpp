#include "efuse/storage.hpp"

#include <system_error>

#include "core/file_io.hpp"

namespace espsec::efuse {

StoredState clone_state(const StoredState& state) {
  StoredState out;
  out.file = state.file;
  for (const auto& record : state.hardware_keys) out.hardware_keys.push_back({record.block, record.contents.clone()});
  return out;
}

Result<std::optional<StoredState>> MemoryStorage::load() {
  if (!*slot_) return std::optional<StoredState>();
  return std::optional<StoredState>(clone_state(**slot_));
}

Status MemoryStorage::save(const StoredState& state) {
  *slot_ = clone_state(state);
  ++saves_;
  return {};
}

FileStorage::FileStorage(std::filesystem::path path) : path_(std::move(path)), sidecar_(hwkeys_path(path_)) {}

std::filesystem::path FileStorage::hwkeys_path(const std::filesystem::path& efuse_file) {
  std::filesystem::path sidecar = efuse_file;
  sidecar += ".hwkeys";
  return sidecar;
}

Result<std::optional<StoredState>> FileStorage::load() {
  std::error_code ec;
  std::optional<StoredState> state;
  if (std::filesystem::symlink_status(path_, ec).type() != std::filesystem::file_type::not_found) {
    // A device or pipe is no eFuse file (and /dev/zero would never end).
    if (!std::filesystem::is_regular_file(path_, ec))
      return fail("efuse.file_type", "{} is not a regular file", path_.string());
    ESPSEC_ASSIGN_OR_RETURN(Bytes file, read_file(path_));
    state.emplace();
    state->file = std::move(file);
  }
  if (std::filesystem::symlink_status(sidecar_, ec).type() != std::filesystem::file_type::not_found) {
    ESPSEC_ASSIGN_OR_RETURN(SecretBytes bytes, read_secret_file(sidecar_));
    auto records = parse_hwkeys_file(bytes.expose());
    if (!records) return std::unexpected(with_context(records.error(), sidecar_.string()));
    if (state) state->hardware_keys = std::move(*records);
    sidecar_on_disk_ = std::move(bytes);
  }
  return state;
}

Status FileStorage::save(const StoredState& state) {
  ESPSEC_ASSIGN_OR_RETURN(SecretBytes sidecar, serialize_hwkeys_file(state.hardware_keys));
  const bool needed = !state.hardware_keys.empty() || sidecar_on_disk_.has_value();
  if (needed && !(sidecar_on_disk_ && sidecar_on_disk_->equals(sidecar))) {
    ESPSEC_TRY(write_file_atomic(sidecar_, sidecar.expose(), FileMode::kSecret));
    sidecar_on_disk_ = std::move(sidecar);
  }
  return write_file_atomic(path_, state.file, FileMode::kPublic);
}

}  // namespace espsec::efuse
