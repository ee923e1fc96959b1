#include "nvs/page_manager.hpp"

#include <algorithm>

namespace espsec::nvs {

namespace {
constexpr bool kPurgeInternal = true;  // nvs_page.hpp DEFAULT_PURGE_AFTER_ERASE
}  // namespace

Status PageManager::load(PartitionIo& io, uint32_t page_count, bool writable, RecoveryLog& log) {
  page_count_ = page_count;
  storage_ = std::make_unique<Page[]>(page_count);
  used_.clear();
  free_.clear();
  for (uint32_t i = 0; i < page_count; ++i) {
    Page& page = storage_[i];
    ESPSEC_TRY(page.load(io, i, log));
    const auto seq = page.seq();
    if (!seq) {
      free_.push_back(&page);
      continue;
    }
    auto pos = std::find_if(used_.begin(), used_.end(), [&](const Page* p) { return *p->seq() > *seq; });
    used_.insert(pos, &page);
  }

  if (used_.empty()) {
    next_seq_ = 0;
    return activate_page();
  }
  next_seq_ = *used_.back()->seq() + 1;
  if (!writable) return {};

  // Power lost after a new value was written but before the old one was erased: the newest
  // page's last item wins over its namesake on an older page.
  Page& last_page = *used_.back();
  Item item;
  size_t index = 0;
  bool have_last = false;
  for (;;) {
    ESPSEC_ASSIGN_OR_RETURN(const Outcome o, last_page.find_item(ItemQuery{}, index, item));
    if (o != Outcome::kOk) break;
    index += item.span;
    have_last = true;
  }
  if (have_last) {
    // ESP-IDF looks for an older item of the same type only (plus a legacy BLOB behind a blob
    // index), so an interrupted overwrite that changed the type (u8 -> u32, string -> blob)
    // left both values live. The identity is (namespace, key, chunk), whatever the type.
    const std::string key(item.key_view());
    for (Page* p : used_) {
      if (p == &last_page) break;
      if (p->state() == PageState::kFreeing) continue;
      ESPSEC_ASSIGN_OR_RETURN(const auto older, p->find_same_identity(item.ns, key, item.chunk));
      if (older) {
        ESPSEC_TRY(p->erase_entry_and_span(*older, kPurgeInternal));
        log.push_back({RecoveryEvent::Kind::kDuplicateItem, p->sector(), static_cast<uint32_t>(*older),
                       fmt::format("'{}': older value of an interrupted update", key)});
        break;
      }
    }
  }

  // Power lost during garbage collection: redo the move of the FREEING page.
  for (auto it = used_.begin(); it != used_.end(); ++it) {
    Page* freeing = *it;
    if (freeing->state() != PageState::kFreeing) continue;
    Page* partial = used_.back();
    if (partial->state() == PageState::kActive) {
      ESPSEC_TRY(partial->erase());
      used_.pop_back();
      free_.push_back(partial);
    }
    ESPSEC_TRY(activate_page());
    ESPSEC_TRY(freeing->copy_items(*used_.back()));  // kNotFound: the page held nothing to move
    ESPSEC_TRY(freeing->erase());
    used_.erase(std::find(used_.begin(), used_.end(), freeing));
    free_.push_back(freeing);
    log.push_back({RecoveryEvent::Kind::kInterruptedGc, freeing->sector(), kInvalidEntry,
                   "garbage collection interrupted by power loss; completed"});
    break;
  }

  if (free_.empty())
    return fail("nvs.no_free_pages",
                "the partition has no free page left; NVS needs one to stay writable (erase and rewrite it)");
  return {};
}

Status PageManager::activate_page() {
  if (free_.empty()) return fail("nvs.not_enough_space", "no free page left in the partition");
  Page* p = free_.front();
  if (p->state() == PageState::kCorrupt) ESPSEC_TRY(p->erase());
  free_.pop_front();
  used_.push_back(p);
  p->set_seq(next_seq_++);
  return {};
}

Status PageManager::request_new_page() {
  if (free_.empty()) return fail("nvs.invalid_state", "no free page left in the partition");
  if (free_.size() >= 2) return activate_page();

  // Reclaim the page with the most entries that are not in use (first in page order wins).
  Page* victim = nullptr;
  size_t max_unused = 0;
  for (Page* p : used_) {
    const size_t unused = kEntryCount - p->used_entries();
    if (unused > max_unused) {
      victim = p;
      max_unused = unused;
    }
  }
  if (!victim) return fail("nvs.not_enough_space", "the partition is full");

  ESPSEC_TRY(victim->mark_freeing());
  ESPSEC_TRY(activate_page());
  ESPSEC_TRY(victim->copy_items(*used_.back()));  // kNotFound: nothing to move
  ESPSEC_TRY(victim->erase());
  used_.erase(std::find(used_.begin(), used_.end(), victim));
  free_.push_back(victim);
  return {};
}

Status PageManager::fill_stats(Stats& stats) const {
  stats.used_entries = stats.free_entries = stats.available_entries = stats.total_entries = 0;
  for (const Page* p : used_) {
    stats.total_entries += kEntryCount;
    switch (p->state()) {
      case PageState::kUninitialized:
      case PageState::kCorrupt:
        stats.free_entries += kEntryCount;
        break;
      case PageState::kFull:
      case PageState::kActive:
        stats.used_entries += p->used_entries();
        stats.free_entries += kEntryCount - p->used_entries();
        break;
      default:
        return fail("nvs.invalid_state", "page {} is in state {}", p->sector(), page_state_name(p->state()));
    }
  }
  stats.total_entries += free_.size() * kEntryCount;
  stats.free_entries += free_.size() * kEntryCount;
  stats.available_entries = stats.free_entries >= kEntryCount ? stats.free_entries - kEntryCount : 0;
  return {};
}

size_t PageManager::memory_bytes() const {
  size_t total = sizeof(*this) + used_.capacity() * sizeof(Page*) + free_.size() * sizeof(Page*);
  for (uint32_t i = 0; i < page_count_; ++i) total += storage_[i].memory_bytes();
  return total;
}

}  // namespace espsec::nvs
