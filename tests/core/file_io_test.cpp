#include "core/file_io.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "test_util.hpp"

namespace espsec {
namespace {

namespace fs = std::filesystem;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;

Bytes pattern(size_t size) {
  Bytes out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 7 + 3);
  return out;
}

size_t entries(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

TEST(ReadFile, ReadsWholeFilesOfEverySize) {
  TempDir dir;
  for (size_t size : {0u, 1u, 65535u, 65536u, 65537u, 3u << 20}) {
    write_bytes(dir / "f.bin", pattern(size));
    auto data = read_file(dir / "f.bin");
    ASSERT_TRUE(data) << size;
    EXPECT_EQ(*data, pattern(size)) << size;
  }
  EXPECT_EQ(read_file(dir / "missing").error().code, "io.open");
  EXPECT_EQ(read_file(dir.path()).error().code, "io.is_directory");
}

TEST(MapFile, MapsRegularFilesAndReadsTheRest) {
  TempDir dir;
  write_bytes(dir / "f.bin", pattern(100000));
  auto mapped = map_file(dir / "f.bin");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(std::equal(mapped->bytes().begin(), mapped->bytes().end(), pattern(100000).begin()));
  EXPECT_EQ(mapped->bytes().size(), 100000u);

  write_bytes(dir / "empty.bin", Bytes{});
  auto empty = map_file(dir / "empty.bin");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->bytes().empty());

  // A character device cannot be mapped: it is read instead.
  auto null = map_file("/dev/null");
  ASSERT_TRUE(null);
  EXPECT_TRUE(null->bytes().empty());

  EXPECT_EQ(map_file(dir / "missing").error().code, "io.open");
  EXPECT_EQ(map_file(dir.path()).error().code, "io.is_directory");

  // Replacing the file by rename leaves the mapping intact.
  ASSERT_TRUE(write_file_atomic(dir / "f.bin", pattern(10)));
  EXPECT_EQ(mapped->bytes().size(), 100000u);
  EXPECT_EQ(mapped->bytes()[99999], pattern(100000)[99999]);
}

TEST(AtomicFileWriter, AppearsOnlyOnCommit) {
  TempDir dir;
  const auto out = dir / "out.bin";
  {
    auto writer = AtomicFileWriter::create(out);
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write(pattern(10)));
    EXPECT_FALSE(fs::exists(out));
  }
  // Dropped without commit: nothing left, not even the temporary.
  EXPECT_EQ(entries(dir.path()), 0u);

  write_bytes(out, as_bytes("old"));
  auto writer = AtomicFileWriter::create(out);
  ASSERT_TRUE(writer);
  ASSERT_TRUE(writer->write(pattern(5)));
  ASSERT_TRUE(writer->write(pattern(7)));
  EXPECT_EQ(read_bytes(out), Bytes(as_bytes("old").begin(), as_bytes("old").end()));
  ASSERT_TRUE(writer->commit(Durability::kAtomicOnly));
  Bytes expected = pattern(5);
  const Bytes more = pattern(7);
  expected.insert(expected.end(), more.begin(), more.end());
  EXPECT_EQ(read_bytes(out), expected);
  EXPECT_EQ(entries(dir.path()), 1u);
  EXPECT_EQ(writer->write(pattern(1)).error().code, "io.closed");
  EXPECT_EQ(writer->commit().error().code, "io.closed");
}

TEST(AtomicFileWriter, CopiesRangesOfAMappedFile) {
  TempDir dir;
  const Bytes source = pattern(3u << 20);
  write_bytes(dir / "src.bin", source);
  for (const bool mapped_source : {true, false}) {
    // A pipe-like source (read into memory) takes the write() path.
    auto input = mapped_source ? map_file(dir / "src.bin") : map_file("/dev/null");
    ASSERT_TRUE(input);
    const ByteSpan bytes = input->bytes();
    auto writer = AtomicFileWriter::create(dir / "copy.bin");
    ASSERT_TRUE(writer);
    if (mapped_source) {
      ASSERT_TRUE(writer->write_from(*input, 5, bytes.size() - 10));
      EXPECT_EQ(writer->write_from(*input, bytes.size() - 4, 5).error().code, "io.range");
    } else {
      EXPECT_TRUE(writer->write_from(*input, 0, 0));
    }
    ASSERT_TRUE(writer->commit());
    const Bytes copy = read_bytes(dir / "copy.bin");
    if (mapped_source) {
      EXPECT_EQ(copy, Bytes(source.begin() + 5, source.end() - 5));
    } else {
      EXPECT_TRUE(copy.empty());
    }
  }
}

TEST(AtomicFileWriter, UnwritableDirectoryFailsCleanly) {
  TempDir dir;
  auto writer = AtomicFileWriter::create(dir / "no/such/dir/out.bin");
  ASSERT_FALSE(writer);
  EXPECT_EQ(writer.error().code, "io.create");
  EXPECT_EQ(write_file_atomic(dir / "no/such/dir/out.bin", pattern(3)).error().code, "io.create");
}

TEST(WriteFileAtomic, BothDurabilitiesReplaceTheFile) {
  TempDir dir;
  for (const auto durability : {Durability::kDurable, Durability::kAtomicOnly}) {
    ASSERT_TRUE(write_file_atomic(dir / "f.bin", pattern(1000), FileMode::kSecret, durability));
    EXPECT_EQ(read_bytes(dir / "f.bin"), pattern(1000));
    struct stat st {};
    ASSERT_EQ(::stat((dir / "f.bin").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  EXPECT_EQ(entries(dir.path()), 1u);
}

}  // namespace
}  // namespace espsec
