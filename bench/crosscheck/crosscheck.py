#!/usr/bin/env python3
"""Cross-check clickrec's evaluator against ranx, an independent ranking-metrics library.

Reads a finished run directory (``clickrec run ... --out DIR``), rebuilds the qrels from
``test_set.json`` (+ ``train_matrix.csr`` for the new-items variants) and the runs from
``recs/<model>.parquet``, scores them with ranx, and compares each mean with the one in
``metrics.json``. Exits 1 when a shared metric differs by more than ``--tol`` (default
1e-9), 2 on unusable input, 0 otherwise.

Nothing here imports or reuses clickrec code: only its output files are read.
See README.md beside this file for the metric definitions and what is (not) shared.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from importlib.metadata import version as pkg_version
import os
import struct
import sys
from collections import defaultdict
from pathlib import Path

# ranx evaluates with numba's parallel loops; one thread keeps the CPU use small and the
# sums deterministic. Must be set before numba is imported.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from ranx import Qrels, Run, evaluate  # noqa: E402

# numba warns about a uint64 -> int64 cast inside ranx's recall kernel (K is small and
# positive, nothing is lost); keep the output readable.
warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")

VARIANTS = ("all", "conversion", "new_items", "conversion_new_items")

# clickrec metric -> (ranx metric name, how the ranx per-user value is used)
#   "direct":  ranx's value is clickrec's definition as is
#   "rescale": clickrec = ranx * |T| / min(K, |T|)  (denominator differs, see README)
SHARED = {
    "recall": ("recall", "direct"),
    "precision": ("precision", "direct"),
    "hit_rate": ("hit_rate", "direct"),
    "mrr": ("mrr", "direct"),
    "ndcg": ("ndcg", "direct"),
    "capped_recall": ("recall", "rescale"),
    "map": ("map", "rescale"),
}
METRIC_ORDER = ["recall", "capped_recall", "precision", "hit_rate", "mrr", "ndcg", "map"]


class InputError(Exception):
    pass


# --------------------------------------------------------------------------- inputs


def read_external_ids(path: Path) -> list[str]:
    table = pq.read_table(path, columns=["external_id"])
    return [str(x) for x in table.column("external_id").to_pylist()]


def read_train_csr(path: Path) -> tuple[np.ndarray, np.ndarray, int, int]:
    """train_matrix.csr: magic 'CLKRCSR\\0', u32 version, u64 n_users, n_items, nnz,
    u64 indptr[n_users+1], u32 indices[nnz], f32 data[nnz]; little-endian."""
    raw = path.read_bytes()
    if raw[:8] != b"CLKRCSR\0":
        raise InputError(f"{path}: bad magic {raw[:8]!r}")
    (version,) = struct.unpack_from("<I", raw, 8)
    n_users, n_items, nnz = struct.unpack_from("<QQQ", raw, 12)
    off = 36
    expected = off + 8 * (n_users + 1) + 4 * nnz + 4 * nnz
    if len(raw) != expected:
        raise InputError(
            f"{path}: version {version}, {len(raw)} bytes, expected {expected} "
            f"for {n_users} users / {n_items} items / {nnz} nnz"
        )
    indptr = np.frombuffer(raw, dtype="<u8", count=n_users + 1, offset=off)
    indices = np.frombuffer(raw, dtype="<u4", count=nnz, offset=off + 8 * (n_users + 1))
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr.astype(np.int64)) < 0):
        raise InputError(f"{path}: inconsistent indptr")
    if nnz and int(indices.max()) >= n_items:
        raise InputError(f"{path}: column index out of range")
    return indptr, indices, int(n_users), int(n_items)


def read_test_set(path: Path) -> dict:
    t = json.loads(path.read_text())
    n = len(t["users"])
    for off_key, tgt_key in (("target_offsets", "targets"), ("conversion_offsets", "conversion_targets")):
        offs = t[off_key]
        if len(offs) != n + 1 or offs[0] != 0 or offs[-1] != len(t[tgt_key]):
            raise InputError(f"{path}: {off_key} does not frame {tgt_key}")
    if len(t["cold"]) != n:
        raise InputError(f"{path}: cold flags length != users")
    return t


def read_recs(path: Path) -> dict[str, list[str]]:
    """user external id -> item external ids in rank order (rank 1 first)."""
    table = pq.read_table(path, columns=["user_id", "rank", "item_id"])
    users = table.column("user_id").to_pylist()
    ranks = table.column("rank").to_pylist()
    items = table.column("item_id").to_pylist()
    by_user: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for u, r, i in zip(users, ranks, items):
        by_user[str(u)].append((int(r), str(i)))
    lists = {}
    for u, pairs in by_user.items():
        pairs.sort()
        rs = [r for r, _ in pairs]
        if len(set(rs)) != len(rs):
            raise InputError(f"{path}: user {u} has repeated ranks (ties)")
        its = [i for _, i in pairs]
        if len(set(its)) != len(its):
            raise InputError(f"{path}: user {u} lists an item twice")
        lists[u] = its
    return lists


def read_clickrec_metrics(path: Path) -> dict:
    m = json.loads(path.read_text())
    out = {}
    for model in m["models"]:
        for v in model["variants"]:
            key = (model["name"], v["variant"])
            out[key] = {
                "evaluated_users": v.get("evaluated_users"),
                "users_without_recommendations": v.get("users_without_recommendations"),
                "at_k": {row["k"]: row for row in v["at_k"]},
            }
    return {"raw": m, "by_key": out}


# --------------------------------------------------------------------------- qrels


def build_qrels(t: dict, variant: str, user_ext: list[str], item_ext: list[str], csr) -> dict:
    """variant -> {user external id: set of target item external ids}; empty sets dropped."""
    conv = variant in ("conversion", "conversion_new_items")
    new_only = variant in ("new_items", "conversion_new_items")
    offs = t["conversion_offsets"] if conv else t["target_offsets"]
    tgts = t["conversion_targets"] if conv else t["targets"]
    indptr, indices, n_users_csr, _ = csr
    qrels = {}
    for pos, dense_u in enumerate(t["users"]):
        targets = {int(x) for x in tgts[offs[pos] : offs[pos + 1]]}
        if new_only:
            if dense_u < n_users_csr:
                seen = set(indices[indptr[dense_u] : indptr[dense_u + 1]].tolist())
            else:
                seen = set()
            targets -= seen
        if targets:
            qrels[user_ext[dense_u]] = {item_ext[i] for i in targets}
    return qrels


def seen_external(t: dict, user_ext, item_ext, csr) -> dict[str, set[str]]:
    indptr, indices, n_users_csr, _ = csr
    out = {}
    for dense_u in t["users"]:
        if dense_u < n_users_csr:
            row = indices[indptr[dense_u] : indptr[dense_u + 1]]
            out[user_ext[dense_u]] = {item_ext[i] for i in row.tolist()}
        else:
            out[user_ext[dense_u]] = set()
    return out


# --------------------------------------------------------------------------- scoring


def score_with_ranx(qrels: dict, lists: dict, seen: dict | None, ks: list[int]):
    """Per-user ranx scores for one model and variant.

    Returns (scores, n_users, n_without_list) where scores[(metric, k)] is a dict
    user -> value in clickrec's definition (rescaled where needed) and
    scores[("ranx_map", k)] keeps ranx's own AP@k.
    """
    q = Qrels.from_dict({u: {d: 1 for d in sorted(ts)} for u, ts in qrels.items()})
    run_dict = {}
    for u in qrels:
        items = lists.get(u)
        if items is None:
            continue  # no list: make_comparable gives this user an empty result list
        if seen is not None:
            s = seen.get(u, set())
            items = [i for i in items if i not in s]  # re-ranked 1, 2, ... in order
        if not items:
            continue
        n = len(items)
        # score = n + 1 - rank keeps the file's order, unique scores (no ties)
        run_dict[u] = {d: float(n - r) for r, d in enumerate(items)}
    # as clickrec counts it per variant: no list, or (new-items variants) nothing left of
    # the list once the train-row items are removed
    without_list = sum(1 for u in qrels if u not in run_dict)
    run = Run.from_dict(run_dict) if run_dict else Run()
    run.make_comparable(q)
    assert set(run.keys()) == set(qrels.keys())
    names = [f"{m}@{k}" for k in ks for m in ("recall", "precision", "hit_rate", "mrr", "ndcg", "map")]
    evaluate(q, run, names, return_mean=False, threads=1, save_results_in_run=True)
    scores = {}
    for k in ks:
        for metric, (rname, how) in SHARED.items():
            per_user = run.scores[f"{rname}@{k}"]
            if how == "direct":
                scores[(metric, k)] = dict(per_user)
            else:
                scores[(metric, k)] = {
                    u: per_user[u] * len(qrels[u]) / min(k, len(qrels[u])) for u in qrels
                }
        scores[("ranx_map", k)] = dict(run.scores[f"map@{k}"])
    return scores, len(qrels), without_list


def self_test() -> list[str]:
    """Checks that ranx still uses the definitions this script relies on, on a list worked
    out by hand: targets {a, b, c}, list x a y b z (ranks 1-5); user w has a target and no
    list. Returns the mismatches (empty when ranx agrees)."""
    lg = math.log2
    q = Qrels.from_dict({"u": {"a": 1, "b": 1, "c": 1}, "w": {"a": 1}})
    r = Run.from_dict({"u": {"x": 5.0, "a": 4.0, "y": 3.0, "b": 2.0, "z": 1.0}})
    r.make_comparable(q)
    expected = {
        # K=2: one hit at rank 2, ideal DCG over min(2, 3) = 2 positions
        "recall@2": 1 / 3, "precision@2": 1 / 2, "hit_rate@2": 1.0, "mrr@2": 1 / 2,
        "ndcg@2": (1 / lg(3)) / (1 + 1 / lg(3)), "map@2": (1 / 2) / 3,
        # K=5: hits at ranks 2 and 4, ideal DCG over min(5, 3) = 3 positions
        "recall@5": 2 / 3, "precision@5": 2 / 5, "hit_rate@5": 1.0, "mrr@5": 1 / 2,
        "ndcg@5": (1 / lg(3) + 1 / lg(5)) / (1 + 1 / lg(3) + 1 / lg(4)), "map@5": (1 / 2 + 2 / 4) / 3,
    }
    evaluate(q, r, list(expected), return_mean=False, threads=1, save_results_in_run=True)
    bad = []
    for m, want in expected.items():
        got_u, got_w = r.scores[m]["u"], r.scores[m]["w"]
        if abs(got_u - want) > 1e-12 or got_w != 0.0:
            bad.append(f"{m}: ranx u={got_u!r} w={got_w!r}, by hand u={want!r} w=0.0")
    return bad


def mean(values) -> float:
    vals = np.fromiter(values, dtype=np.float64)
    return float(np.mean(vals)) if vals.size else float("nan")


def as_float(x) -> float:
    if x is None:
        return float("nan")
    if isinstance(x, dict):
        x = x.get("mean")
    return float("nan") if x is None else float(x)


# --------------------------------------------------------------------------- output


def fmt(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.12f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, type=Path, help="clickrec run directory")
    ap.add_argument(
        "--variant",
        default=",".join(VARIANTS),
        help="comma-separated variants (default: all four: %(default)s)",
    )
    ap.add_argument("--k", default=None, help="comma-separated K (default: metrics.json settings.ks)")
    ap.add_argument("--models", default=None, help="comma-separated models (default: every recs/*.parquet)")
    ap.add_argument("--tol", type=float, default=1e-9, help="max |diff| allowed (default 1e-9)")
    ap.add_argument("--markdown", type=Path, default=None, help="also write the report as markdown here")
    ap.add_argument("--quiet", action="store_true", help="print only the summary, not the full table")
    args = ap.parse_args(argv)

    bad = self_test()
    if bad:
        print("crosscheck: ranx no longer matches the hand-worked definitions:", file=sys.stderr)
        for b in bad:
            print("  " + b, file=sys.stderr)
        return 2

    d: Path = args.run
    try:
        t = read_test_set(d / "test_set.json")
        user_ext = read_external_ids(d / "users.parquet")
        item_ext = read_external_ids(d / "split_items.parquet")
        csr = read_train_csr(d / "train_matrix.csr")
        cm = read_clickrec_metrics(d / "metrics.json")
    except (OSError, KeyError, InputError) as e:
        print(f"crosscheck: {e}", file=sys.stderr)
        return 2

    ks = [int(x) for x in args.k.split(",")] if args.k else list(cm["raw"]["settings"]["ks"])
    variants = [v.strip() for v in args.variant.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            print(f"crosscheck: unknown variant {v!r} (known: {', '.join(VARIANTS)})", file=sys.stderr)
            return 2
    rec_files = sorted((d / "recs").glob("*.parquet"))
    models = [p.stem for p in rec_files]
    if args.models:
        wanted = [m.strip() for m in args.models.split(",")]
        models = [m for m in wanted if m in models]
    if not models:
        print("crosscheck: no models", file=sys.stderr)
        return 2

    qrels_by_variant = {v: build_qrels(t, v, user_ext, item_ext, csr) for v in variants}
    seen = seen_external(t, user_ext, item_ext, csr)

    rows = []  # (model, variant, metric, k, clickrec, ranx, diff, kind)
    count_rows = []  # (model, variant, what, clickrec, crosscheck)
    not_shared = []  # (model, variant, k, clickrec map, ranx map)
    for model in models:
        try:
            lists = read_recs(d / "recs" / f"{model}.parquet")
        except InputError as e:
            print(f"crosscheck: {e}", file=sys.stderr)
            return 2
        for v in variants:
            key = (model, v)
            if key not in cm["by_key"]:
                print(f"crosscheck: metrics.json has no {model}/{v}", file=sys.stderr)
                return 2
            c = cm["by_key"][key]
            qrels = qrels_by_variant[v]
            new_only = v in ("new_items", "conversion_new_items")
            scores, n_users, n_without = score_with_ranx(qrels, lists, seen if new_only else None, ks)
            count_rows.append((model, v, "evaluated_users", c["evaluated_users"], n_users))
            count_rows.append(
                (model, v, "users_without_recommendations", c["users_without_recommendations"], n_without)
            )
            for k in ks:
                if k not in c["at_k"]:
                    print(f"crosscheck: metrics.json has no K={k} for {model}/{v}", file=sys.stderr)
                    return 2
                at = c["at_k"][k]
                for metric in METRIC_ORDER:
                    cval = as_float(at.get(metric))
                    rval = mean(scores[(metric, k)].values())
                    kind = "ranx" if SHARED[metric][1] == "direct" else "ranx x |T|/min(K,|T|)"
                    if math.isnan(cval) and math.isnan(rval):
                        diff = 0.0
                    elif math.isnan(cval) or math.isnan(rval):
                        diff = float("inf")
                    else:
                        diff = abs(cval - rval)
                    rows.append((model, v, metric, k, cval, rval, diff, kind))
                not_shared.append((model, v, k, as_float(at.get("map")), mean(scores[("ranx_map", k)].values())))

    failures = [r for r in rows if not r[6] <= args.tol]
    count_fail = [r for r in count_rows if r[3] != r[4]]

    summary = []
    summary.append(f"# clickrec evaluator cross-check: `{d}`\n")
    summary.append(
        f"Independent implementation: ranx {pkg_version('ranx')} (numba {pkg_version('numba')}, "
        f"NUMBA_NUM_THREADS={os.environ['NUMBA_NUM_THREADS']}). Tolerance {args.tol:g}. "
        f"Models: {', '.join(models)}. Variants: {', '.join(variants)}. K: {', '.join(map(str, ks))}.\n"
    )
    summary.append("ranx self-test on a hand-worked list (definitions of all six ranx metrics used): passed.\n")
    summary.append(
        f"User counts (evaluated users, users without a list; per model and variant): "
        f"{len(count_rows) - len(count_fail)} of {len(count_rows)} equal.\n"
    )
    summary.append("## Maximum |diff| per metric (over models, variants, K)\n")
    summary.append("| metric | ranx side | comparisons | nonzero means | max abs diff | ok |")
    summary.append("|---|---|---:|---:|---:|---|")
    for metric in METRIC_ORDER:
        rs = [r for r in rows if r[2] == metric]
        mx = max(r[6] for r in rs)
        nz = sum(1 for r in rs if r[4] != 0.0)
        side = rs[0][7].replace("|", "\\|")
        summary.append(
            f"| {metric} | {side} | {len(rs)} | {nz} | {mx:.3e} | {'yes' if mx <= args.tol else 'NO'} |"
        )
    summary.append("")
    summary.append("## Maximum |diff| per model and variant (all metrics and K)\n")
    summary.append("| model | " + " | ".join(variants) + " |")
    summary.append("|---|" + "---:|" * len(variants))
    for model in models:
        cells = [f"{max(r[6] for r in rows if r[0] == model and r[1] == v):.1e}" for v in variants]
        summary.append(f"| {model} | " + " | ".join(cells) + " |")
    summary.append("")

    details = ["## Users\n"]
    details.append("| model | variant | count | clickrec | crosscheck | ok |")
    details.append("|---|---|---|---:|---:|---|")
    for model, v, what, a, b in count_rows:
        details.append(f"| {model} | {v} | {what} | {a} | {b} | {'yes' if a == b else 'NO'} |")
    details.append("")
    details.append("## Not shared: ranx `map@k` (÷|T|) against clickrec MAP (÷min(K,|T|))\n")
    details.append("For information only; clickrec's MAP is checked above by rescaling ranx's per-user AP.\n")
    details.append("| model | variant | K | clickrec map | ranx map@k | clickrec − ranx |")
    details.append("|---|---|---:|---:|---:|---:|")
    for model, v, k, a, b in not_shared:
        details.append(f"| {model} | {v} | {k} | {fmt(a)} | {fmt(b)} | {a - b:.3e} |")
    details.append("")
    details.append("## All comparisons\n")
    details.append("| model | variant | metric | K | clickrec | ranx | abs diff | ranx side |")
    details.append("|---|---|---|---:|---:|---:|---:|---|")
    for model, v, metric, k, a, b, diff, kind in rows:
        kind = kind.replace("|", "\\|")
        details.append(f"| {model} | {v} | {metric} | {k} | {fmt(a)} | {fmt(b)} | {diff:.1e} | {kind} |")
    details.append("")
    verdict = (
        f"**Result: {'PASS' if not failures and not count_fail else 'FAIL'}** — "
        f"{len(rows)} comparisons, {len(failures)} above {args.tol:g}; "
        f"{len(count_rows)} user counts, {len(count_fail)} differing."
    )

    report = "\n".join(summary + details + [verdict, ""])
    if args.markdown:
        args.markdown.write_text(report)
    print("\n".join(summary + ([] if args.quiet else details) + [verdict]))
    if failures or count_fail:
        print("\nfailing comparisons (model variant metric K clickrec ranx diff side):", file=sys.stderr)
        for r in failures[:50]:
            print("  " + " ".join(map(str, r)), file=sys.stderr)
        for r in count_fail:
            print("  " + " ".join(map(str, r)), file=sys.stderr)
    return 1 if failures or count_fail else 0


if __name__ == "__main__":
    sys.exit(main())
