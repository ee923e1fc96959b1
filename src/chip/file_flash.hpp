// The virtual device's SPI NOR flash, kept in one file of exactly the chip size.
//
// Semantics are those of chip::Flash: a program ANDs bytes into the array, an erase sets a
// 4 KiB sector to 0xFF, accesses past the end fail. A new file starts fully erased (0xFF) and
// is created 0600 (flash may hold keys and NVS secrets in plaintext).
//
// Durability: every program and erase is written to the file with pwrite() before the call
// returns, so killing the process (the virtual device's power cut) never loses or tears a
// completed operation. The file is fdatasync()ed by sync() and when the FileFlash is
// destroyed; a host crash can lose the operations since the last sync(). No sync per
// operation: a first-boot encryption of 4 MiB is ~1000 erases and programs and stays well
// under a second. An exclusive flock() keeps a second process from opening the same file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

#include "chip/flash.hpp"

namespace espsec::chip {

class FileFlash final : public Flash {
 public:
  // The chip sizes the virtual device offers: 2, 4, 8 and 16 MiB.
  static bool supported_size(uint64_t size);

  // Creates `path` erased, `size` bytes; refuses ("io.exists") when anything is already there.
  [[nodiscard]] static Result<FileFlash> create(const std::filesystem::path& path, uint32_t size);
  // Opens an existing flash file. Its size must be a supported one and, when given, `expected_size`.
  [[nodiscard]] static Result<FileFlash> open(const std::filesystem::path& path,
                                              std::optional<uint32_t> expected_size = std::nullopt);

  FileFlash(FileFlash&& other) noexcept;
  FileFlash& operator=(FileFlash&& other) noexcept;
  FileFlash(const FileFlash&) = delete;
  FileFlash& operator=(const FileFlash&) = delete;
  ~FileFlash() override;

  uint32_t size() const override { return size_; }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override;

  // Flushes every completed operation to stable storage (fdatasync).
  [[nodiscard]] Status sync();
  const std::filesystem::path& path() const { return path_; }

 private:
  FileFlash(int fd, uint32_t size, std::filesystem::path path) : fd_(fd), size_(size), path_(std::move(path)) {}
  void close_fd();
  Status pread_all(uint64_t offset, MutableByteSpan out);
  Status pwrite_all(uint64_t offset, ByteSpan data);
  int fd_ = -1;
  uint32_t size_ = 0;
  std::filesystem::path path_;
};

}  // namespace espsec::chip
