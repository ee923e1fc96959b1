#include "efuse_test_util.hpp"

#include <gtest/gtest.h>

#include "efuse/storage.hpp"

namespace espsec::efuse {

Result<std::unique_ptr<Controller>> open_memory(const Bytes& file) {
  auto storage = std::make_unique<MemoryStorage>();
  if (!file.empty()) *storage->slot() = StoredState{file, {}};
  return Controller::open(esp32c3(), std::move(storage));
}

std::unique_ptr<Controller> fresh_chip() {
  auto c = open_memory();
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  return c ? std::move(*c) : nullptr;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace espsec::efuse
