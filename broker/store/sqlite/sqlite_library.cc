#include "broker/store/sqlite/sqlite_library.h"

#include <sqlite3.h>

#include "absl/base/call_once.h"
#include "broker/common/logging.h"
#include "broker/store/sqlite/sqlite_page_cache.h"

namespace hart::sqlite {

void ConfigureSqliteLibrary() {
  static absl::once_flag once;
  absl::call_once(once, [] {
    // SQLite counts every allocation under one process-wide mutex for
    // sqlite3_memory_used(), which the broker never reads: 2-3 % of the
    // writer thread's samples in `hart-bench submit`.
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (!InstallBoundedTruncationPageCache()) {
      // Only a program that used SQLite before the store gets here; the
      // store works the same, its commits a little slower.
      Logger("store")->warn("event=sqlite_page_cache_not_installed cause=library_already_started");
    }
  });
}

}  // namespace hart::sqlite
