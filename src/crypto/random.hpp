// Random sources: the system CSPRNG for real use, a seeded deterministic one for tests and
// reproducible rehearsals (never for keys that leave a test).
#pragma once

#include <cstdint>

#include "core/rng.hpp"

namespace espsec::crypto {

// OpenSSL's DRBG (RAND_bytes).
class SystemRng final : public Rng {
 public:
  void fill(MutableByteSpan out) override;
};

// SHA-256(seed || counter) blocks: the same seed gives the same bytes.
class DeterministicRng final : public Rng {
 public:
  explicit DeterministicRng(uint64_t seed) : seed_(seed) {}
  void fill(MutableByteSpan out) override;

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

}  // namespace espsec::crypto
