#include "efuse/chip.hpp"

namespace espsec::efuse {

const ChipDescription* find_chip(std::string_view name) {
  if (name == esp32c3().name) return &esp32c3();
  return nullptr;
}

}  // namespace espsec::efuse
