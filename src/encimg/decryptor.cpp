#include "encimg/decryptor.hpp"

#include <algorithm>

#include "crypto/aes.hpp"

namespace espsec::encimg {

struct ImageDecryptor::Impl {
  enum class Stage { kHeader, kBody, kFinished, kFailed };

  explicit Impl(DecryptionKey k) : key(std::move(k)) { header_bytes.reserve(kHeaderSize); }

  DecryptionKey key;
  Stage stage = Stage::kHeader;
  Bytes header_bytes;
  bool magic_checked = false;
  std::optional<SecretBytes> aes_key;
  std::optional<Header> header;
  std::optional<crypto::AesGcm> gcm;
  uint64_t body_received = 0;
  std::optional<Error> failure;

  Status fail_with(Error error) {
    stage = Stage::kFailed;
    failure = error;
    gcm.reset();
    aes_key.reset();
    return std::unexpected(std::move(error));
  }

  // Acts on the header as soon as each part is complete: magic at 4 bytes, key block at
  // 388 (the device unwraps there too), the rest at 512.
  Status advance_header() {
    if (!magic_checked && header_bytes.size() >= kMagicSize) {
      ESPSEC_TRY(check_magic(header_bytes));
      magic_checked = true;
    }
    if (!aes_key && header_bytes.size() >= kIvOffset) {
      std::array<uint8_t, kKeyBlockSize> block{};
      std::copy_n(header_bytes.begin() + kKeyBlockOffset, kKeyBlockSize, block.begin());
      ESPSEC_ASSIGN_OR_RETURN(aes_key, key.recover_aes_key(block));
    }
    if (header_bytes.size() == kHeaderSize) {
      ESPSEC_ASSIGN_OR_RETURN(header, parse_header(header_bytes));
      ESPSEC_ASSIGN_OR_RETURN(gcm, crypto::AesGcm::create(crypto::Direction::kDecrypt, *aes_key, header->iv));
      aes_key.reset();
      stage = Stage::kBody;
    }
    return {};
  }
};

ImageDecryptor::ImageDecryptor(DecryptionKey key) : impl_(std::make_unique<Impl>(std::move(key))) {}
ImageDecryptor::ImageDecryptor(ImageDecryptor&&) noexcept = default;
ImageDecryptor& ImageDecryptor::operator=(ImageDecryptor&&) noexcept = default;
ImageDecryptor::~ImageDecryptor() = default;

Status ImageDecryptor::feed(ByteSpan chunk, Bytes& plaintext_out) {
  Impl& s = *impl_;
  if (s.stage == Impl::Stage::kFailed) return std::unexpected(*s.failure);
  if (s.stage == Impl::Stage::kFinished)
    return fail("encimg.state", "the image was already finished; start a new decryptor");
  if (s.stage == Impl::Stage::kHeader) {
    const size_t take = std::min(kHeaderSize - s.header_bytes.size(), chunk.size());
    s.header_bytes.insert(s.header_bytes.end(), chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(take));
    consumed_ += take;
    chunk = chunk.subspan(take);
    if (auto st = s.advance_header(); !st) return s.fail_with(std::move(st).error());
    if (s.stage == Impl::Stage::kHeader) return {};
  }
  const uint64_t remaining = s.header->image_size - s.body_received;
  if (chunk.size() > remaining)
    return s.fail_with(Error{"encimg.size_mismatch",
                             fmt::format("more data than the header's image size of {} bytes: {} extra bytes",
                                         s.header->image_size, chunk.size() - remaining)});
  if (chunk.empty()) return {};
  const size_t at = plaintext_out.size();
  plaintext_out.resize(at + chunk.size());
  if (auto st = s.gcm->update(chunk, MutableByteSpan(plaintext_out).subspan(at)); !st) {
    plaintext_out.resize(at);
    return s.fail_with(std::move(st).error());
  }
  s.body_received += chunk.size();
  consumed_ += chunk.size();
  return {};
}

Result<Bytes> ImageDecryptor::feed(ByteSpan chunk) {
  Bytes out;
  ESPSEC_TRY(feed(chunk, out));
  return out;
}

Status ImageDecryptor::finish() {
  Impl& s = *impl_;
  if (s.stage == Impl::Stage::kFailed) return std::unexpected(*s.failure);
  if (s.stage == Impl::Stage::kFinished)
    return fail("encimg.state", "the image was already finished; start a new decryptor");
  if (s.stage == Impl::Stage::kHeader)
    return s.fail_with(Error{"encimg.header_truncated",
                             fmt::format("the image ended after {} bytes, inside the {}-byte header",
                                         s.header_bytes.size(), kHeaderSize)});
  if (s.body_received != s.header->image_size)
    return s.fail_with(Error{"encimg.body_truncated",
                             fmt::format("the image ended after {} of the {} bytes its header declares",
                                         s.body_received, s.header->image_size)});
  if (!s.gcm->finish_decrypt(s.header->tag))
    return s.fail_with(Error{"encimg.tag",
                             "authentication failed: the GCM tag does not match (image altered, or "
                             "encrypted for another key); discard all decrypted data"});
  s.gcm.reset();
  s.stage = Impl::Stage::kFinished;
  return {};
}

std::optional<uint32_t> ImageDecryptor::image_size() const {
  if (!impl_->header) return std::nullopt;
  return impl_->header->image_size;
}

bool ImageDecryptor::all_data_received() const {
  return impl_->header && impl_->body_received == impl_->header->image_size;
}

Scheme ImageDecryptor::scheme() const { return impl_->key.scheme(); }

}  // namespace espsec::encimg
