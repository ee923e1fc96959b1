#include "chip/encrypted_flash.hpp"

#include <gtest/gtest.h>

#include <numeric>

#include "chip/file_flash.hpp"
#include "chip/flash_window.hpp"
#include "test_util.hpp"

namespace espsec::chip {
namespace {

constexpr uint32_t kMiB = 1024 * 1024;

flashcrypt::FlashXts key_from(const Bytes& key) {
  auto xts = flashcrypt::FlashXts::from_key_file_bytes(SecretBytes::copy_of(key));
  EXPECT_TRUE(xts);
  return std::move(*xts);
}

flashcrypt::FlashXts test_key() {
  Bytes key(32);
  std::iota(key.begin(), key.end(), uint8_t{0});
  return key_from(key);
}

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
  return b;
}

// Writing plaintext through the view leaves on flash exactly what espsecure encrypt-flash-data
// --aes-xts produces for the same key and address; reading through the view gives it back.
TEST(EncryptedFlash, MatchesEspsecureXtsVectors) {
  ESPSEC_REQUIRE_VECTORS();
  struct Case {
    const char* key;
    const char* plain;
    const char* cipher;
    uint32_t address;
  } cases[] = {
      {"secure/xts/key128.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x0.enc.bin", 0x0},
      {"secure/xts/key128.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x10000.enc.bin", 0x10000},
      {"secure/xts/key128.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k128.at_0x13000.enc.bin", 0x13000},
      {"secure/xts/key256.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x0.enc.bin", 0x0},
      {"secure/xts/key256.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x10000.enc.bin", 0x10000},
      {"secure/xts/key256.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k256.at_0x13000.enc.bin", 0x13000},
      {"secure/xts/key512.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x0.enc.bin", 0x0},
      {"secure/xts/key512.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x10000.enc.bin", 0x10000},
      {"secure/xts/key512.bin", "secure/xts/plain_64KiB.bin", "secure/xts/plain_64KiB.k512.at_0x13000.enc.bin", 0x13000},
      {"secure/xts/key256.bin", "secure/xts/plain_65488.bin", "secure/xts/plain_65488.k256.at_0x10000.enc.bin", 0x10000},
      {"secure/xts/key512.bin", "secure/xts/plain_65488.bin", "secure/xts/plain_65488.k512.at_0x13050.enc.bin", 0x13050},
      {"secure/esptool/256bit_key.bin", "secure/esptool/bootloader.bin",
       "secure/esptool/bootloader-encrypted-aes-xts.bin", 0x1000},
      {"secure/esptool/ef-flashencryption-key.bin", "secure/esptool/hello-world-signed.bin",
       "secure/esptool/hello-world-signed-encrypted-aes-xts.bin", 0x20000},
      {"secure/esptool/512bit_key.bin", "secure/esptool/hello-world-signed.bin",
       "secure/esptool/hello-world-signed-encrypted-aes-xts-256.bin", 0x10000},
  };
  for (const auto& c : cases) {
    const Bytes plain = test::read_vector(c.plain);
    const Bytes cipher = test::read_vector(c.cipher);
    MemoryFlash raw(2 * kMiB);
    EncryptedFlash view(raw, key_from(test::read_vector(c.key)));
    ASSERT_TRUE(view.program(c.address, plain)) << c.cipher;
    EXPECT_TRUE(std::equal(cipher.begin(), cipher.end(), raw.contents().begin() + c.address)) << c.cipher;
    auto back = view.read_bytes(c.address, static_cast<uint32_t>(plain.size()));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, plain) << c.cipher;
    // The chip decrypts what espsecure encrypted: load ciphertext raw, read plaintext.
    MemoryFlash flashed(2 * kMiB);
    ASSERT_TRUE(flashed.program(c.address, cipher));
    EncryptedFlash chip(flashed, key_from(test::read_vector(c.key)));
    EXPECT_EQ(*chip.read_bytes(c.address, static_cast<uint32_t>(plain.size())), plain) << c.cipher;
  }
}

TEST(EncryptedFlash, ReadsAnyRangeWritesOnlySixteenByteBlocks) {
  MemoryFlash raw(64 * kSectorSize);
  EncryptedFlash view(raw, test_key());
  const Bytes plain = pattern(256, 3);
  ASSERT_TRUE(view.program(0x1040, plain));
  EXPECT_EQ(*view.read_bytes(0x1045, 11), Bytes(plain.begin() + 5, plain.begin() + 16));
  EXPECT_EQ(*view.read_bytes(0x107F, 2), Bytes(plain.begin() + 0x3F, plain.begin() + 0x41));
  EXPECT_TRUE(view.read_bytes(0x1040, 0));

  const Bytes before = raw.contents();
  auto bad_address = view.program(0x1008, Bytes(16, 0));
  EXPECT_EQ(bad_address.error().code, "flash.encrypted_unaligned");
  EXPECT_EQ(view.program(0x1000, Bytes(17, 0)).error().code, "flash.encrypted_unaligned");
  EXPECT_EQ(view.program(0x1001, Bytes(1, 0)).error().code, "flash.encrypted_unaligned");
  EXPECT_EQ(raw.contents(), before);  // nothing written
  EXPECT_EQ(view.program(64 * kSectorSize - 16, Bytes(32, 0)).error().code, "flash.out_of_range");
  Bytes out(2);
  EXPECT_EQ(view.read(64 * kSectorSize - 1, out).error().code, "flash.out_of_range");
}

// Block-aligned reads (decrypted in the caller's buffer) and unaligned ones (decrypted around
// the range) see the same plaintext; a failed read of either kind reports the range.
TEST(EncryptedFlash, AlignedAndUnalignedReadsAgree) {
  MemoryFlash raw(64 * kSectorSize);
  EncryptedFlash view(raw, test_key());
  const Bytes plain = pattern(3 * kSectorSize, 9);
  ASSERT_TRUE(view.program(0x2000, plain));
  EXPECT_EQ(*view.read_bytes(0x2000, static_cast<uint32_t>(plain.size())), plain);
  EXPECT_EQ(*view.read_bytes(0x2010, 0x30), Bytes(plain.begin() + 0x10, plain.begin() + 0x40));
  EXPECT_EQ(*view.read_bytes(0x2011, 0x2F), Bytes(plain.begin() + 0x11, plain.begin() + 0x40));
  Bytes out(32);
  EXPECT_EQ(view.read(64 * kSectorSize - 16, out).error().code, "flash.out_of_range");
}

TEST(EncryptedFlash, EraseShowsAsNoiseThroughTheView) {
  MemoryFlash raw(4 * kSectorSize);
  EncryptedFlash view(raw, test_key());
  ASSERT_TRUE(view.program(0x1000, pattern(64, 1)));
  ASSERT_TRUE(view.erase_sector(0x1000));
  EXPECT_EQ(raw.contents()[0x1000], 0xFF);
  const Bytes seen = *view.read_bytes(0x1000, 64);
  EXPECT_NE(seen, Bytes(64, 0xFF));  // decrypted 0xFF, as the chip's cache shows it
  EXPECT_EQ(view.size(), raw.size());
}

TEST(EncryptedFlash, PartitionWindowOnTopUsesAbsoluteAddresses) {
  MemoryFlash raw(64 * kSectorSize);
  MemoryFlash direct_raw(64 * kSectorSize);
  EncryptedFlash view(raw, test_key());
  EncryptedFlash direct(direct_raw, test_key());
  auto window = FlashWindow::make(view, 0xd000, 0x2000);
  ASSERT_TRUE(window);
  const Bytes entry = pattern(32, 9);
  ASSERT_TRUE(window->program(0x1000, entry));
  ASSERT_TRUE(direct.program(0xe000, entry));
  EXPECT_EQ(raw.contents(), direct_raw.contents());
  EXPECT_EQ(*window->read_bytes(0x1000, 32), entry);
}

// First-boot style in-place encryption of a whole 4 MiB file flash: read plaintext, erase,
// write through the engine, sector by sector.
TEST(EncryptedFlash, InPlaceEncryptionOfAWholeFileFlash) {
  test::TempDir dir;
  auto file = FileFlash::create(dir / "flash.bin", 4 * kMiB);
  ASSERT_TRUE(file);
  const Bytes image = pattern(4 * kMiB, 0x5A);
  ASSERT_TRUE(file->program(0, image));
  EncryptedFlash view(*file, test_key());
  Bytes sector(kSectorSize);
  for (uint32_t a = 0; a < 4 * kMiB; a += kSectorSize) {
    ASSERT_TRUE(file->read(a, sector));
    ASSERT_TRUE(view.erase_sector(a));
    ASSERT_TRUE(view.program(a, sector));
  }
  ASSERT_TRUE(file->sync());
  EXPECT_NE(*file->read_bytes(0x123450, 64), Bytes(image.begin() + 0x123450, image.begin() + 0x123490));
  EXPECT_EQ(*view.read_bytes(0, 4 * kMiB), image);
}

// Power cut in the middle of an encrypted multi-sector write on a file flash: every operation
// before the cut is on the file, none after; a torn program leaves half a block run.
TEST(EncryptedFlash, PowerCutDuringEncryptedMultiSectorWrite) {
  constexpr uint32_t kBase = 0x20000;
  constexpr int kSectors = 3;
  const Bytes old_data = pattern(kSectors * kSectorSize, 0x11);
  const Bytes new_data = pattern(kSectors * kSectorSize, 0x77);
  for (const bool torn : {false, true}) {
    for (uint64_t cut = 0; cut <= 2 * kSectors; ++cut) {
      SCOPED_TRACE(fmt::format("cut after {} operations{}", cut, torn ? ", torn" : ""));
      test::TempDir dir;
      {
        auto file = FileFlash::create(dir / "flash.bin", 2 * kMiB);
        ASSERT_TRUE(file);
        EncryptedFlash setup(*file, test_key());
        ASSERT_TRUE(setup.program(kBase, old_data));
        FaultInjectingFlash faulty(*file);
        faulty.cut_power_after(cut, torn);
        EncryptedFlash view(faulty, test_key());
        Status s;
        for (int i = 0; i < kSectors && s; ++i) {
          const uint32_t a = kBase + static_cast<uint32_t>(i) * kSectorSize;
          s = view.erase_sector(a);
          if (s) s = view.program(a, ByteSpan(new_data).subspan(static_cast<size_t>(i) * kSectorSize, kSectorSize));
        }
        EXPECT_EQ(static_cast<bool>(s), cut >= 2 * kSectors);
        if (!s) {
          EXPECT_EQ(s.error().code, "flash.power_lost");
        }
      }
      // Power back: reopen the file and look through a fresh view.
      auto file = FileFlash::open(dir / "flash.bin");
      ASSERT_TRUE(file);
      EncryptedFlash view(*file, test_key());
      for (uint64_t i = 0; i < kSectors; ++i) {
        const uint32_t a = kBase + static_cast<uint32_t>(i) * kSectorSize;
        const Bytes seen = *view.read_bytes(a, kSectorSize);
        const Bytes raw = *file->read_bytes(a, kSectorSize);
        const ByteSpan want_new = ByteSpan(new_data).subspan(i * kSectorSize, kSectorSize);
        const ByteSpan want_old = ByteSpan(old_data).subspan(i * kSectorSize, kSectorSize);
        const uint64_t erase_op = 2 * i, program_op = 2 * i + 1;
        if (cut > program_op) {
          EXPECT_TRUE(std::equal(seen.begin(), seen.end(), want_new.begin())) << "sector " << i;
        } else if (cut == program_op) {
          // Erased; a torn program got its first half (whole 16-byte blocks) on flash.
          const size_t done = torn ? kSectorSize / 2 : 0;
          EXPECT_TRUE(std::equal(seen.begin(), seen.begin() + static_cast<long>(done), want_new.begin())) << i;
          EXPECT_TRUE(std::all_of(raw.begin() + static_cast<long>(done), raw.end(), [](uint8_t b) { return b == 0xFF; }))
              << "sector " << i;
        } else if (cut == erase_op && torn) {
          // Half an erase: first half 0xFF, second half still the old ciphertext.
          EXPECT_TRUE(std::all_of(raw.begin(), raw.begin() + kSectorSize / 2, [](uint8_t b) { return b == 0xFF; }));
          EXPECT_TRUE(std::equal(seen.begin() + kSectorSize / 2, seen.end(), want_old.begin() + kSectorSize / 2));
        } else {
          EXPECT_TRUE(std::equal(seen.begin(), seen.end(), want_old.begin())) << "sector " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace espsec::chip
