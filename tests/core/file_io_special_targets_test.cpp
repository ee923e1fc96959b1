// write_file_atomic on paths that are not plain files: symlinks, pipes, directories.
#include "core/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "test_util.hpp"

namespace espsec {
namespace {

TEST(WriteFileAtomic, ReplacesTheFileASymlinkPointsToAndKeepsTheLink) {
  test::TempDir dir;
  test::write_bytes(dir / "real.bin", as_bytes("old"));
  std::filesystem::create_symlink(dir / "real.bin", dir / "link.bin");
  ASSERT_TRUE(write_file_atomic(dir / "link.bin", as_bytes("new contents")));
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.bin"));
  const Bytes got = test::read_bytes(dir / "real.bin");
  EXPECT_EQ(std::string(got.begin(), got.end()), "new contents");
}

TEST(WriteFileAtomic, WritesIntoAPipeInsteadOfReplacingIt) {
  test::TempDir dir;
  const auto fifo = dir / "pipe";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] {
    const int fd = ::open(fifo.c_str(), O_RDONLY);
    char buf[64];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) received.append(buf, static_cast<size_t>(n));
    ::close(fd);
  });
  const Status written = write_file_atomic(fifo, as_bytes("through the pipe"));
  reader.join();
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(received, "through the pipe");
  struct stat st {};
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(WriteFileAtomic, RefusesADirectory) {
  test::TempDir dir;
  const Status s = write_file_atomic(dir.path(), as_bytes("x"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "io.is_directory");
}

}  // namespace
}  // namespace espsec
