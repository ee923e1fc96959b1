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

// kDurable: fsync before the rename, so the new content survives a power cut. kAtomicOnly:
// the rename alone; a failure still never leaves a partial file, but after a power cut the
// output may be missing or empty. Only for outputs recomputable from inputs that stay intact.
enum class Durability { kDurable, kAtomicOnly };

// Replaces `path` atomically (temp file, fsync unless kAtomicOnly, rename). A symlink is followed
// (its target is replaced); an existing device or pipe is written in place; a directory is refused.
[[nodiscard]] Status write_file_atomic(const std::filesystem::path& path, ByteSpan data,
                                       FileMode mode = FileMode::kPublic,
                                       Durability durability = Durability::kDurable);

// Streams an output into a temporary file beside `path`; commit() renames it into place.
// Destroyed without a successful commit, it removes the temporary: no partial output appears.
class AtomicFileWriter {
 public:
  [[nodiscard]] static Result<AtomicFileWriter> create(const std::filesystem::path& path,
                                                       FileMode mode = FileMode::kPublic);
  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  [[nodiscard]] Status write(ByteSpan data);
  // Appends source bytes [offset, offset + length) the way cp does (copy_file_range, no copy
  // through user memory), falling back to write() where the kernel cannot.
  [[nodiscard]] Status write_from(const class MappedFile& source, size_t offset, size_t length);
  [[nodiscard]] Status commit(Durability durability = Durability::kDurable);

 private:
  AtomicFileWriter(int fd, std::filesystem::path temp, std::filesystem::path path)
      : fd_(fd), temp_(std::move(temp)), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path temp_;  // empty once renamed into place
  std::filesystem::path path_;
};

// A whole input file, read-only: memory-mapped when it is a regular file (no copy, no
// zero-filled buffer), read into memory otherwise. While mapped, the file must not be truncated
// by another process (the mapping would fault); replacing it by rename is safe.
class MappedFile {
 public:
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();
  ByteSpan bytes() const;

 private:
  friend Result<MappedFile> map_file(const std::filesystem::path& path);
  friend class AtomicFileWriter;
  MappedFile(int fd, const uint8_t* map, size_t size) : fd_(fd), map_(map), size_(size) {}
  explicit MappedFile(Bytes owned) : owned_(std::move(owned)) {}
  int fd_ = -1;  // open while mapped, for AtomicFileWriter::write_from
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  Bytes owned_;
};
[[nodiscard]] Result<MappedFile> map_file(const std::filesystem::path& path);

// Creates `path` with `data`; refuses (code "io.exists") when anything already exists there.
// The content appears whole or not at all.
[[nodiscard]] Status create_file_exclusive(const std::filesystem::path& path, ByteSpan data,
                                           FileMode mode);

// True when both paths name the same existing file (same device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

}  // namespace espsec
