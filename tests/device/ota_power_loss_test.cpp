// Power cut after every flash operation and every eFuse burn of an update: the download into
// the passive slot, the otadata switch, the first boot of the new app (NEW -> PENDING_VERIFY),
// its confirmation (VALID) and the eFuse SECURE_VERSION raise. After each cut the device is
// powered on again and must boot an authorized image, never one older than the eFuse secure
// version. The server side is an in-memory stand-in (the HTTPS path has its own tests).
#include <gtest/gtest.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "crypto/hash.hpp"
#include "device/device_fixture.hpp"
#include "device/ota_agent.hpp"
#include "image_fixtures.hpp"
#include "ota/manifest.hpp"

namespace espsec::device {
namespace {

// Serves one channel: manifest, image (with ranges), and accepts check-ins and reports.
class MemoryServer final : public ota::Transport {
 public:
  explicit MemoryServer(Bytes image) : image_(std::move(image)) {
    release_.product = "thermo";
    release_.channel = "stable";
    release_.version = "2.0.0";
    release_.secure_version = 2;
    release_.project = "thermostat";
    release_.size = image_.size();
    release_.sha256 = to_hex(crypto::sha256(image_));
    release_.image_size = image_.size();
    release_.image_sha256 = release_.sha256;
  }
  static constexpr const char* kUrl = "https://ota.test/v1/products/thermo/channels/stable/manifest";

  Result<Response> get(const std::string& path, std::optional<uint64_t> range_from,
                       const std::function<bool(ByteSpan)>& sink) override {
    if (path.ends_with("/manifest")) {
      const std::string body = ota::to_json(release_).dump();
      sink(as_bytes(body));
      return Response{200, "application/json"};
    }
    const size_t from = range_from.value_or(0);
    for (size_t at = from; at < image_.size(); at += 8192)
      if (!sink(ByteSpan(image_).subspan(at, std::min<size_t>(8192, image_.size() - at)))) break;
    return Response{range_from ? 206 : 200, "application/octet-stream"};
  }
  Result<std::string> post_json(const std::string&, const std::string&) override { return std::string("{}"); }

 private:
  Bytes image_;
  ota::Release release_;
};

struct Snapshot {
  Bytes flash;
  efuse::StoredState efuses;
};

TEST(OtaPowerLoss, EveryCutLeavesAnAuthorizedBootableImage) {
  test::VirtualC3 c3(test::full_security(FlashEncryption::kRelease));
  c3.install(test::signed_bootloader(), test::signed_app("1.0.0", 1));
  ASSERT_EQ(c3.boot().status, BootStatus::kBooted);
  const Snapshot provisioned{c3.memory.contents(), efuse::clone_state(**c3.efuse_slot)};
  auto restore = [&] {
    c3.memory.contents() = provisioned.flash;
    *c3.efuse_slot = efuse::clone_state(provisioned.efuses);
  };
  MemoryServer server(test::signed_app("2.0.0", 2));
  const UpdateOptions options{MemoryServer::kUrl, std::nullopt, 4};

  // Reference run: the interleaving of flash operations and eFuse burns.
  std::string trace;
  {
    test::TracingFlash tracing(c3.flash, trace);
    auto device = Device::attach(c3.config, tracing, std::make_unique<efuse::MemoryStorage>(c3.efuse_slot), c3.rng);
    ASSERT_TRUE(device);
    tracing.watch(&(*device)->efuses());
    auto report = run_update(**device, server, options);
    tracing.flush_burns();
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->status, UpdateStatus::kUpdated) << report->reason;
  }

  size_t booted_old = 0, booted_new = 0;
  for (size_t k = 0; k < trace.size(); ++k) {
    restore();
    {
      auto device = c3.attach();
      c3.flash.cut_power_after(static_cast<uint64_t>(std::count(trace.begin(), trace.begin() + k, 'F')));
      device->efuses().cut_power_after(static_cast<uint64_t>(std::count(trace.begin(), trace.begin() + k, 'E')));
      auto cut = run_update(*device, server, options);
      ASSERT_FALSE(cut) << "cut point " << k << " did not cut the power";
      ASSERT_TRUE(cut.error().code == "flash.power_lost" || cut.error().code == "efuse.power_lost")
          << "cut point " << k << ": " << cut.error().code << ": " << cut.error().message;
    }
    // Power on again, with the server reachable.
    auto device = c3.attach();
    const auto report = power_on(*device, boot_options_with_server(server, *device, "thermo", "stable"));
    ASSERT_TRUE(report) << report.error().message;
    ASSERT_EQ(report->status, BootStatus::kBooted) << "cut point " << k << ": " << report->reason;
    const auto& app = *report->app;
    ASSERT_TRUE(app.desc.version == "1.0.0" || app.desc.version == "2.0.0") << app.desc.version;
    ASSERT_GE(app.desc.secure_version, device->efuses().secure_version())
        << "cut point " << k << " booted an image older than the eFuse secure version";
    (app.desc.version == "2.0.0" ? booted_new : booted_old)++;
    // And the update can always be completed afterwards.
    auto again = run_update(*device, server, options);
    ASSERT_TRUE(again) << "cut point " << k << ": " << again.error().message;
    EXPECT_TRUE(again->status == UpdateStatus::kUpdated || again->status == UpdateStatus::kUpToDate)
        << "cut point " << k << ": " << again->reason;
  }
  std::cout << "[ power loss ] OTA update: " << trace.size() << " cut points, " << booted_old
            << " came back on 1.0.0, " << booted_new << " on 2.0.0, every one then finished the update\n";
  EXPECT_GT(trace.size(), 50u);
  EXPECT_GT(booted_old, 0u);
  EXPECT_GT(booted_new, 0u);
}

}  // namespace
}  // namespace espsec::device
