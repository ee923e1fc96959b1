#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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

// Writes `data` to a fresh temporary file next to `path`; returns the temporary's path.
Result<std::filesystem::path> write_temp(const std::filesystem::path& path, ByteSpan data,
                                         FileMode mode) {
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::string tmpl = (dir / fmt::format(".{}.tmp-XXXXXX", path.filename().string())).string();
  const int raw = ::mkstemp(tmpl.data());
  if (raw < 0) return fail("io.create", "cannot write {}: {}", path.string(), errno_text(errno));
  Fd fd(raw);
  const std::filesystem::path tmp(tmpl);
  auto cleanup_on_error = [&](Error e) -> Result<std::filesystem::path> {
    ::unlink(tmp.c_str());
    return std::unexpected(std::move(e));
  };
  // mkstemp creates 0600; public outputs get the usual umask-filtered 0644.
  if (mode == FileMode::kPublic) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd.get(), 0644 & ~mask);
  }
  if (auto s = write_all(fd.get(), data, path); !s) return cleanup_on_error(s.error());
  if (::fsync(fd.get()) != 0)
    return cleanup_on_error(Error{"io.sync", "cannot write " + path.string() + ": " + errno_text(errno)});
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
  Bytes out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  uint8_t chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("io.read", "cannot read {}: {}", path.string(), errno_text(errno));
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  return out;
}

Result<SecretBytes> read_secret_file(const std::filesystem::path& path) {
  auto bytes = read_file(path);
  if (!bytes) return std::unexpected(bytes.error());
  SecretBytes secret = SecretBytes::copy_of(*bytes);
  secure_wipe(*bytes);
  return secret;
}

Status write_file_atomic(const std::filesystem::path& path, ByteSpan data, FileMode mode) {
  // Renaming over a symlink, a device or a pipe would replace that node itself (think
  // `--file /dev/stdout` as root): a link is followed to its file, and anything that is not a
  // regular file is written in place.
  std::error_code ec;
  std::filesystem::path target = path;
  if (std::filesystem::is_symlink(path, ec)) {
    auto resolved = std::filesystem::canonical(path, ec);
    if (!ec) target = std::move(resolved);
  }
  const auto status = std::filesystem::status(target, ec);
  if (std::filesystem::is_directory(status))
    return fail("io.is_directory", "cannot write {}: it is a directory", path.string());
  if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status)) {
    Fd fd(::open(target.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return fail("io.open", "cannot write {}: {}", path.string(), errno_text(errno));
    return write_all(fd.get(), data, path);
  }
  auto tmp = write_temp(target, data, mode);
  if (!tmp) return std::unexpected(tmp.error());
  if (::rename(tmp->c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp->c_str());
    return fail("io.rename", "cannot write {}: {}", path.string(), errno_text(err));
  }
  return {};
}

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
