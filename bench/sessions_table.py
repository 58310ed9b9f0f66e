"""Markdown tables of bench/sessions.sh.

usage:
  sessions_table.py next-item COMMAND RUN_DEDUP_OFF RUN_EXACT_DEDUP
      every model's next-item HitRate@20 / MRR@20 (over predictions, 95% CIs over
      sessions) in two runs of pipelines/sessions-rsc15.toml that differ only in
      prep.dedup.exact; reads each run's metrics.json, prep.json and manifest.json.
  sessions_table.py taobao COMMAND LABEL MODELS_RUN TWO_STAGE_RUN PAIRED_DIR WITHOUT
      session protocol on a Taobao sample: every list of MODELS_RUN (pipelines/taobao.toml
      plus every session model) with its Recall@20 / NDCG@20 and the paired differences
      against ALS and item-kNN; the two-stage run's lists; and the re-ranker with session
      generators against the one without them (PAIRED_DIR: `clickrec evaluate` of both
      re-rankers' lists on one test set). WITHOUT is the generator list of the second
      re-ranker.
"""
import json
import os
import subprocess
import sys

SESSION_MODELS = ["recent", "sknn", "vsknn", "stan", "vstan", "sr", "ar", "markov", "spop"]

load = lambda run, name: json.load(open(os.path.join(run, name)))
fmt = lambda e: f"{e['mean']:.4f} [{e['ci_low']:.4f}, {e['ci_high']:.4f}]" if e["ci_low"] is not None else f"{e['mean']:.4f}"
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
# The results this script appends to are not a change to what made them.
if subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
                  capture_output=True, text=True).stdout.strip():
    commit += " with uncommitted changes"
binary = os.environ.get("CLICKREC_BIN", "release build")
profile = ("dev profile (opt-level 3 for dependencies and models/eval/core, 1 for the rest)"
           if "/debug/" in binary else "release profile")


def variant(model, name):
    return next(v for v in model["variants"] if v["variant"] == name)


def at(model, name, metric, k=20):
    return next(a for a in variant(model, name)["at_k"] if a["k"] == k)[metric]


def paired(metrics, a, b, metric="recall", k=20):
    """a − b with its CI from the report's comparisons (either order), or None."""
    for c in metrics["comparisons"]:
        if c["metric"] != metric or c["k"] != k:
            continue
        if (c["model_a"], c["model_b"]) == (a, b):
            return c["difference"], c["ci_low"], c["ci_high"]
        if (c["model_a"], c["model_b"]) == (b, a):
            low, high = c["ci_high"], c["ci_low"]
            return -c["difference"], None if low is None else -low, None if high is None else -high
    return None


def fmt_diff(d):
    if d is None:
        return "–"
    # `+ 0.0` turns a negative zero into 0.0, so "-0.0000" never shows.
    mean, low, high = (None if x is None else x + 0.0 for x in d)
    if low is None:
        return f"{mean:+.4f}"
    mark = " ▲" if low > 0 else " ▼" if high < 0 else ""
    return f"{mean:+.4f} [{low:+.4f}, {high:+.4f}]{mark}"


def next_item(command, off, exact):
    runs = [("off", off), ("exact", exact)]
    metrics = {key: load(run, "metrics.json") for key, run in runs}
    removed = {}
    for key, run in runs:
        steps = load(run, "prep.json")["steps"]
        dedup = next((s for s in steps if s["step"] == "dedup"), None)
        removed[key] = 0 if dedup is None else dedup["rows_in"] - dedup["rows_out"]
    seconds = {key: sum(s["seconds"] for s in load(run, "manifest.json")["stages"].values()) for key, run in runs}
    summary = metrics["off"]["next_item"]
    print()
    print(f"## YOOCHOOSE 100k tuning pair through the pipeline: commit {commit}, {os.cpu_count()} cores, {profile} binary")
    print()
    print(f"Command: `{command}` (`clickrec run pipelines/sessions-rsc15.toml --set prep.dedup.exact=false|true`). "
          f"Exact dedup off (the pipeline, as session-rec) removes {removed['off']:,} train rows; "
          f"on (clickrec's default) {removed['exact']:,}. Next-item over {summary['sessions']:,} test sessions, "
          f"{summary['predictions']:,} predictions ({summary['dropped_events']:,} test events of items without "
          f"train events dropped, {summary['short_sessions']:,} sessions too short); 95% CIs resample sessions. "
          f"Whole run {seconds['off']:.1f} s and {seconds['exact']:.1f} s.")
    print()
    print("| model | HitRate@20, dedup off | MRR@20, dedup off | HitRate@20, exact dedup | MRR@20, exact dedup |")
    print("|---|---|---|---|---|")
    for m in metrics["off"]["models"]:
        if m.get("next_item") is None and not any(v["variant"] == "next_item" for v in m["variants"]):
            continue
        e = next(x for x in metrics["exact"]["models"] if x["name"] == m["name"])
        print(f"| {m['name']} | {fmt(at(m, 'next_item', 'hit_rate'))} | {fmt(at(m, 'next_item', 'mrr'))} | "
              f"{fmt(at(e, 'next_item', 'hit_rate'))} | {fmt(at(e, 'next_item', 'mrr'))} |")


def configured_session_models():
    """The session-model tables of pipelines/taobao.toml, as written."""
    import tomllib
    models = tomllib.load(open("pipelines/taobao.toml", "rb"))["models"]
    return {name: models[name] for name in SESSION_MODELS if name in models}


def taobao(command, label, models_run, two_stage_run, paired_dir, without):
    metrics = load(models_run, "metrics.json")
    two_stage = load(two_stage_run, "metrics.json")
    pair = load(paired_dir, "metrics.json")
    rerank = load(two_stage_run, "rerank.json")
    headline = metrics["headline_variant"]
    print()
    print(f"## {label}: commit {commit}, {os.cpu_count()} cores, {profile} binary")
    print()
    print(f"Command: `{command}`. Session protocol, headline variant `{headline}`; "
          f"{metrics['test_set']['test_users']:,} test users, "
          f"{variant(metrics['models'][0], headline)['evaluated_users']:,} evaluated. "
          "Δ columns: paired bootstrap difference of Recall@20 against ALS and item-kNN "
          "(95% CI over test users; ▲/▼ the interval excludes 0, uncorrected for multiple comparisons). Session models with their defaults, "
          "except as pipelines/taobao.toml sets them"
          + "".join(f"; {name}: " + ", ".join(f"{k} = {v}" for k, v in params.items())
                    for name, params in configured_session_models().items() if params) + ".")
    print()
    print("| list | Recall@20 [95% CI] | NDCG@20 [95% CI] | Δ Recall@20 vs als | Δ Recall@20 vs item_knn |")
    print("|---|---|---|---|---|")
    for m in metrics["models"]:
        name = m["name"]
        print(f"| {name} | {fmt(at(m, headline, 'recall'))} | {fmt(at(m, headline, 'ndcg'))} | "
              f"{fmt_diff(paired(metrics, name, 'als')) if name != 'als' else ''} | "
              f"{fmt_diff(paired(metrics, name, 'item_knn')) if name != 'item_knn' else ''} |")
    generators = rerank["generators"]
    print()
    print(f"Two-stage (`pipelines/taobao-two-stage.toml`), generators {', '.join(generators)} "
          f"(candidates hold {100 * rerank['training']['candidate_recall']:.1f}% of the validation targets), "
          f"against the same pipeline with `rerank.generators = {without}`:")
    print()
    print("| list | Recall@20 [95% CI] | NDCG@20 [95% CI] |")
    print("|---|---|---|")
    for m in pair["models"]:
        print(f"| {m['name']} | {fmt(at(m, headline, 'recall'))} | {fmt(at(m, headline, 'ndcg'))} |")
    a, b = "rerank_session_generators", "rerank_without_session_generators"
    print()
    for metric, title in [("recall", "Recall@20"), ("ndcg", "NDCG@20")]:
        print(f"- with − without session generators, {title}: {fmt_diff(paired(pair, a, b, metric))}")
    for g in generators:
        if g in SESSION_MODELS:
            print(f"- rerank − {g} (two-stage run), Recall@20: {fmt_diff(paired(two_stage, 'rerank', g))}")
    session_coefficients = [(n, v) for n, v in rerank["coefficients"]
                            if any(n.startswith(g + "_") for g in generators if g in SESSION_MODELS)]
    if session_coefficients:
        print("- coefficients of the session generators' features (standardised): "
              + ", ".join(f"{n} {v:+.3f}" for n, v in session_coefficients))


mode = sys.argv[1]
if mode == "next-item":
    next_item(*sys.argv[2:5])
elif mode == "taobao":
    taobao(*sys.argv[2:8])
else:
    sys.exit(f"unknown mode {mode} (next-item|taobao)")
