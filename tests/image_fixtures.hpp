// Images and signatures for the image, boot and CLI tests: a small ESP32-C3 app built from
// known segments, and espsecure-compatible Secure Boot v2 signing done in the test.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "crypto/pkey.hpp"
#include "format/image.hpp"

namespace espsec::test {

// "ok" or the error code: tests compare reasons as strings.
template <class T>
std::string code_of(const Result<T>& result) {
  return result ? "ok" : result.error().code;
}

// C3 header as ESP-IDF writes it: DIO, 80 MHz, 4 MB, chip revisions v0.3..v1.99, hash appended.
image::Header c3_header();
// esp_app_desc_t for "demo" / "1.0" with the given anti-rollback version.
image::AppDesc demo_app_desc(uint32_t secure_version = 0);
// DROM segment at 0x3C000020 (app descriptor + 0x200 bytes), DRAM 0x3FC8B400 (0x104 bytes),
// IRAM 0x40380000 (0x300 bytes): no layout padding needed, about 2 KiB in all.
std::vector<image::SegmentData> small_app_segments(uint32_t secure_version = 0);
Bytes small_app(uint32_t secure_version = 0);

// Generated once per test run (RSA-3072 generation is slow).
const crypto::PrivateKey& rsa_key_a();
const crypto::PrivateKey& rsa_key_b();
const crypto::PrivateKey& ecdsa256_key();

// As `espsecure sign-data --version 2`: 0xFF padding to 4 KiB, one block per key in order,
// the sector appended.
Bytes sign_image(ByteSpan image, std::span<const crypto::PrivateKey* const> keys);
Bytes sign_image(ByteSpan image, const crypto::PrivateKey& key);
crypto::Sha256Digest key_digest_of(const crypto::PrivateKey& key);

}  // namespace espsec::test
