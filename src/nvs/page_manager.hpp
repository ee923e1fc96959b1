// Internal to the NVS engine: the ordered list of used pages, the free list, garbage
// collection and the load-time recovery of interrupted updates and collections, as ESP-IDF's
// nvs::PageManager does them (components/nvs_flash/src/nvs_pagemanager.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "nvs/page.hpp"

namespace espsec::nvs {

struct Stats {
  size_t used_entries = 0;
  size_t free_entries = 0;
  size_t available_entries = 0;  // free minus the page kept free for garbage collection
  size_t total_entries = 0;
  size_t namespace_count = 0;
};

class PageManager {
 public:
  // Read-only partitions skip the cross-page recovery and the free-page rule, as on the device.
  [[nodiscard]] Status load(PartitionIo& io, uint32_t page_count, bool writable, RecoveryLog& log);

  // Used pages, oldest first; the last one receives writes.
  const std::vector<Page*>& pages() const { return used_; }
  Page& current() { return *used_.back(); }
  uint32_t page_count() const { return page_count_; }

  // Makes a fresh page current, garbage-collecting one page when only one is free.
  [[nodiscard]] Status request_new_page();
  [[nodiscard]] Status fill_stats(Stats& stats) const;
  size_t memory_bytes() const;

 private:
  Status activate_page();
  std::unique_ptr<Page[]> storage_;
  uint32_t page_count_ = 0;
  std::vector<Page*> used_;
  std::deque<Page*> free_;
  uint32_t next_seq_ = 0;
};

}  // namespace espsec::nvs
