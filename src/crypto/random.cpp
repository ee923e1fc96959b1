#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "crypto/hash.hpp"

namespace espsec::crypto {

void SystemRng::fill(MutableByteSpan out) {
  // RAND_bytes only fails when the OS entropy source is unavailable; continuing would be unsafe.
  if (!out.empty() && RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    throw std::runtime_error("the system random generator failed");
}

void DeterministicRng::fill(MutableByteSpan out) {
  size_t done = 0;
  while (done < out.size()) {
    uint8_t input[16];
    store_le64(input, seed_);
    store_le64(input + 8, counter_++);
    const auto block = sha256(input);
    const size_t n = std::min(block.size(), out.size() - done);
    std::copy_n(block.begin(), n, out.begin() + static_cast<std::ptrdiff_t>(done));
    done += n;
  }
}

}  // namespace espsec::crypto
