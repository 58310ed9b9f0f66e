#!/usr/bin/env python3
"""Compares two run directories of the same pipeline, file by file.

    python3 scripts/compare_runs.py BEFORE_DIR AFTER_DIR

Every file must be byte-identical (as `cmp` sees it) except for timing: a JSON file may
differ only in fields that hold a duration, a rate or a memory peak (`seconds`,
`peak_rss_bytes`, ...), and `manifest.json` also in the size and hash it records of such
a file. `.lock` holds the pid of the last run and is skipped. Exits 1 on any other
difference, naming it; prints one line per file otherwise.
"""

import filecmp
import json
import re
import sys
from pathlib import Path

TIMING = re.compile(r"seconds|_s$|_ms$|peak_rss|per_s(ec)?$|elapsed")


def without_timing(value):
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(before, after):
    names = sorted(p.relative_to(before) for p in before.rglob("*") if p.is_file())
    theirs = sorted(p.relative_to(after) for p in after.rglob("*") if p.is_file())
    problems = [f"only in {before}: {n}" for n in names if n not in theirs]
    problems += [f"only in {after}: {n}" for n in theirs if n not in names]
    timing_only = set()
    for name in names:
        if name not in theirs or name.name == ".lock":
            continue
        a, b = before / name, after / name
        if filecmp.cmp(a, b, shallow=False):
            print(f"identical          {name}")
        elif name.suffix == ".json" and name.name != "manifest.json" and (
            without_timing(load(a)) == without_timing(load(b))
        ):
            timing_only.add(str(name))
            print(f"timing fields only {name}")
        elif name.name != "manifest.json":
            problems.append(f"differs: {name}")
    for name in names:
        if name.name != "manifest.json" or name not in theirs:
            continue
        a, b = without_timing(load(before / name)), without_timing(load(after / name))
        for manifest in (a, b):
            for stage in manifest.get("stages", {}).values():
                for artifact in stage.get("artifacts", []):
                    if artifact.get("path") in timing_only:
                        artifact.pop("bytes", None)
                        artifact.pop("blake3", None)
        if a == b:
            print(f"timing fields only {name} (and the hashes of the files above)")
        else:
            problems.append(f"differs beyond timing: {name}")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
