// The process-wide set-up of the SQLite library, before its first use:
// SQLite takes it only before it initialises. Every path that may be the
// first to use the library (opening a connection, registering a VFS) calls
// this first.
#pragma once

namespace hart::sqlite {

// Once per process; later calls do nothing. Allocation statistics off,
// the page cache of sqlite_page_cache.h on.
void ConfigureSqliteLibrary();

}  // namespace hart::sqlite
