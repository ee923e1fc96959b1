// Builds NVS partition images from CSV rows exactly as nvs_partition_gen 0.2.0 lays them out
// (esp-idf-nvs-partition-gen: nvs_partition_gen.py), optionally XTS-encrypted: page n gets
// sequence number n, entries are packed in row order, full pages are marked FULL and the last
// used one stays ACTIVE, and the last page of a writable partition is left erased.
//
// Where the tool writes something a device misreads, this generator refuses or fixes it (each
// case is tested and listed in docs/nvs.md):
//  - rows after a namespace row that re-enters an earlier namespace go to that namespace (the
//    tool stores them in the most recently created one);
//  - rows before any namespace row, duplicate keys in a namespace, keys or namespace names
//    longer than 15 bytes (UTF-8), unknown types and upper-case encodings are errors;
//  - strings of 3969..4000 bytes are placed on a fresh page (the tool crashes);
//  - "binary" data values are measured in UTF-8 bytes (the tool counts characters);
//  - blobs needing more than 127 chunks are refused (the device could not read them back).
// Errors name the CSV file and line.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "nvs/csv.hpp"
#include "nvs/keys.hpp"

namespace espsec::nvs {

struct CsvInput {
  std::string source;  // file name, for error messages
  std::vector<CsvRow> rows;
};

struct GenerateOptions {
  uint32_t size = 0;  // bytes, a multiple of 4096
  int version = 2;    // 1: single-page blobs (type 0x41), page version byte FF; 2: multi-page blobs
};

struct GeneratedPartition {
  Bytes image;     // `size` bytes, or only the used pages of a read-only (< 0x3000) partition
  bool read_only;  // size below 0x3000: must be flagged readonly in the partition table
};

// Reads the file of a `file` row; nvs_partition_gen opens the path relative to the current
// working directory (not to the CSV).
using FileLoader = std::function<Result<Bytes>(const std::string& path)>;

[[nodiscard]] Result<GeneratedPartition> generate_partition(std::span<const CsvInput> inputs,
                                                            const GenerateOptions& options,
                                                            const FileLoader& load_file, const Keys* keys = nullptr);

// SIZE as nvs_partition_gen takes it: decimal or 0x-prefixed hex, a non-zero multiple of 4096.
[[nodiscard]] Result<uint32_t> parse_partition_size(std::string_view text);

// Encrypts, in place, every entry of a plain image that its page's bitmap does not mark empty
// (the generator encrypts each entry as it writes it).
[[nodiscard]] Status encrypt_image(MutableByteSpan image, const Keys& keys);

// nvs_partition_gen decrypt: every 32-byte entry of every page except the header and bitmap
// blocks, unless it is all FF, is decrypted under its own address.
[[nodiscard]] Result<Bytes> decrypt_image(ByteSpan image, const Keys& keys);

// Value decoders of the CSV encodings, exposed for their tests.
[[nodiscard]] Result<Bytes> decode_hex2bin(std::string_view text);
// Python binascii.a2b_base64 (non-strict): characters outside the alphabet are skipped and
// decoding stops at complete padding.
[[nodiscard]] Result<Bytes> decode_base64(std::string_view text);

}  // namespace espsec::nvs
