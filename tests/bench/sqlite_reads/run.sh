#!/usr/bin/env bash
# Times the SQLite reads of issue 15 (point 7) on a store of 100,000
# referrals, before (schema 10, the statements as of e837f41) and after
# (schema 11, the statements of sqlite_read_sql.h). Needs sqlite3 and
# python3; about 2 GB in $1 (default: a temporary directory); about 4 min.
# Usage: bash tests/bench/sqlite_reads/run.sh [work-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-$(mktemp -d)}
# The migrations as sqlite_schema.cc has them: 1-10 for "before", 11 after.
python3 - "$here/../../../broker/store/sqlite/sqlite_schema.cc" "$work" <<'PY'
import re, sys
parts = re.findall(r'constexpr char kSchemaV\d+\[\] = R"sql\((.*?)\)sql";', open(sys.argv[1]).read(), re.S)
open(sys.argv[2] + "/schema10.sql", "w").write("\n".join(parts[:10]))
open(sys.argv[2] + "/migration11.sql", "w").write(parts[10])
PY
rm -f "$work/before.db" "$work/after.db"
sqlite3 "$work/before.db" < "$work/schema10.sql"
sqlite3 "$work/before.db" < "$here/fill.sql"
cp "$work/before.db" "$work/after.db"
sqlite3 "$work/after.db" < "$work/migration11.sql"
python3 "$here/time_reads.py" "$work/before.db" "$work/after.db"
