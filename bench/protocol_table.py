"""Markdown table of bench/protocol.sh: every model's headline Recall@20 / NDCG@20 /
HitRate@20 (with 95% CIs) under each split, the leakage each split measured, the test
set's counts and the time of the whole run.

usage: protocol_table.py DATASET COMMAND RUN_DIR...
Reads RUN_DIR/metrics.json, split.json and manifest.json of each run.
"""
import json
import os
import subprocess
import sys

dataset, command, runs = sys.argv[1], sys.argv[2], sys.argv[3:]
load = lambda run, name: json.load(open(os.path.join(run, name)))
fmt = lambda e: f"{e['mean']:.4f} [{e['ci_low']:.4f}, {e['ci_high']:.4f}]" if e["ci_low"] is not None else f"{e['mean']:.4f}"
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip():
    commit += " with uncommitted changes"

print()
binary = os.environ.get("CLICKREC_BIN", "release build")
profile = "dev profile (opt-level 3 for dependencies and models/eval/core, 1 for the rest)" if "/debug/" in binary else "release profile"
print(f"## {dataset}: commit {commit}, {os.cpu_count()} cores, {profile} binary")
print()
print(f"Command: `{command}` (`clickrec run` of pipelines/taobao.toml, and of a copy whose [split] is "
      "`kind = \"last_session\"`, with `--set input.path=…`).")
print()
print("| split | rule | train rows | test users | cold | targets new / repeat | leakage: share mean | share max | users with future train | run s |")
print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
for run in runs:
    split, metrics = load(run, "split.json")["test"], load(run, "metrics.json")
    l, t, kinds = split["leakage"], split["targets"], metrics["target_kinds"]
    seconds = sum(s["seconds"] for s in load(run, "manifest.json")["stages"].values())
    rule = split["rule"]
    print(f"| {rule['kind']} | {rule.get('cutoff', '')} | {split['train']['rows']:,} | {t['test_users']:,} | "
          f"{t['cold_users']:,} | {kinds['new_to_user']:,} / {kinds['repeat']:,} | "
          f"{100 * l['future_train_events_share_mean']:.2f}% | {100 * l['future_train_events_share_max']:.2f}% | "
          f"{l['test_users_with_future_train_events']:,} of {l['test_users']:,} | {seconds:.1f} |")
print()
headline = load(runs[0], "metrics.json")["headline_variant"]
print(f"Headline variant `{headline}` at K = 20 (seen items excluded from the lists, so only targets "
      "new to the user count; the repeat column is Recall@20 on targets seen in train); "
      "*best* marks the best simple baseline of each split.")
print()
print("| model | split | Recall@20 [95% CI] | NDCG@20 [95% CI] | HitRate@20 [95% CI] | Recall@20 repeat | evaluated users |")
print("|---|---|---|---|---|---|---:|")
names = [m["name"] for m in load(runs[0], "metrics.json")["models"]]
for name in names:
    for run in runs:
        metrics = load(run, "metrics.json")
        m = next(m for m in metrics["models"] if m["name"] == name)
        variant = lambda key: next(v for v in m["variants"] if v["variant"] == key)
        head = variant(metrics["headline_variant"])
        at = next(a for a in head["at_k"] if a["k"] == 20)
        repeat = next(a for a in variant("repeat")["at_k"] if a["k"] == 20)
        best = " *best*" if metrics.get("best_baseline") == name else ""
        split = load(run, "split.json")["test"]["rule"]["kind"]
        print(f"| {name}{best} | {split} | {fmt(at['recall'])} | {fmt(at['ndcg'])} | {fmt(at['hit_rate'])} | "
              f"{repeat['recall']['mean']:.4f} | {head['evaluated_users']:,} |")
print()
for run in runs:
    metrics = load(run, "metrics.json")
    split = load(run, "split.json")["test"]["rule"]["kind"]
    significant = [c["sentence"] for c in metrics["comparisons"]
                   if c["k"] == 20 and c["metric"] == "recall" and c["holm_p_value"] is not None
                   and c["verdict"] != "no_significant_difference"]
    print(f"- {split}: {metrics['comparison_family']}; {len(significant)} Recall@20 pairs differ after correction"
          + (": " + "; ".join(significant[:6]) + ("; …" if len(significant) > 6 else "") if significant else "") + ".")
