#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace espsec {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

Status write_all(int fd, ByteSpan data, const std::filesystem::path& shown) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("io.write", "cannot write {}: {}", shown.string(), errno_text(errno));
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

// Creates a fresh temporary file next to `path` (same directory, so rename() is atomic).
Result<std::filesystem::path> open_temp(const std::filesystem::path& path, FileMode mode, int& fd_out) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / fmt::format(".{}.tmp-XXXXXX", path.filename().string())).string();
  const int raw = ::mkstemp(tmpl.data());
  if (raw < 0) return fail("io.create", "cannot write {}: {}", path.string(), errno_text(errno));
  // mkstemp creates 0600; public outputs get the usual umask-filtered 0644.
  if (mode == FileMode::kPublic) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(raw, 0644 & ~mask);
  }
  fd_out = raw;
  return std::filesystem::path(tmpl);
}

Status finish_temp(int fd, const std::filesystem::path& path, Durability durability) {
  if (durability == Durability::kDurable && ::fsync(fd) != 0)
    return fail("io.sync", "cannot write {}: {}", path.string(), errno_text(errno));
  return {};
}

// Writes `data` to a fresh temporary file next to `path`; returns the temporary's path.
Result<std::filesystem::path> write_temp(const std::filesystem::path& path, ByteSpan data, FileMode mode) {
  int raw = -1;
  ESPSEC_ASSIGN_OR_RETURN(const auto tmp, open_temp(path, mode, raw));
  Fd fd(raw);
  auto cleanup_on_error = [&](Error e) -> Result<std::filesystem::path> {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(e));
  };
  if (auto s = write_all(fd.get(), data, path); !s) return cleanup_on_error(s.error());
  if (auto s = finish_temp(fd.get(), path, Durability::kDurable); !s) return cleanup_on_error(s.error());
  if (::close(fd.release()) != 0)
    return cleanup_on_error(Error{"io.close", "cannot write " + path.string() + ": " + errno_text(errno)});
  return tmp;
}

}  // namespace

Result<Bytes> read_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail("io.open", "cannot read {}: {}", path.string(), errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fail("io.stat", "cannot read {}: {}", path.string(), errno_text(errno));
  if (S_ISDIR(st.st_mode)) return fail("io.is_directory", "cannot read {}: it is a directory", path.string());
  // Regular files are read straight into a buffer of their size; anything beyond it (a file
  // that grew, a pipe) is appended chunk by chunk.
  Bytes out;
  if (S_ISREG(st.st_mode)) out.resize(static_cast<size_t>(st.st_size));
  size_t filled = 0;
  uint8_t chunk[1 << 16];
  for (;;) {
    const bool into_buffer = filled < out.size();
    const ssize_t n = into_buffer ? ::read(fd.get(), out.data() + filled, out.size() - filled)
                                  : ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("io.read", "cannot read {}: {}", path.string(), errno_text(errno));
    }
    if (n == 0) break;
    if (into_buffer) {
      filled += static_cast<size_t>(n);
    } else {
      out.insert(out.end(), chunk, chunk + n);
      filled = out.size();
    }
  }
  out.resize(filled);
  return out;
}

Result<SecretBytes> read_secret_file(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return std::unexpected(bytes.error());
  SecretBytes secret = SecretBytes::copy_of(*bytes);
  secure_wipe(*bytes);
  return secret;
}

namespace {

// Where an output really goes. Renaming over a symlink, a device or a pipe would replace that
// node itself (think `--file /dev/stdout` as root): a link is followed to its file, and anything
// that exists but is not a regular file is written in place.
struct OutputTarget {
  std::filesystem::path path;
  bool in_place = false;
};

Result<OutputTarget> resolve_output(const std::filesystem::path& path) {
  std::error_code ec;
  OutputTarget target{path, false};
  if (std::filesystem::is_symlink(path, ec)) {
    auto resolved = std::filesystem::canonical(path, ec);
    if (!ec) target.path = std::move(resolved);
  }
  const auto status = std::filesystem::status(target.path, ec);
  if (std::filesystem::is_directory(status))
    return fail("io.is_directory", "cannot write {}: it is a directory", path.string());
  target.in_place = std::filesystem::exists(status) && !std::filesystem::is_regular_file(status);
  return target;
}

}  // namespace

Status write_file_atomic(const std::filesystem::path& path, ByteSpan data, FileMode mode, Durability durability) {
  ESPSEC_ASSIGN_OR_RETURN(const OutputTarget target, resolve_output(path));
  if (target.in_place) {
    Fd fd(::open(target.path.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return fail("io.open", "cannot write {}: {}", path.string(), errno_text(errno));
    return write_all(fd.get(), data, path);
  }
  ESPSEC_ASSIGN_OR_RETURN(auto writer, AtomicFileWriter::create(target.path, mode));
  ESPSEC_TRY(writer.write(data));
  return writer.commit(durability);
}

// ---- AtomicFileWriter ----

Result<AtomicFileWriter> AtomicFileWriter::create(const std::filesystem::path& path, FileMode mode) {
  ESPSEC_ASSIGN_OR_RETURN(const OutputTarget target, resolve_output(path));
  if (target.in_place)
    return fail("io.not_regular", "cannot write {}: it is not a regular file", path.string());
  int fd = -1;
  ESPSEC_ASSIGN_OR_RETURN(auto tmp, open_temp(target.path, mode, fd));
  return AtomicFileWriter(fd, std::move(tmp), target.path);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), temp_(std::move(other.temp_)), path_(std::move(other.path_)) {
  other.temp_.clear();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status AtomicFileWriter::write(ByteSpan data) {
  if (fd_ < 0) return fail("io.closed", "cannot write {}: already committed", path_.string());
  return write_all(fd_, data, path_);
}

Status AtomicFileWriter::write_from(const MappedFile& source, size_t offset, size_t length) {
  if (fd_ < 0) return fail("io.closed", "cannot write {}: already committed", path_.string());
  const ByteSpan bytes = source.bytes();
  if (offset > bytes.size() || length > bytes.size() - offset)
    return fail("io.range", "cannot write {}: source range out of bounds", path_.string());
  size_t done = 0;
  if (source.fd_ >= 0) {
    while (done < length) {
      loff_t from = static_cast<loff_t>(offset + done);
      const ssize_t n = ::copy_file_range(source.fd_, &from, fd_, nullptr, length - done, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // not supported here (or the source shrank): write the rest below
      done += static_cast<size_t>(n);
    }
  }
  return write_all(fd_, bytes.subspan(offset + done, length - done), path_);
}

Status AtomicFileWriter::commit(Durability durability) {
  if (fd_ < 0) return fail("io.closed", "cannot write {}: already committed", path_.string());
  ESPSEC_TRY(finish_temp(fd_, path_, durability));
  const int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0) return fail("io.close", "cannot write {}: {}", path_.string(), errno_text(errno));
  // Without durability, swap the new file in and unlink the old one instead of renaming over
  // it: ext4 flushes a file renamed over another (auto_da_alloc), which is the durability the
  // caller declined. The path names a complete file (old or new) at every moment either way.
  if (durability == Durability::kAtomicOnly &&
      ::renameat2(AT_FDCWD, temp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_EXCHANGE) == 0) {
    ::unlink(temp_.c_str());
    temp_.clear();
    return {};
  }
  if (::rename(temp_.c_str(), path_.c_str()) != 0)
    return fail("io.rename", "cannot write {}: {}", path_.string(), errno_text(errno));
  temp_.clear();
  return {};
}

// ---- MappedFile ----

Result<MappedFile> map_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail("io.open", "cannot read {}: {}", path.string(), errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("io.stat", "cannot read {}: {}", path.string(), errno_text(errno));
  if (S_ISDIR(st.st_mode)) return fail("io.is_directory", "cannot read {}: it is a directory", path.string());
  if (!S_ISREG(st.st_mode) || st.st_size == 0) {
    // Pipes and devices cannot be mapped; an empty file has nothing to map.
    ESPSEC_ASSIGN_OR_RETURN(Bytes data, read_file(path));
    return MappedFile(std::move(data));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  // MAP_POPULATE maps the page-cache pages up front instead of faulting them in one by one.
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (map == MAP_FAILED) return fail("io.map", "cannot read {}: {}", path.string(), errno_text(errno));
  return MappedFile(fd.release(), static_cast<const uint8_t*>(map), size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      map_(std::exchange(other.map_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      owned_(std::move(other.owned_)) {}

MappedFile::~MappedFile() {
  if (map_) ::munmap(const_cast<uint8_t*>(map_), size_);
  if (fd_ >= 0) ::close(fd_);
}

ByteSpan MappedFile::bytes() const { return map_ ? ByteSpan(map_, size_) : ByteSpan(owned_); }

Status create_file_exclusive(const std::filesystem::path& path, ByteSpan data, FileMode mode) {
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found)
    return fail("io.exists", "{} already exists; refusing to overwrite it", path.string());
  auto tmp = write_temp(path, data, mode);
  if (!tmp) return std::unexpected(tmp.error());
  // link() fails with EEXIST instead of replacing, closing the race with the check above.
  const int rc = ::link(tmp->c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp->c_str());
  if (rc != 0) {
    if (err == EEXIST) return fail("io.exists", "{} already exists; refusing to overwrite it", path.string());
    return fail("io.link", "cannot write {}: {}", path.string(), errno_text(err));
  }
  return {};
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

}  // namespace espsec
