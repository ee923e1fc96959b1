// The console of a virtual chip: ROM lines as the C3 ROM prints them (no level, no time) and
// ESP-IDF log lines "I (31) boot: ..." with a virtual millisecond clock, so logs are the same
// on every run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace espsec::device {

class BootLog {
 public:
  void rom(std::string line) { lines_.push_back(std::move(line)); }
  void info(std::string_view tag, std::string message) { add('I', tag, std::move(message)); }
  void warn(std::string_view tag, std::string message) { add('W', tag, std::move(message)); }
  void error(std::string_view tag, std::string message) { add('E', tag, std::move(message)); }
  // A reset restarts the millisecond clock, as the chip's timer restarts.
  void reset() { millis_ = 0; }

  const std::vector<std::string>& lines() const { return lines_; }

 private:
  void add(char level, std::string_view tag, std::string message) {
    millis_ += 3;
    lines_.push_back(fmt::format("{} ({}) {}: {}", level, 20 + millis_, tag, message));
  }
  std::vector<std::string> lines_;
  unsigned millis_ = 0;
};

}  // namespace espsec::device
