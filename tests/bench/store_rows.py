#!/usr/bin/env python3
"""Rows and B-tree entries per intake in a SQLite hart.db (issue 15).

Usage: python3 tests/bench/store_rows.py DIR/hart.db

For each table: its rows per referral, and its B-tree entries per referral
(the rows plus one entry per index, counting only the rows a partial
index's WHERE admits). What a store holds, not what was updated on the way:
fill the store with hart-bench --data_dir DIR first. Opens read-only.
"""
import re
import sqlite3
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    intakes = db.execute("SELECT COUNT(*) FROM referrals").fetchone()[0]
    if intakes == 0:
        print("no referrals in this store", file=sys.stderr)
        return 1
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    total_rows = total_entries = 0
    for table in tables:
        rows = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
        entries = rows
        for sql in [sql for (sql,) in db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))]:
            parts = re.split(r"\bWHERE\b", sql or "", maxsplit=1, flags=re.IGNORECASE)
            if len(parts) == 2:
                entries += db.execute(f'SELECT COUNT(*) FROM "{table}" WHERE {parts[1]}').fetchone()[0]
            else:
                entries += rows
        total_rows += rows
        total_entries += entries
        if rows:
            print(f"{table:20s} rows {rows / intakes:7.2f}  b-tree entries {entries / intakes:7.2f}")
    print(f"{'per intake':20s} rows {total_rows / intakes:7.2f}  b-tree entries "
          f"{total_entries / intakes:7.2f}  ({intakes} intakes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
