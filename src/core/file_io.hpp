// Whole-file reads and crash-safe writes. An output is written to a temporary file in the
// same directory and renamed into place, so a failure never leaves a partial file; key files
// are created 0600 and never replace an existing file.
#pragma once

#include <filesystem>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"

namespace espsec {

enum class FileMode { kPublic, kSecret };  // 0644 (minus umask) / 0600

[[nodiscard]] Result<Bytes> read_file(const std::filesystem::path& path);
[[nodiscard]] Result<SecretBytes> read_secret_file(const std::filesystem::path& path);

// Replaces `path` atomically (temp file + fsync + rename). A symlink is followed (its target is
// replaced); an existing device or pipe is written in place; a directory is refused.
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path, ByteSpan data,
                                       FileMode mode = FileMode::kPublic);

// Creates `path` with `data`; refuses (code "io.exists") when anything already exists there.
// The content appears whole or not at all.
[[nodiscard]] Status create_file_exclusive(const std::filesystem::path& path, ByteSpan data,
                                           FileMode mode);

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace espsec
