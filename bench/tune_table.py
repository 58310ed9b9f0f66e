"""Markdown tables of bench/tune.sh: tuned against default per model, and clickrec's ALS
search against implicit's on the same draws, each with paired bootstrap CIs.

usage: tune_table.py DATASET COMMAND DEFAULT_RUN TUNED_RUN RANDOM_RUN COMPARE_DIR TUNE_SECONDS MODEL...
Reads COMPARE_DIR/metrics.json (every list scored by one `clickrec evaluate` on the test
split of DEFAULT_RUN), TUNED_RUN/tune/trials.json and RANDOM_RUN/{tune/trials.json,
peer/search.json}.
"""
import json
import os
import subprocess
import sys

dataset, command, default, tuned, random, compare, tune_seconds = sys.argv[1:8]
models = sys.argv[8:]
load = lambda *p: json.load(open(os.path.join(*p)))
metrics = load(compare, "metrics.json")
variant_key = metrics["headline_variant"]
by_name = {m["name"]: m for m in metrics["models"]}
trials = load(tuned, "tune", "trials.json")
random_trials = load(random, "tune", "trials.json")
peer = load(random, "peer", "search.json")


def at(name, key, k=20):
    variant = next(v for v in by_name[name]["variants"] if v["variant"] == variant_key)
    row = next(r for r in variant["at_k"] if r["k"] == k)
    return row[key]["mean"]


def paired(a, b, metric, k=20):
    for c in metrics["comparisons"]:
        if c["metric"] == metric and c["k"] == k and {c["model_a"], c["model_b"]} == {a, b}:
            sign = 1 if c["model_a"] == a else -1
            lo, hi = sorted((sign * c["ci_low"], sign * c["ci_high"]))
            return f"{sign * c['difference']:+.4f} [{lo:+.4f}, {hi:+.4f}]"
    return "–"


def seconds(record, model):
    return sum(t["fit_seconds"] + t["score_seconds"] for t in record["trials"] if t["model"] == model)


commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
# The results files themselves do not make the code dirty.
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
                       capture_output=True, text=True).stdout.strip()
print()
print(f"## {dataset}: commit {commit}{' with uncommitted changes' if dirty else ''}, {os.cpu_count()} cores")
print()
print(f"Command: `{command}`. Search: {trials['strategy']}, {len(trials['trials'])} trials, "
      f"{trials['metric']} on the validation split; the whole `clickrec tune` (stages, search, "
      f"final run) took {float(tune_seconds):.1f} s. Test split: {metrics['test_set']['test_users']:,} "
      f"users, variant `{variant_key}`; differences are tuned − default with 95% paired bootstrap CIs.")
print()
print("| model | NDCG@20 default | NDCG@20 tuned | Δ NDCG@20 [CI] | Recall@20 default | Recall@20 tuned | Δ Recall@20 [CI] | search s | chosen values |")
print("|---|---:|---:|---|---:|---:|---|---:|---|")
for m in models:
    d, t = f"{m}_default", f"{m}_tuned"
    best = trials["best"].get(m, {})
    searched = trials["spaces"].get(m, []) + (["iterations"] if "iterations" in best.get("params", {}) and "iterations" not in trials["spaces"].get(m, []) else [])
    chosen = ", ".join(f"{p}={best['params'][p]}" for p in searched if p in best.get("params", {}))
    print(f"| {m} | {at(d, 'ndcg'):.4f} | {at(t, 'ndcg'):.4f} | {paired(t, d, 'ndcg')} | "
          f"{at(d, 'recall'):.4f} | {at(t, 'recall'):.4f} | {paired(t, d, 'recall')} | {seconds(trials, m):.1f} | {chosen} |")
print()
print(f"ALS, random search over the same {sum(1 for t in random_trials['trials'] if t['model'] == 'als')} draws "
      "on the same validation matrix, each winner refitted on train and scored on the test split:")
print()
print("| system | search s | best validation NDCG@20 | test NDCG@20 | test Recall@20 |")
print("|---|---:|---:|---:|---:|")
rbest = random_trials["best"]["als"]
print(f"| clickrec | {seconds(random_trials, 'als'):.1f} | {rbest['value']:.4f} | {at('als_random', 'ndcg'):.4f} | {at('als_random', 'recall'):.4f} |")
print(f"| implicit 0.7.3 | {peer['search_seconds']:.1f} | {peer['best']['ndcg']:.4f} | {at('implicit_als_random', 'ndcg'):.4f} | {at('implicit_als_random', 'recall'):.4f} |")
print()
print(f"clickrec − implicit on the test split: NDCG@20 {paired('als_random', 'implicit_als_random', 'ndcg')}, "
      f"Recall@20 {paired('als_random', 'implicit_als_random', 'recall')}; search time ratio "
      f"{seconds(random_trials, 'als') / peer['search_seconds']:.2f}.")
