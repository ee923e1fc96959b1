// The app's NVS on the virtual device: encrypted with keys from nvs_keys when flash encryption
// is on, so a value the firmware stores never appears in a raw flash dump.
#include "device/app_nvs.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "device/device_fixture.hpp"
#include "image_fixtures.hpp"

namespace espsec::device {
namespace {

bool raw_flash_contains(const test::VirtualC3& c3, std::string_view text) {
  const Bytes& m = c3.memory.contents();
  return std::search(m.begin(), m.end(), text.begin(), text.end()) != m.end();
}

void store_secret(test::VirtualC3& c3) {
  auto device = c3.attach();
  auto nvs = AppNvs::open(*device);
  ASSERT_TRUE(nvs) << nvs.error().message;
  auto h = (*nvs)->storage().open_namespace("wifi", nvs::OpenMode::kReadWrite);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->set_string("psk", "correct horse battery staple"));
  ASSERT_TRUE(h->commit());
}

std::string read_secret(test::VirtualC3& c3) {
  auto device = c3.attach();
  auto nvs = AppNvs::open(*device);
  EXPECT_TRUE(nvs);
  auto h = (*nvs)->storage().open_namespace("wifi", nvs::OpenMode::kReadOnly);
  EXPECT_TRUE(h);
  return h->get_string("psk").value_or("");
}

TEST(AppNvs, EncryptedWithFlashEncryptionAndAbsentFromTheRawFlash) {
  test::VirtualC3 c3(test::full_security());
  c3.install(test::signed_bootloader(), test::signed_app("1.0.0", 0));
  const BootReport first = c3.boot();
  ASSERT_EQ(first.status, BootStatus::kBooted);
  EXPECT_TRUE(std::any_of(first.notes.begin(), first.notes.end(),
                          [](const std::string& n) { return n.find("generated NVS encryption keys") != std::string::npos; }));
  store_secret(c3);
  EXPECT_EQ(read_secret(c3), "correct horse battery staple");
  EXPECT_FALSE(raw_flash_contains(c3, "correct horse")) << "NVS encryption must hide the value";
  // The app's own bookkeeping survives reboots.
  const BootReport second = c3.boot();
  EXPECT_TRUE(std::any_of(second.log.begin(), second.log.end(),
                          [](const std::string& l) { return l.find("boot #2 of this device") != std::string::npos; }));
  EXPECT_EQ(read_secret(c3), "correct horse battery staple");
}

TEST(AppNvs, PlainWithoutFlashEncryption) {
  test::VirtualC3 c3(test::no_security());
  c3.install(test::plain_bootloader(), test::plain_app("1.0.0", 0));
  ASSERT_EQ(c3.boot().status, BootStatus::kBooted);
  store_secret(c3);
  EXPECT_TRUE(raw_flash_contains(c3, "correct horse")) << "without encryption NVS is plaintext, as on the chip";
}

TEST(AppNvs, ErasedKeysOverExistingDataAreReportedNotRegenerated) {
  test::VirtualC3 c3(test::full_security());
  c3.install(test::signed_bootloader(), test::signed_app("1.0.0", 0));
  ASSERT_EQ(c3.boot().status, BootStatus::kBooted);
  store_secret(c3);
  c3.erase(0x12000, 0x1000);  // nvs_keys erased by mistake
  auto device = c3.attach();
  auto nvs = AppNvs::open(*device);
  ASSERT_FALSE(nvs);
  EXPECT_EQ(nvs.error().code, "nvs.keys_lost");
}

}  // namespace
}  // namespace espsec::device
