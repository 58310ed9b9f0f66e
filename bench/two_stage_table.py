"""Markdown tables of bench/two_stage.sh: every list's Recall@20 / NDCG@20 with 95% CIs,
the re-ranker's paired differences against each generator, times and the coefficients.

usage: two_stage_table.py RUN_DIR LABEL COMMAND
Reads RUN_DIR/metrics.json, rerank.json, segments/summary.json and manifest.json.
"""
import json
import os
import subprocess
import sys

run, label, command = sys.argv[1:4]
load = lambda *p: json.load(open(os.path.join(run, *p)))
metrics, rerank, segments = load("metrics.json"), load("rerank.json"), load("segments", "summary.json")
stages = load("manifest.json")["stages"]


def at(model, metric, k=20):
    variant = next(v for v in model["variants"] if v["variant"] == "all")
    row = next(r for r in variant["at_k"] if r["k"] == k)
    e = row[metric]
    return e["mean"], e["ci_low"], e["ci_high"]


fmt = lambda e: f"{e[0]:.4f} [{e[1]:.4f}, {e[2]:.4f}]" if e[1] is not None else f"{e[0]:.4f}"
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
    commit += " with uncommitted changes"
matrix = load("matrix.json")
t = rerank["training"]
print()
print(f"## {label}: commit {commit}, {os.cpu_count()} cores")
print()
print(f"Command: `{command}`. Train matrix {matrix['users']:,} users × {matrix['items']:,} items; "
      f"{metrics['test_set']['test_users']:,} test users, "
      f"{metrics['variants'][0]['evaluated_users']:,} evaluated. Re-ranker learned from {t['users']:,} validation "
      f"users ({t['positives']:,} positives, {t['negatives_kept']:,} negatives kept); its candidates hold "
      f"{100 * t['candidate_recall']:.1f}% of the validation targets. Segments: k = {segments['k']}, "
      f"inertia {segments['inertia']:.1f}, sweep " + ", ".join(f"k={k}: {i:.1f}" for k, i in segments["sweep"]) + ".")
print()
print("| list | Recall@20 [95% CI] | NDCG@20 [95% CI] |")
print("|---|---|---|")
for m in metrics["models"]:
    print(f"| {m['name']} | {fmt(at(m, 'recall'))} | {fmt(at(m, 'ndcg'))} |")
print()
print("Paired bootstrap, Recall@20, all targets / all items:")
print()
for c in metrics["comparisons"]:
    if c["metric"] == "recall" and c["k"] == 20 and "rerank" in (c["model_a"], c["model_b"]):
        print(f"- {c['sentence']}")
print()
secs = lambda s: f"{stages[s]['seconds']:.1f} s" if s in stages else "–"
print("Stage times: " + ", ".join(f"{s} {secs(s)}" for s in ["train", "segment", "recommend", "rerank", "evaluate"])
      + f" (rerank: generators refitted on validation-train in {rerank['validation_fit_seconds']:.1f} s, "
      f"learning {t['seconds']:.1f} s, re-ranking {rerank['recommend']['seconds']:.1f} s).")
print()
print("Coefficients (standardised features): " + ", ".join(f"{n} {v:+.3f}" for n, v in rerank["coefficients"]) + ".")
