#!/usr/bin/env python3
"""Writes a tiny synthetic clickrec-shaped run directory for checking implicit_run.py.

Files: train_matrix.csr (CLKRCSR v1), test_set.json ({"users", "cold", ...}),
users.parquet / split_items.parquet (one `external_id` string column). Includes a cold test
user (empty train row) and users who have seen almost every item, so that implicit's
padding paths are exercised. Usage: make_tiny_run.py OUT_DIR [--users 40 --items 12]
"""

import argparse
import json
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--users", type=int, default=40)
    p.add_argument("--items", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    for u in range(a.users):
        if u == 1:  # cold: no train events
            rows.append([])
        elif u == 2:  # has seen every item but one
            rows.append(list(range(a.items - 1)))
        else:
            k = int(rng.integers(1, max(2, a.items // 3)))
            rows.append(sorted(rng.choice(a.items, size=k, replace=False).tolist()))
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype("<u8")
    indices = np.array([i for r in rows for i in r], dtype="<u4")
    data = rng.choice(np.array([1.0, 2.0, 4.0], dtype="<f4"), size=len(indices)).astype("<f4")
    with open(out / "train_matrix.csr", "wb") as f:
        f.write(b"CLKRCSR\0")
        f.write(struct.pack("<IQQQ", 1, a.users, a.items, len(indices)))
        f.write(indptr.tobytes())
        f.write(indices.tobytes())
        f.write(data.tobytes())

    test_users = list(range(0, a.users, 2)) + [1]
    test_users.sort()
    json.dump(
        {
            "users": test_users,
            "cold": [u == 1 for u in test_users],
            "target_offsets": [0] * (len(test_users) + 1),
            "targets": [],
        },
        open(out / "test_set.json", "w"),
    )
    # external ids: strings, one with a comma to check CSV quoting
    users = [f"u{u}" if u != 4 else "u,4" for u in range(a.users)]
    items = [str(1000 + i) for i in range(a.items)]
    pq.write_table(pa.table({"external_id": pa.array(users, pa.string())}), out / "users.parquet")
    pq.write_table(pa.table({"external_id": pa.array(items, pa.string())}), out / "split_items.parquet")
    print(f"{out}: {a.users} users, {a.items} items, {len(indices)} nnz, {len(test_users)} test users")


if __name__ == "__main__":
    main()
