#!/usr/bin/env python3
"""Peer run for the clickrec side-by-side benchmark: Python `implicit` 0.7.3.

Reads a clickrec run directory (train_matrix.csr, test_set.json, users.parquet,
split_items.parquet), fits one implicit CPU model (ALS, BPR or item-item cosine), recommends
the top-n unseen items for every test user in one batched call, and writes
`recs.csv` and `timings.json` to --out. See README.md beside this file.
"""

import os

# implicit warns (and ALS slows down badly) when OpenBLAS runs its own thread pool;
# its advice is OPENBLAS_NUM_THREADS=1. This must be set before numpy is imported.
# implicit's own parallelism (OpenMP) is set with --threads instead.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import threadpoolctl  # noqa: E402

import implicit  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
from implicit.cpu.bpr import BayesianPersonalizedRanking  # noqa: E402
from implicit.nearest_neighbours import CosineRecommender  # noqa: E402

MAGIC = b"CLKRCSR\0"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sIQQQ")  # magic, version, n_users, n_items, nnz
# implicit marks filtered / missing candidates with this score (and id -1 for padding).
NEG_SENTINEL = -np.finfo(np.float32).max


def read_matrix(path):
    """The clickrec user-item CSR file as a scipy float32 CSR matrix."""
    raw = Path(path).read_bytes()
    if len(raw) < HEADER.size:
        sys.exit(f"{path}: too short for the header ({len(raw)} bytes)")
    magic, version, n_users, n_items, nnz = HEADER.unpack_from(raw, 0)
    if magic != MAGIC:
        sys.exit(f"{path}: bad magic {magic!r}")
    if version != FORMAT_VERSION:
        sys.exit(f"{path}: unsupported format version {version}")
    expected = HEADER.size + 8 * (n_users + 1) + 4 * nnz + 4 * nnz
    if len(raw) != expected:
        sys.exit(f"{path}: {len(raw)} bytes, header implies {expected}")
    off = HEADER.size
    indptr = np.frombuffer(raw, dtype="<u8", count=n_users + 1, offset=off)
    off += 8 * (n_users + 1)
    indices = np.frombuffer(raw, dtype="<u4", count=nnz, offset=off)
    off += 4 * nnz
    data = np.frombuffer(raw, dtype="<f4", count=nnz, offset=off)
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr.astype(np.int64)) < 0):
        sys.exit(f"{path}: inconsistent row pointers")
    if nnz and int(indices.max()) >= n_items:
        sys.exit(f"{path}: a column index is out of range")
    idx_t = np.int32 if max(nnz, n_items) < 2**31 else np.int64
    m = sp.csr_matrix(
        (data.astype(np.float32), indices.astype(idx_t), indptr.astype(idx_t)),
        shape=(int(n_users), int(n_items)),
    )
    m.sort_indices()
    return m


def read_id_map(path):
    """Row i of the single-column parquet = external id of dense id i."""
    table = pq.read_table(path)
    col = "external_id" if "external_id" in table.column_names else table.column_names[0]
    return np.array([str(v) for v in table.column(col).to_pylist()], dtype=object)


def build_model(args):
    if args.model == "als":
        return AlternatingLeastSquares(
            factors=args.factors,
            regularization=args.regularization,
            alpha=args.alpha,
            iterations=args.iterations,
            use_cg=True,
            calculate_training_loss=False,
            num_threads=args.threads,
            random_state=args.seed,
        )
    if args.model == "bpr":
        return BayesianPersonalizedRanking(
            factors=args.factors,
            learning_rate=args.learning_rate,
            regularization=args.regularization,
            iterations=args.iterations,
            num_threads=args.threads,
            random_state=args.seed,
        )
    if args.model == "item_knn":
        return CosineRecommender(K=args.k, num_threads=args.threads)
    raise ValueError(args.model)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", required=True, help="clickrec run directory")
    p.add_argument("--model", required=True, choices=["als", "bpr", "item_knn"])
    p.add_argument("--factors", type=int, default=64)
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--regularization", type=float, default=0.01)
    p.add_argument("--alpha", type=float, default=1.0, help="ALS confidence scale")
    p.add_argument("--learning-rate", type=float, default=0.01, help="BPR SGD step")
    p.add_argument("--k", type=int, default=100, help="item_knn neighbours per item")
    p.add_argument("--n", type=int, default=50, help="recommendations per user")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True, help="output directory (created)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    run = Path(args.run)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. inputs
    user_items = read_matrix(run / "train_matrix.csr")
    n_users, n_items = user_items.shape
    test = json.loads((run / "test_set.json").read_text())
    userids = np.asarray(test["users"], dtype=np.int64)
    cold = test.get("cold")
    if userids.size and (userids.min() < 0 or userids.max() >= n_users):
        sys.exit(f"test users out of the matrix's 0..{n_users} range")
    user_ext = read_id_map(run / "users.parquet")
    item_ext = read_id_map(run / "split_items.parquet")
    if len(user_ext) != n_users or len(item_ext) != n_items:
        sys.exit(
            f"id maps ({len(user_ext)} users, {len(item_ext)} items) do not match the "
            f"matrix ({n_users} x {n_items})"
        )
    userids = userids.astype(np.int32)

    caught = []
    with warnings.catch_warnings(record=True) as caught, threadpoolctl.threadpool_limits(
        1, "blas"
    ):
        warnings.simplefilter("always")
        model = build_model(args)

        # 2. fit
        t0 = time.perf_counter()
        model.fit(user_items, show_progress=False)
        fit_seconds = time.perf_counter() - t0

        # 3. one batched recommend call for every test user (row slice included)
        t0 = time.perf_counter()
        ids, scores = model.recommend(
            userids, user_items[userids], N=args.n, filter_already_liked_items=True
        )
        recommend_seconds = time.perf_counter() - t0
    for w in caught:
        print(f"warning: {w.category.__name__}: {w.message}", file=sys.stderr)

    # 4. outputs. Drop implicit's padding (id -1, score -FLT_MAX) and any train item that
    # still comes back: MF models return filtered items with score -FLT_MAX when fewer
    # than N candidates remain; item_knn returns them with score 0.
    ids = np.asarray(ids).reshape(len(userids), -1)
    scores = np.asarray(scores).reshape(len(userids), -1)
    keep = (ids >= 0) & (scores > NEG_SENTINEL)
    padded = int((~keep).sum())
    seen_dropped = 0
    for row, u in enumerate(userids):
        liked = user_items.indices[user_items.indptr[u] : user_items.indptr[u + 1]]
        if liked.size:
            hit = keep[row] & np.isin(ids[row], liked)
            seen_dropped += int(hit.sum())
            keep[row] &= ~hit
    ranks = np.cumsum(keep, axis=1)
    rows, cols = np.nonzero(keep)
    with open(out / "recs.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "rank", "item_id", "score"])
        w.writerows(
            zip(
                user_ext[userids[rows]],
                ranks[rows, cols].tolist(),
                item_ext[ids[rows, cols]],
                (repr(float(s)) for s in scores[rows, cols].astype(np.float64)),
            )
        )

    per_user = keep.sum(axis=1)
    timings = {
        "model": args.model,
        "fit_seconds": fit_seconds,
        "recommend_seconds": recommend_seconds,
        "n_test_users": int(len(userids)),
        "threads": args.threads,
        "factors": args.factors,
        "iterations": args.iterations,
        "implicit_version": implicit.__version__,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        # context for reading the numbers
        "params": {
            "regularization": args.regularization,
            "alpha": args.alpha,
            "learning_rate": args.learning_rate,
            "k": args.k,
            "n": args.n,
            "seed": args.seed,
        },
        "n_users": int(n_users),
        "n_items": int(n_items),
        "nnz": int(user_items.nnz),
        "n_cold_test_users": int(sum(bool(c) for c in cold)) if cold else 0,
        "recs_written": int(keep.sum()),
        "users_with_fewer_than_n": int((per_user < args.n).sum()),
        "dropped_padding": padded,
        "dropped_seen_items": seen_dropped,
        "openblas_num_threads_env": os.environ.get("OPENBLAS_NUM_THREADS"),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }
    (out / "timings.json").write_text(json.dumps(timings, indent=2) + "\n")
    print(json.dumps({k: timings[k] for k in ("model", "fit_seconds", "recommend_seconds",
                                                "n_test_users", "recs_written")}))


if __name__ == "__main__":
    main()
