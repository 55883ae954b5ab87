"""What the daily copy of the catalog costs, and putting it back.

    .venv/bin/python benchmarks/catalog_copy.py [--moments 100000]

On a library of N moments built as benchmarks/search_latency.py builds its own (cached under
benchmarks/out/search_library_<N>/, with the int8 ViT-B-32 bundle), in a scratch copy of it:
  check       PRAGMA quick_check of catalog.sqlite (the copy is made only from a catalog that passes it)
  copy        keep_copy as indexing runs it: the check, then SQLite's backup API into catalog.sqlite.copy.bak
  restore     restore_latest_copy: the damaged file moved aside, the copy put in its place
  reopen      Library.open + the first search after the restore: the vector index finds its watermark ahead
              of the restored catalog and is rebuilt from it
Prints a table, writes benchmarks/out/catalog_copy.json.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import search_latency  # noqa: E402
from benchmarks.common import OUT, ensure_bundle, print_table, shown, write_json  # noqa: E402


def _change_after_the_copy(library: Path) -> None:
    """A video leaves the library after the copy (its moments leave the change log), as indexing since then would
    make happen: the index saved next is ahead of the copy."""
    from engine.catalog import Catalog

    with Catalog.open(library) as catalog:
        catalog.delete_file(catalog.files()[0].id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--moments", type=int, default=100_000)
    parser.add_argument("--out", default="catalog_copy.json")
    args = parser.parse_args()

    from engine.api.library import Library
    from engine.catalog.copies import check_file, copy_path, keep_copy, restore_latest_copy

    bundle = ensure_bundle("int8")
    print(f"building the {args.moments:,}-moment library (once; cached)...", flush=True)
    search_latency.build(args.moments, bundle)
    search_latency.relabel(args.moments, bundle)
    scratch = OUT / "catalog_copy_scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(search_latency.library_dir(args.moments), scratch)
    db = scratch / "catalog.sqlite"
    size = db.stat().st_size
    try:
        with Library.open(scratch, model=bundle) as lib:       # the saved index, as the library left it
            lib.search("a dog on a beach", k=10)
        started = time.perf_counter()
        assert check_file(db) is None
        check_s = time.perf_counter() - started
        started = time.perf_counter()
        assert keep_copy(db)
        copy_s = time.perf_counter() - started
        _change_after_the_copy(scratch)
        with Library.open(scratch, model=bundle) as lib:       # the index saved one change ahead of the copy
            lib.search("a dog on a beach", k=10)
        with open(db, "r+b") as fh:                            # damage the schema's page
            fh.seek(100)
            fh.write(os.urandom(3000))
        started = time.perf_counter()
        restore_latest_copy(db)
        restore_s = time.perf_counter() - started
        started = time.perf_counter()
        with Library.open(scratch, model=bundle) as lib:
            lib.search("a dog on a beach", k=10)
            notices = list(lib.notices)
        reopen_s = time.perf_counter() - started
    finally:
        copy_bytes = copy_path(db).stat().st_size if copy_path(db).exists() else 0
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [
        ["catalog.sqlite (MB)", size / 1e6],
        ["catalog.sqlite.copy.bak (MB)", copy_bytes / 1e6],
        ["check: PRAGMA quick_check (s)", check_s],
        ["copy: keep_copy, check + backup (s)", copy_s],
        ["restore: restore_latest_copy (s)", restore_s],
        ["reopen + first search, index rebuilt (s)", reopen_s],
    ]
    print(f"\n{args.moments:,} moments, {os.cpu_count()} cores")
    print_table(["measure", "value"], rows)
    print("notices on reopening:", "; ".join(notices) or "none")
    path = write_json(args.out, {"moments": args.moments, "catalog_bytes": size, "copy_bytes": copy_bytes,
                                 "check_s": check_s, "copy_s": copy_s, "restore_s": restore_s,
                                 "reopen_s": reopen_s, "notices": notices})
    print(f"wrote {shown(path)}")


if __name__ == "__main__":
    main()
