// espefuse v5.1.0 command semantics on the eFuse model: how burn-efuse, burn-key,
// burn-key-digest, burn-bit, read-protect-efuse and write-protect-efuse turn their arguments
// into bits (with espefuse's checks and wording), and what they log. Each stage_* function adds
// to a Batch and never burns; the caller confirms and commits (one batch per command, or one
// for a chain of several burn commands, as espefuse's batch mode does), then runs
// verify_after_burn.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/secret.hpp"
#include "efuse/controller.hpp"

namespace espsec::efuse {

// What a command prints, line by line.
class Transcript {
 public:
  template <class... Args>
  void line(fmt::format_string<Args...> format, Args&&... args) {
    text_ += fmt::format(format, std::forward<Args>(args)...);
    text_ += '\n';
  }
  void line() { text_ += '\n'; }
  std::string take() { return std::exchange(text_, {}); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Python int(text, 0): decimal without leading zeros, 0x / 0o / 0b prefixes, '_' between
// digits, optional sign. nullopt when Python would raise ValueError.
struct PythonInt {
  bool negative = false;
  bool too_large = false;  // magnitude beyond 64 bits
  uint64_t magnitude = 0;
};
std::optional<PythonInt> parse_python_int(std::string_view text);

// The bits (little-endian, field-sized) that `text` asks espefuse to burn into `field`
// (CheckArgValue + check_format). nullopt `text` is the bare-name form of burn-efuse: 1 for a
// bool, the next free bit for a counter. Errors: "efuse.bad_value" with espefuse's sentence.
[[nodiscard]] Result<Bytes> parse_burn_value(const Controller& c, const FieldInfo& field,
                                             std::optional<std::string_view> text);

// What verify_after_burn checks once the batch is committed (espefuse's "Checking eFuses...").
struct AfterBurn {
  std::vector<std::pair<const FieldInfo*, Bytes>> values;  // must read back as these bits
  std::vector<const FieldInfo*> unreadable;                // must now be read-protected
  std::vector<const FieldInfo*> unwriteable;               // must now be write-protected
  void merge(AfterBurn other);
};

struct StageOptions {
  bool force_write_always = false;  // skip protected targets instead of failing (burn-key, burn-bit)
  bool show_sensitive_info = false;  // print key bytes instead of ??
};

// burn-efuse NAME [VALUE] [NAME VALUE ...]: `args` as given on the command line.
[[nodiscard]] Result<AfterBurn> stage_burn_efuse(const Controller& c, Batch& batch, std::span<const std::string> args,
                                                 Transcript& out);

struct KeyRequest {
  std::string block;    // BLOCK_KEY0 or BLOCK4 ...
  SecretBytes data;     // the key file as read (burn-key) or the 32-byte digest (burn-key-digest)
  std::string purpose;  // key purpose name
};
struct KeyOptions {
  bool no_write_protect = false;
  bool no_read_protect = false;
  bool digest = false;  // burn-key-digest: only SECURE_BOOT_DIGESTn purposes
};
[[nodiscard]] Result<AfterBurn> stage_burn_key(const Controller& c, Batch& batch, std::span<const KeyRequest> requests,
                                               const KeyOptions& key_options, const StageOptions& options,
                                               Transcript& out);
// The SHA-256 digest that burn-key-digest burns for a public or private key PEM (the Secure
// Boot v2 key digest, espsecure digest-sbv2-public-key).
[[nodiscard]] Result<SecretBytes> sbv2_key_digest_for_pem(ByteSpan pem);

[[nodiscard]] Result<AfterBurn> stage_burn_bit(const Controller& c, Batch& batch, std::string_view block,
                                               std::span<const unsigned> bits, const StageOptions& options,
                                               Transcript& out);
[[nodiscard]] Result<AfterBurn> stage_read_protect(const Controller& c, Batch& batch,
                                                   std::span<const std::string> names, Transcript& out);
[[nodiscard]] Result<AfterBurn> stage_write_protect(const Controller& c, Batch& batch,
                                                    std::span<const std::string> names, Transcript& out);

// espefuse's "Checking eFuses..." after the commit ("efuse.burn_failed" if a check fails).
[[nodiscard]] Status verify_after_burn(const Controller& c, const AfterBurn& expected, Transcript& out);

// check-error: logs every coding error; "efuse.coding_errors" when there is any.
[[nodiscard]] Status check_error(const Controller& c, Transcript& out);

// The field changes of `batch` as lines "NAME (BLOCKn): old -> new", key material masked as
// ?? unless `show_sensitive_info`.
std::vector<std::string> describe_changes(const Controller& c, const Batch& batch, bool show_sensitive_info);

}  // namespace espsec::efuse
