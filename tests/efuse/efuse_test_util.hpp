// Helpers shared by the eFuse tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "efuse/controller.hpp"

namespace espsec::efuse {

// A C3 controller over in-memory storage holding `file` (empty = fresh chip).
Result<std::unique_ptr<Controller>> open_memory(const Bytes& file = {});
// A fresh C3 controller; fails the test if it cannot be opened.
std::unique_ptr<Controller> fresh_chip();

std::vector<std::string> split_lines(const std::string& text);

}  // namespace espsec::efuse
