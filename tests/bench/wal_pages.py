# Which B-trees a commit writes: reads a copy of a running store's
# hart.db and hart.db-wal, takes the last N commits in the log, and maps
# each page they wrote to its table or index (SQLite's dbstat). Every page
# a commit touches is written whole to the log, summed, and later copied
# into the database, so pages per commit is the writer's I/O per commit.
# Copy both files while the broker runs (the log restarts after a
# checkpoint copies it whole; copy again if it has few commits):
#   cp DATA/hart.db DATA/hart.db-wal /tmp/copy/
#   python3 tests/bench/wal_pages.py /tmp/copy/hart.db [N]
# Needs python3 with sqlite3 built with dbstat (Debian's is).
import collections, shutil, sqlite3, struct, sys, tempfile, os

def commits_in_log(wal_path):
    data = open(wal_path, 'rb').read()
    if len(data) < 32:
        return []
    page_size = struct.unpack('>I', data[8:12])[0]
    salts = struct.unpack('>II', data[16:24])
    commits, current, offset = [], [], 32
    while offset + 24 + page_size <= len(data):
        page, commit_size, salt1, salt2 = struct.unpack('>IIII', data[offset:offset + 16])
        if (salt1, salt2) != salts:  # frames of an earlier pass through the file
            break
        current.append(page)
        if commit_size:
            commits.append(current)
            current = []
        offset += 24 + page_size
    return commits

def main():
    db_path = sys.argv[1]
    last = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    commits = commits_in_log(db_path + '-wal')[-last:]
    if not commits:
        sys.exit(f'{db_path}-wal holds no whole commit')
    # dbstat on a scratch copy: opening the copy replays its log.
    scratch = tempfile.mkdtemp()
    copy = os.path.join(scratch, 'hart.db')
    shutil.copy(db_path, copy)
    shutil.copy(db_path + '-wal', copy + '-wal')
    owner = {page: name for name, page in
             sqlite3.connect(copy).execute('SELECT name, pageno FROM dbstat')}
    shutil.rmtree(scratch)
    per_tree = collections.Counter()
    for pages in commits:
        for page in set(pages):
            per_tree[owner.get(page, '(freed or new)')] += 1
    print(f'{len(commits)} commits, {sum(map(len, commits)) / len(commits):.1f} pages each')
    for name, count in per_tree.most_common():
        print(f'{count / len(commits):7.2f}  {name}')

if __name__ == '__main__':
    main()
