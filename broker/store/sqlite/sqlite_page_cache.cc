#include "broker/store/sqlite/sqlite_page_cache.h"

#include <algorithm>
#include <atomic>
#include <new>

namespace hart::sqlite {

void PageNumberBound::Fetched(unsigned page) {
  largest_fetched_ = std::max(largest_fetched_, page);
}

bool PageNumberBound::Moved(unsigned from, unsigned to) {
  auto moved_end = moved_above_.begin() + moved_count_;
  if (auto found = std::find(moved_above_.begin(), moved_end, from); found != moved_end) {
    *found = moved_above_[--moved_count_];
  }
  if (to <= largest_fetched_) return false;
  if (moved_count_ == moved_above_.size()) {
    lost_track_ = true;
  } else {
    moved_above_[moved_count_++] = to;
  }
  return true;
}

bool PageNumberBound::MayHoldFrom(unsigned limit) const {
  if (lost_track_ || largest_fetched_ >= limit) return true;
  return std::any_of(moved_above_.begin(), moved_above_.begin() + moved_count_,
                     [limit](unsigned page) { return page >= limit; });
}

void PageNumberBound::Truncated(unsigned limit) {
  // Nothing numbered `limit` or above is left; pages are numbered from 1.
  const unsigned below_limit = limit == 0 ? 0 : limit - 1;
  largest_fetched_ = lost_track_ ? below_limit : std::min(largest_fetched_, below_limit);
  lost_track_ = false;
  auto kept_end = std::remove_if(moved_above_.begin(), moved_above_.begin() + moved_count_,
                                  [limit](unsigned page) { return page >= limit; });
  moved_count_ = static_cast<size_t>(kept_end - moved_above_.begin());
}

namespace {

// SQLite's default methods, read once before the layer is installed.
sqlite3_pcache_methods2 inner_methods{};
std::atomic<uint64_t> truncations_forwarded{0};
std::atomic<uint64_t> truncations_skipped{0};
std::atomic<uint64_t> pages_moved_above{0};

struct BoundedCache {
  sqlite3_pcache* inner;
  PageNumberBound bound;
};

BoundedCache* Of(sqlite3_pcache* cache) { return reinterpret_cast<BoundedCache*>(cache); }

int Init(void*) {
  return inner_methods.xInit == nullptr ? SQLITE_OK : inner_methods.xInit(inner_methods.pArg);
}

void Shutdown(void*) {
  if (inner_methods.xShutdown != nullptr) inner_methods.xShutdown(inner_methods.pArg);
}

sqlite3_pcache* Create(int page_bytes, int extra_bytes, int purgeable) {
  sqlite3_pcache* inner = inner_methods.xCreate(page_bytes, extra_bytes, purgeable);
  if (inner == nullptr) return nullptr;
  // SQLite's allocator, as the cache's own: an out-of-memory is a null here.
  void* memory = sqlite3_malloc(sizeof(BoundedCache));
  if (memory == nullptr) {
    inner_methods.xDestroy(inner);
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(new (memory) BoundedCache{inner, {}});
}

void CacheSize(sqlite3_pcache* cache, int pages) {
  inner_methods.xCachesize(Of(cache)->inner, pages);
}

int PageCount(sqlite3_pcache* cache) { return inner_methods.xPagecount(Of(cache)->inner); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* cache, unsigned page, int create) {
  BoundedCache* bounded = Of(cache);
  sqlite3_pcache_page* found = inner_methods.xFetch(bounded->inner, page, create);
  if (found != nullptr) bounded->bound.Fetched(page);
  return found;
}

void Unpin(sqlite3_pcache* cache, sqlite3_pcache_page* page, int discard) {
  inner_methods.xUnpin(Of(cache)->inner, page, discard);
}

void Rekey(sqlite3_pcache* cache, sqlite3_pcache_page* page, unsigned from, unsigned to) {
  BoundedCache* bounded = Of(cache);
  inner_methods.xRekey(bounded->inner, page, from, to);
  if (bounded->bound.Moved(from, to)) pages_moved_above.fetch_add(1, std::memory_order_relaxed);
}

void Truncate(sqlite3_pcache* cache, unsigned limit) {
  BoundedCache* bounded = Of(cache);
  if (!bounded->bound.MayHoldFrom(limit)) {
    truncations_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  truncations_forwarded.fetch_add(1, std::memory_order_relaxed);
  inner_methods.xTruncate(bounded->inner, limit);
  bounded->bound.Truncated(limit);
}

void Destroy(sqlite3_pcache* cache) {
  BoundedCache* bounded = Of(cache);
  inner_methods.xDestroy(bounded->inner);
  bounded->~BoundedCache();
  sqlite3_free(bounded);
}

void Shrink(sqlite3_pcache* cache) {
  if (inner_methods.xShrink != nullptr) inner_methods.xShrink(Of(cache)->inner);
}

}  // namespace

bool InstallBoundedTruncationPageCache() {
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner_methods) != SQLITE_OK ||
      inner_methods.xCreate == nullptr) {
    return false;
  }
  static const sqlite3_pcache_methods2 bounded = {
      .iVersion = 1,
      .pArg = nullptr,
      .xInit = Init,
      .xShutdown = Shutdown,
      .xCreate = Create,
      .xCachesize = CacheSize,
      .xPagecount = PageCount,
      .xFetch = Fetch,
      .xUnpin = Unpin,
      .xRekey = Rekey,
      .xTruncate = Truncate,
      .xDestroy = Destroy,
      .xShrink = Shrink,
  };
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &bounded) == SQLITE_OK;
}

PageCacheCounts PageCacheCountsSoFar() {
  return {truncations_forwarded.load(std::memory_order_relaxed),
          truncations_skipped.load(std::memory_order_relaxed),
          pages_moved_above.load(std::memory_order_relaxed)};
}

}  // namespace hart::sqlite
