#!/usr/bin/env python3
"""Times the disk's write-and-sync as the broker's writer uses it, alone or
beside a checkpoint-like burst writer, to tell the disk's own stalls from the
broker's.

Writes `--bytes` at the next offset of a 32 MiB file written whole first
(wrapping at its end, as the write-ahead log restarts over blocks it
keeps), `fdatasync`s it, sleeps `--gap_ms`, `--count` times,
and prints the sync's p50, p99, p99.9 and maximum in ms. With `--burst_mib
N`, a second process writes N MiB in 4 KiB pages to another file and syncs
it every `--burst_every_ms`, as a checkpoint pass copies pages into the
database file and syncs it.

Usage: sync_probe.py DIR [--count 3000] [--bytes 100000] [--gap_ms 1.5]
                         [--burst_mib 0] [--burst_every_ms 50]
"""
import argparse
import math
import multiprocessing
import os
import time


def burst_writer(path, mib, every_s, stop):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    page = b"\x03" * 4096
    offset = 0
    while not stop.is_set():
        for _ in range(mib * 256):
            os.pwrite(fd, page, offset)
            offset = (offset + 4096) % (512 << 20)
        os.fdatasync(fd)
        time.sleep(every_s)
    os.close(fd)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--bytes", type=int, default=100000)
    parser.add_argument("--gap_ms", type=float, default=1.5)
    parser.add_argument("--burst_mib", type=int, default=0)
    parser.add_argument("--burst_every_ms", type=float, default=50)
    args = parser.parse_args()
    if args.count < 1 or args.bytes < 1:
        parser.error("--count and --bytes must be at least 1")
    log_path = os.path.join(args.dir, "sync-probe-log")
    burst_path = os.path.join(args.dir, "sync-probe-burst")
    stop = multiprocessing.Event()
    burst = None
    if args.burst_mib > 0:
        burst = multiprocessing.Process(
            target=burst_writer,
            args=(burst_path, args.burst_mib, args.burst_every_ms / 1000, stop))
        burst.start()
    fd = os.open(log_path, os.O_RDWR | os.O_CREAT, 0o644)
    # The whole 32 MiB first, as the broker's log keeps its blocks: no sync
    # below has a file to grow.
    for offset in range(0, 32 << 20, 1 << 20):
        os.pwrite(fd, b"\x00" * (1 << 20), offset)
    os.fsync(fd)
    data = b"\x07" * args.bytes
    offset = 0
    syncs_ms = []
    try:
        for _ in range(args.count):
            os.pwrite(fd, data, offset)
            offset = offset + args.bytes
            if offset + args.bytes > 32 << 20:
                offset = 0
            start = time.monotonic()
            os.fdatasync(fd)
            syncs_ms.append((time.monotonic() - start) * 1000)
            time.sleep(args.gap_ms / 1000)
    finally:
        os.close(fd)
        stop.set()
        if burst is not None:
            burst.join()
            if burst.exitcode != 0:
                raise SystemExit(f"sync_probe: the burst writer failed (exit {burst.exitcode})")
        for path in (log_path, burst_path):
            if os.path.exists(path):
                os.unlink(path)
    syncs_ms.sort()
    n = len(syncs_ms)

    def rank(q):  # nearest rank: the smallest sync >= q of all syncs
        return syncs_ms[max(0, math.ceil(q * n) - 1)]

    print(f"syncs={n} p50_ms={rank(0.5):.2f} p99_ms={rank(0.99):.2f} "
          f"p999_ms={rank(0.999):.2f} max_ms={syncs_ms[-1]:.2f} burst_mib={args.burst_mib}")


if __name__ == "__main__":
    main()
