#include "device/app_nvs.hpp"

#include "format/partition_table.hpp"
#include "nvs/key_init.hpp"

namespace espsec::device {

Result<std::unique_ptr<AppNvs>> AppNvs::open(Device& device) {
  ESPSEC_ASSIGN_OR_RETURN(auto view, CacheView::open(device));
  auto app = std::unique_ptr<AppNvs>(new AppNvs(std::move(view)));
  chip::Flash& flash = app->view_.flash();
  ESPSEC_ASSIGN_OR_RETURN(const Bytes table_bytes,
                          flash.read_bytes(device.config().partition_table_offset, partition::kTableMaxLength));
  ESPSEC_ASSIGN_OR_RETURN(const auto table, partition::verify_table(table_bytes, device.config().flash_size));
  const auto* nvs = table.find(partition::type::kData, partition::subtype::kNvs);
  if (!nvs) return fail("device.no_nvs", "the partition table has no NVS partition");
  app->label_ = nvs->label;
  app->offset_ = nvs->offset;
  app->size_ = nvs->size;
  // NVS entries carry their own encryption; the partition is not under flash encryption
  // unless flagged, so the engine normally works on the raw flash.
  chip::Flash& nvs_flash = nvs->encrypted() ? flash : app->view_.raw();
  std::optional<nvs::Keys> keys;
  const auto* keys_part = table.find(partition::type::kData, partition::subtype::kNvsKeys);
  if (app->view_.encrypted() && keys_part) {
    const nvs::KeysPartition partition{app->view_.raw(), flash, keys_part->offset};
    ESPSEC_ASSIGN_OR_RETURN(auto init, nvs::init_keys(partition, nvs_flash, nvs->offset, nvs->size, device.rng()));
    app->keys_generated_ = init.source == nvs::KeysSource::kGenerated;
    keys = std::move(init.keys);
    app->encrypted_ = true;
  }
  ESPSEC_ASSIGN_OR_RETURN(app->storage_, nvs::Storage::open(nvs_flash, nvs->offset, nvs->size, std::move(keys)));
  return app;
}

}  // namespace espsec::device
