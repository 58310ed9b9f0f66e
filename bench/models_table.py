"""Markdown table of bench/models.sh: clickrec vs implicit, times, peak RSS, recall, ratios.

usage: models_table.py RUN_DIR DATASET COMMAND [LONG_RUN_DIR EPOCHS]
Reads RUN_DIR/train.json (clickrec fit times), manifest.json (recommend stage),
RUN_DIR/peer/<model>/timings.json (implicit) and RUN_DIR/compare/metrics.json (both
sides' lists scored by `clickrec evaluate`, variant all targets / all items). With
LONG_RUN_DIR, a second table: BPR fitted for EPOCHS epochs by both sides in that copy of
the run directory (its train.json and peer/bpr/timings.json).
"""
import json
import os
import platform
import subprocess
import sys

run, dataset, command = sys.argv[1:4]
long_run, epochs = (sys.argv[4], int(sys.argv[5])) if len(sys.argv) > 5 else (None, None)
load = lambda *p: json.load(open(os.path.join(run, *p)))
fits = {r["model"]: r for r in load("train.json")}
recommend = {r["model"]: r for r in load("manifest.json")["stages"]["recommend"]["summary"]}
metrics = load("compare", "metrics.json")
by_name = {m["name"]: m for m in metrics["models"]}


def at(name, key, k=20):
    variant = next(v for v in by_name[name]["variants"] if v["variant"] == "all")
    row = next(r for r in variant["at_k"] if r["k"] == k)
    return row[key]["mean"], row[key]["ci_low"], row[key]["ci_high"]


def fmt_ci(v):
    return f"{v[0]:.4f} [{v[1]:.4f}, {v[2]:.4f}]"


commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
matrix = load("matrix.json")
print()
print(f"## {dataset}: commit {commit}, {os.cpu_count()} cores ({cpu})")
print()
print(f"Command: `{command}`. Train matrix {matrix['users']:,} users × {matrix['items']:,} items, "
      f"{matrix['nonzeros']:,} non-zeros; {metrics['test_set']['test_users']:,} test users; top-50, "
      "seen items excluded, 2 threads each side, 64 factors, 15 iterations. Ratios are clickrec / implicit "
      "(time: < 1 is faster; recall: > 1 is better). Recall/NDCG from `clickrec evaluate` on both sides' lists, "
      "all targets, with 95% bootstrap CIs.")
print()
print("| model | side | fit s | top-50 s | fit peak RSS | Recall@20 | NDCG@20 | fit ratio | top-50 ratio | Recall@20 ratio | NDCG@20 ratio |")
print("|---|---|---:|---:|---:|---|---|---:|---:|---:|---:|")
for model in ["popularity", "item_knn", "als", "bpr"]:
    ours = fits[model]
    r20, n20 = at(model, "recall"), at(model, "ndcg")
    gib = lambda b: f"{b / 2**30:.2f} GiB" if b else "–"
    print(f"| {model} | clickrec | {ours['seconds']:.2f} | {recommend[model]['seconds']:.2f} | {gib(ours['peak_rss_bytes'])} | "
          f"{fmt_ci(r20)} | {fmt_ci(n20)} | | | | |")
    peer_name = f"implicit_{model}"
    if peer_name not in by_name:
        continue
    peer = load("peer", model, "timings.json")
    pr20, pn20 = at(peer_name, "recall"), at(peer_name, "ndcg")
    ratio = lambda a, b: f"{a / b:.2f}" if b else "–"
    print(f"| {model} | implicit 0.7.3 | {peer['fit_seconds']:.2f} | {peer['recommend_seconds']:.2f} | {gib(peer['peak_rss_bytes'])} (process) | "
          f"{fmt_ci(pr20)} | {fmt_ci(pn20)} | {ratio(ours['seconds'], peer['fit_seconds'])} | "
          f"{ratio(recommend[model]['seconds'], peer['recommend_seconds'])} | {ratio(r20[0], pr20[0])} | {ratio(n20[0], pn20[0])} |")
paired = [c for c in metrics["comparisons"]]
if paired:
    print()
    name = os.path.basename(os.path.normpath(run))
    print(f"Paired comparisons (clickrec evaluate, {len(paired)} pairs) are in the run directory's "
          f"`compare/report.md` (`$BENCH_DATA/{name}`).")

if long_run:
    ours = next(r for r in json.load(open(os.path.join(long_run, "train.json"))) if r["model"] == "bpr")
    peer = json.load(open(os.path.join(long_run, "peer", "bpr", "timings.json")))
    print()
    print(f"BPR at {epochs} epochs, fit only (same command, a copy of the run directory; same split, matrix, threads and parameters):")
    print()
    print("| model | epochs | clickrec fit s | implicit 0.7.3 fit s | fit ratio |")
    print("|---|---:|---:|---:|---:|")
    print(f"| bpr | {epochs} | {ours['seconds']:.2f} | {peer['fit_seconds']:.2f} | {ours['seconds'] / peer['fit_seconds']:.2f} |")
