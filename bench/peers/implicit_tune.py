#!/usr/bin/env python3
"""Peer search for bench/tune.sh: Python `implicit` 0.7.3 ALS given the same search as
`clickrec tune` on the same validation split.

Reads a clickrec run directory after `clickrec tune` with `strategy = "random"`:
tune/trials.json (the ALS configurations clickrec drew), tune/validation_matrix.csr
(validation-train, the matrix clickrec's trials fitted on) and validation_set.json. Fits
implicit's ALS on each of the same configurations, scores NDCG@K on the validation users
(binary gains, the ideal DCG of min(K, |T|) targets, seen items excluded when
--exclude-seen; DESIGN.md's definition), keeps the best, refits it on the full
train_matrix.csr and writes its top-n lists for the test users to --out/recs.csv (scored
afterwards by `clickrec evaluate`, the same ruler as clickrec's lists), with
--out/search.json (per trial: parameters, validation NDCG, fit seconds; search seconds).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import threadpoolctl  # noqa: E402
from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from implicit_run import NEG_SENTINEL, read_id_map, read_matrix  # noqa: E402


def fit(matrix, params, threads, seed):
    model = AlternatingLeastSquares(
        factors=int(params["factors"]),
        regularization=float(params["regularization"]),
        alpha=float(params["alpha"]),
        iterations=int(params["iterations"]),
        use_cg=True,
        calculate_training_loss=False,
        num_threads=threads,
        random_state=seed,
    )
    model.fit(matrix, show_progress=False)
    return model


def ndcg(model, matrix, validation, k, exclude_seen):
    users = np.asarray(validation["users"], dtype=np.int32)
    offsets = validation["target_offsets"]
    targets = validation["targets"]
    ids, _ = model.recommend(users, matrix[users], N=k, filter_already_liked_items=exclude_seen)
    total, evaluated = 0.0, 0
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    for row, u in enumerate(users):
        t = set(targets[offsets[row] : offsets[row + 1]])
        if exclude_seen:
            seen = set(matrix.indices[matrix.indptr[u] : matrix.indptr[u + 1]].tolist())
            t -= seen
        if not t:
            continue
        evaluated += 1
        hits = np.array([i in t for i in ids[row][:k]], dtype=float)
        ideal = discounts[: min(k, len(t))].sum()
        total += float((hits * discounts[: len(hits)]).sum() / ideal)
    return total / max(evaluated, 1)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--run", required=True, help="clickrec run directory after `clickrec tune`")
    p.add_argument("--k", type=int, default=20, help="NDCG cut-off of the search")
    p.add_argument("--n", type=int, default=100, help="recommendations per test user")
    p.add_argument("--exclude-seen", action="store_true")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    run, out = Path(args.run), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    trials = json.loads((run / "tune/trials.json").read_text())
    if trials["strategy"] != "random":
        sys.exit("run `clickrec tune` with tune.strategy=random: the peer replays its draws")
    configs = [t["params"] for t in trials["trials"] if t["model"] == "als"]
    if not configs:
        sys.exit("tune/trials.json has no ALS trials")
    validation = json.loads((run / "validation_set.json").read_text())
    vmatrix = read_matrix(run / "tune/validation_matrix.csr")

    records = []
    started = time.perf_counter()
    with threadpoolctl.threadpool_limits(1, "blas"):
        for params in configs:
            t0 = time.perf_counter()
            model = fit(vmatrix, params, args.threads, args.seed)
            fit_seconds = time.perf_counter() - t0
            value = ndcg(model, vmatrix, validation, args.k, args.exclude_seen)
            records.append({"params": params, "ndcg": value, "fit_seconds": fit_seconds})
        search_seconds = time.perf_counter() - started
        best = max(records, key=lambda r: r["ndcg"])

        # The winner on the full train matrix, top-n for the test users.
        matrix = read_matrix(run / "train_matrix.csr")
        t0 = time.perf_counter()
        model = fit(matrix, best["params"], args.threads, args.seed)
        final_fit_seconds = time.perf_counter() - t0
        test = json.loads((run / "test_set.json").read_text())
        users = np.asarray(test["users"], dtype=np.int32)
        ids, scores = model.recommend(
            users, matrix[users], N=args.n, filter_already_liked_items=args.exclude_seen
        )
    user_ext = read_id_map(run / "users.parquet")
    item_ext = read_id_map(run / "split_items.parquet")
    with open(out / "recs.csv", "w") as f:
        f.write("user_id,rank,item_id,score\n")
        for row, u in enumerate(users):
            rank = 0
            for i, s in zip(ids[row], scores[row]):
                if i < 0 or s <= NEG_SENTINEL:
                    continue
                rank += 1
                f.write(f"{user_ext[u]},{rank},{item_ext[i]},{float(s)!r}\n")
    (out / "search.json").write_text(
        json.dumps(
            {
                "trials": records,
                "best": best,
                "search_seconds": search_seconds,
                "final_fit_seconds": final_fit_seconds,
            },
            indent=2,
        )
    )
    print(
        f"implicit: {len(records)} ALS trials in {search_seconds:.1f} s, best validation "
        f"NDCG@{args.k} {best['ndcg']:.4f}; refit {final_fit_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
