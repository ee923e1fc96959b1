#include "efuse/hwkeys_file.hpp"

#include <algorithm>
#include <cstring>

namespace espsec::efuse {
namespace {

constexpr char kMagic[8] = {'E', 'S', 'H', 'W', 'K', 'E', 'Y', '1'};
constexpr size_t kHeaderBytes = 12;
constexpr size_t kRecordBytes = 4 + kHwKeyBlockBytes;

bool all_zero(ByteSpan bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

Result<std::vector<HardwareKeyRecord>> parse_hwkeys_file(ByteSpan file) {
  if (file.size() < kHeaderBytes || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    return fail("efuse.hwkeys_magic", "hardware key file does not start with the ESHWKEY1 magic");
  const size_t count = file[8];
  if (count > kHwKeysMaxRecords)
    return fail("efuse.hwkeys_count", "hardware key file claims {} records; at most {} are possible", count,
                kHwKeysMaxRecords);
  if (file.size() != kHeaderBytes + count * kRecordBytes)
    return fail("efuse.hwkeys_size", "hardware key file is {} bytes; {} records need {} bytes", file.size(), count,
                kHeaderBytes + count * kRecordBytes);
  if (!all_zero(file.subspan(9, 3))) return fail("efuse.hwkeys_padding", "hardware key file header padding is not zero");
  std::vector<HardwareKeyRecord> records;
  for (size_t i = 0; i < count; ++i) {
    const ByteSpan record = file.subspan(kHeaderBytes + i * kRecordBytes, kRecordBytes);
    if (!all_zero(record.subspan(1, 3)))
      return fail("efuse.hwkeys_padding", "hardware key record {} padding is not zero", i);
    if (!records.empty() && record[0] <= records.back().block)
      return fail("efuse.hwkeys_order", "hardware key record {} (block {}) is out of order or repeated", i, record[0]);
    records.push_back({record[0], SecretBytes::copy_of(record.subspan(4))});
  }
  return records;
}

Result<SecretBytes> serialize_hwkeys_file(const std::vector<HardwareKeyRecord>& records) {
  if (records.size() > kHwKeysMaxRecords)
    return fail("efuse.hwkeys_record", "at most {} hardware key records fit the file", kHwKeysMaxRecords);
  SecretBytes out(kHeaderBytes + records.size() * kRecordBytes);
  MutableByteSpan bytes = out.expose_mutable();
  std::memcpy(bytes.data(), kMagic, sizeof kMagic);
  bytes[8] = static_cast<uint8_t>(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& record = records[i];
    if (record.contents.size() != kHwKeyBlockBytes)
      return fail("efuse.hwkeys_record", "hardware key record for block {} is {} bytes, not {}", record.block,
                  record.contents.size(), kHwKeyBlockBytes);
    if (i > 0 && record.block <= records[i - 1].block)
      return fail("efuse.hwkeys_record", "hardware key records must be in ascending block order");
    MutableByteSpan slot = bytes.subspan(kHeaderBytes + i * kRecordBytes, kRecordBytes);
    slot[0] = record.block;
    std::memcpy(slot.data() + 4, record.contents.expose().data(), kHwKeyBlockBytes);
  }
  return out;
}

}  // namespace espsec::efuse
