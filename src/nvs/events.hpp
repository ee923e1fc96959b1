// What the NVS engine repaired while opening or reading a partition: the traces of power loss
// and corruption it cleaned up, reported instead of silently discarded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace espsec::nvs {

struct RecoveryEvent {
  enum class Kind {
    kCorruptPage,        // header CRC mismatch, unknown state, or "empty" page holding data
    kBadEntry,           // written entry failing the header checks (CRC, type, span); erased
    kUnmarkedEntry,      // entry programmed but never marked written (cut mid-write); erased
    kIncompleteItem,     // string/blob whose data entries are not all written; erased
    kDuplicateItem,      // older copy of an item whose newer copy was written; erased
    kInterruptedGc,      // a page was left FREEING; its items were moved and it was erased
    kBlobIndexMismatch,  // blob index whose chunks do not add up; erased
    kOrphanChunk,        // blob chunk without an index; erased
    kBadData,            // string/blob data CRC mismatch found while reading; erased
  };
  Kind kind;
  uint32_t page;   // sector number within the partition
  uint32_t entry;  // entry index, or 0xFFFFFFFF for a whole page
  std::string detail;
};

std::string_view recovery_kind_name(RecoveryEvent::Kind kind);

using RecoveryLog = std::vector<RecoveryEvent>;

}  // namespace espsec::nvs
