// SQLite's own page cache with one change: a truncation that cannot drop
// a page is not passed on.
//
// Why: when a B-tree split hands out new pages out of order, SQLite swaps
// two of them through a spare page number, the lock-byte page's (1 GiB /
// page size + 1, 262,145 at 4 KiB). The cache remembers that number as the
// largest it has held, and at the end of every write transaction it drops
// the pages beyond the database's size: for a database under 1 GiB the
// distance is larger than its hash table, so it walks the whole table, every
// page the connection caches, at each commit after a swap (one in three at
// 1,000 intakes a second fanned out: 3 % of the broker's CPU there, issue
// 15). A store the size of Connecticut's never outgrows it.
//
// The layer keeps, per cache, a bound on the page numbers it may hold
// (`PageNumberBound`) and forwards a truncation only when the bound says a
// page may be dropped. Everything else forwards unchanged.
//
// Thread safety: as SQLite's own: a cache is used by one connection at a
// time; the counts are atomic.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace hart::sqlite {

// An upper bound on the page numbers a cache holds: every page it has
// handed out since its last truncation, and those moved to a number above
// them (the swap's spare number) until they move on. Pages the cache
// evicts on its own stay counted: the bound may be high, never low.
class PageNumberBound {
 public:
  void Fetched(unsigned page);
  // True if `to` is above every page fetched (a swap's spare number).
  bool Moved(unsigned from, unsigned to);
  // Whether the cache may hold a page numbered `limit` or above.
  bool MayHoldFrom(unsigned limit) const;
  // The cache dropped every page numbered `limit` or above.
  void Truncated(unsigned limit);

 private:
  unsigned largest_fetched_ = 0;
  // Pages moved above `largest_fetched_`: one, briefly, during a swap. No
  // allocation (SQLite calls through C); more than fit (never seen) and the
  // bound holds everything until the next truncation.
  std::array<unsigned, 4> moved_above_{};
  size_t moved_count_ = 0;
  bool lost_track_ = false;
};

// Wraps SQLite's default page cache as above. Only before the library
// initialises (SQLite takes no page cache after); false if it already has.
// Once per process.
bool InstallBoundedTruncationPageCache();

struct PageCacheCounts {
  uint64_t truncations_forwarded = 0;
  uint64_t truncations_skipped = 0;  // nothing to drop
  uint64_t pages_moved_above = 0;    // PageNumberBound::Moved returned true
};
// Since the process started, every cache together.
PageCacheCounts PageCacheCountsSoFar();

}  // namespace hart::sqlite
