// SPI NOR flash as software sees it: read, program (bits only go 1 -> 0), erase by 4 KiB sector.
// Everything that writes flash (boot chain, NVS, OTA) talks to this interface, so tests can
// swap in memory-backed flash and cut power after any single operation.
#pragma once

#include <cstdint>
#include <optional>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace espsec::chip {

inline constexpr uint32_t kSectorSize = 4096;

class Flash {
 public:
  virtual ~Flash() = default;
  virtual uint32_t size() const = 0;
  [[nodiscard]] virtual Status read(uint32_t address, MutableByteSpan out) = 0;
  // NOR semantics: every byte becomes old & new; programming cannot set a bit back to 1.
  [[nodiscard]] virtual Status program(uint32_t address, ByteSpan data) = 0;
  // Sets the 4 KiB sector at `address` (sector-aligned) to 0xFF.
  [[nodiscard]] virtual Status erase_sector(uint32_t address) = 0;

  // Erases every sector of [address, address + length); both must be sector-aligned.
  [[nodiscard]] Status erase_range(uint32_t address, uint32_t length);
  [[nodiscard]] Result<Bytes> read_bytes(uint32_t address, uint32_t length);
};

// Checks an access against the flash size and the alignment an operation needs.
[[nodiscard]] Status check_range(uint32_t flash_size, uint32_t address, uint64_t length, const char* op);

// Flash held in memory; the simplest Flash, and the base of the tests.
class MemoryFlash final : public Flash {
 public:
  explicit MemoryFlash(uint32_t size) : data_(size, 0xFF) {}
  explicit MemoryFlash(Bytes contents) : data_(std::move(contents)) {}

  uint32_t size() const override { return static_cast<uint32_t>(data_.size()); }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override;

  const Bytes& contents() const { return data_; }
  Bytes& contents() { return data_; }

 private:
  Bytes data_;
};

// Power-loss injection (as MCUboot's simulator and ESP-IDF's NVS host tests do): counts program
// and erase operations passed to `inner`; once the budget is spent, the operation that would
// exceed it and every later one fail with "flash.power_lost" and change nothing, unless
// `torn` is set, in which case the cut operation is half applied (first half of the bytes
// programmed, or first half of the sector erased), as a brown-out mid-operation can do.
class FaultInjectingFlash final : public Flash {
 public:
  explicit FaultInjectingFlash(Flash& inner) : inner_(inner) {}

  void cut_power_after(std::optional<uint64_t> operations, bool torn = false) {
    budget_ = operations;
    torn_ = torn;
  }
  uint64_t operations() const { return operations_; }  // completed program + erase calls
  bool power_lost() const { return power_lost_; }
  // The next power-on: the flash answers again, the count restarts and no cut is scheduled.
  void restore_power() {
    power_lost_ = false;
    operations_ = 0;
    budget_.reset();
  }

  uint32_t size() const override { return inner_.size(); }
  Status read(uint32_t address, MutableByteSpan out) override;
  Status program(uint32_t address, ByteSpan data) override;
  Status erase_sector(uint32_t address) override;

 private:
  enum class Gate { kRun, kCutNow, kDead };
  Gate spend();
  Status lost() const;
  Flash& inner_;
  std::optional<uint64_t> budget_;
  bool torn_ = false;
  uint64_t operations_ = 0;
  bool power_lost_ = false;
};

}  // namespace espsec::chip
