// Randomness and time sit behind these interfaces so that tests can fix them.
#pragma once

#include <cstdint>

#include "core/bytes.hpp"
#include "core/secret.hpp"

namespace espsec {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(MutableByteSpan out) = 0;

  Bytes bytes(size_t n) {
    Bytes out(n);
    fill(out);
    return out;
  }
  SecretBytes secret(size_t n) {
    SecretBytes out(n);
    fill(out.expose_mutable());
    return out;
  }
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t unix_seconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t unix_seconds() const override;
};

}  // namespace espsec
