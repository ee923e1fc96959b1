#include "chip/file_flash.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/file_io.hpp"

namespace espsec::chip {
namespace {

constexpr uint32_t kMiB = 1024 * 1024;

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

bool FileFlash::supported_size(uint64_t size) {
  return size == 2 * kMiB || size == 4 * kMiB || size == 8 * kMiB || size == 16 * kMiB;
}

Result<FileFlash> FileFlash::create(const std::filesystem::path& path, uint32_t size) {
  if (!supported_size(size))
    return fail("flash.size", "cannot create {}: flash size {} bytes is not 2, 4, 8 or 16 MiB", path.string(), size);
  // Written whole through a temporary file and linked into place: a crash leaves no half file.
  ESPSEC_TRY(create_file_exclusive(path, Bytes(size, 0xFF), FileMode::kSecret));
  return open(path, size);
}

Result<FileFlash> FileFlash::open(const std::filesystem::path& path, std::optional<uint32_t> expected_size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return fail("flash.open", "cannot open flash file {}: {}", path.string(), errno_text(errno));
  auto close_with = [fd](Error e) -> Result<FileFlash> {
    ::close(fd);
    return std::unexpected(std::move(e));
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return close_with(Error{"flash.open", fmt::format("cannot open flash file {}: {}", path.string(), errno_text(errno))});
  if (!S_ISREG(st.st_mode))
    return close_with(Error{"flash.open", fmt::format("flash file {} is not a regular file", path.string())});
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (!supported_size(file_size))
    return close_with(Error{"flash.file_size",
                            fmt::format("flash file {} is {} bytes; a flash image must be exactly 2, 4, 8 or 16 MiB",
                                        path.string(), file_size)});
  if (expected_size && file_size != *expected_size)
    return close_with(Error{"flash.file_size", fmt::format("flash file {} is {} bytes, expected {} bytes",
                                                           path.string(), file_size, *expected_size)});
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    return close_with(Error{"flash.in_use", fmt::format("flash file {} is in use by another process ({})",
                                                        path.string(), errno_text(errno))});
  return FileFlash(fd, static_cast<uint32_t>(file_size), path);
}

FileFlash::FileFlash(FileFlash&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

FileFlash& FileFlash::operator=(FileFlash&& other) noexcept {
  if (this != &other) {
    close_fd();
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

FileFlash::~FileFlash() { close_fd(); }

void FileFlash::close_fd() {
  if (fd_ < 0) return;
  (void)::fdatasync(fd_);  // best effort at close; sync() reports failures to callers who ask
  ::close(fd_);            // also releases the flock
  fd_ = -1;
}

Status FileFlash::sync() {
  if (::fdatasync(fd_) != 0)
    return fail("flash.sync", "cannot flush flash file {}: {}", path_.string(), errno_text(errno));
  return {};
}

Status FileFlash::pread_all(uint64_t offset, MutableByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("flash.read", "cannot read flash file {}: {}", path_.string(), errno_text(errno));
    if (n == 0)
      return fail("flash.read", "flash file {} ended at 0x{:x}: it was truncated while in use", path_.string(),
                  offset + done);
    done += static_cast<size_t>(n);
  }
  return {};
}

Status FileFlash::pwrite_all(uint64_t offset, ByteSpan data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("flash.write", "cannot write flash file {}: {}", path_.string(), errno_text(errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

Status FileFlash::read(uint32_t address, MutableByteSpan out) {
  ESPSEC_TRY(check_range(size_, address, out.size(), "read"));
  return pread_all(address, out);
}

Status FileFlash::program(uint32_t address, ByteSpan data) {
  ESPSEC_TRY(check_range(size_, address, data.size(), "program"));
  // NOR: a program only clears bits, so the new contents are old AND data.
  std::array<uint8_t, 4096> chunk;
  for (size_t done = 0; done < data.size(); done += chunk.size()) {
    const size_t n = std::min(chunk.size(), data.size() - done);
    const MutableByteSpan old(chunk.data(), n);
    ESPSEC_TRY(pread_all(uint64_t{address} + done, old));
    for (size_t i = 0; i < n; ++i) old[i] &= data[done + i];
    ESPSEC_TRY(pwrite_all(uint64_t{address} + done, old));
  }
  return {};
}

Status FileFlash::erase_sector(uint32_t address) {
  if (address % kSectorSize != 0)
    return fail("flash.unaligned", "flash erase at 0x{:x} is not 4 KiB aligned", address);
  ESPSEC_TRY(check_range(size_, address, kSectorSize, "erase"));
  static constexpr auto kErased = [] {
    std::array<uint8_t, kSectorSize> a{};
    a.fill(0xFF);
    return a;
  }();
  return pwrite_all(address, kErased);
}

}  // namespace espsec::chip
