// SecretBytes: key material that wipes itself on destruction, cannot be copied by accident
// and never prints. Raw bytes leave it only through expose(), so every place that touches a
// key is greppable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <fmt/format.h>

#include "core/bytes.hpp"

namespace espsec {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);  // zero-filled
  static SecretBytes copy_of(ByteSpan bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  [[nodiscard]] SecretBytes clone() const { return copy_of(expose()); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The only doors to the raw bytes.
  ByteSpan expose() const { return {data_.get(), size_}; }
  MutableByteSpan expose_mutable() { return {data_.get(), size_}; }

  // Constant-time comparison (length is not secret).
  bool equals(const SecretBytes& other) const;

 private:
  void wipe();
  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// Wipes a plain buffer that briefly held secret bytes.
void secure_wipe(MutableByteSpan data);

}  // namespace espsec

template <>
struct fmt::formatter<espsec::SecretBytes> : fmt::formatter<std::string_view> {
  auto format(const espsec::SecretBytes& s, fmt::format_context& ctx) const {
    return fmt::format_to(ctx.out(), "<secret: {} bytes>", s.size());
  }
};
