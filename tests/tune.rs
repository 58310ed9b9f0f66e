//! `clickrec tune` end to end on the quickstart sample: the search never opens the test
//! files, halving gives the winner the largest budget, `best.toml` reproduces the
//! winner, a cut-short search resumes, and early stopping in `clickrec run`.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use common::{clickrec, read_json, stderr, stdout};
use serde_json::Value;

/// A trial without its timings: what must be equal between runs of one search.
fn outcome(trial: &Value) -> Value {
    let mut t = trial.clone();
    for key in ["fit_seconds", "score_seconds", "peak_rss_bytes"] {
        t.as_object_mut().unwrap().remove(key);
    }
    t
}

fn outcomes(trials: &Value) -> Vec<Value> {
    trials["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(outcome)
        .collect()
}

/// The quickstart search, smaller: halving over 4 configurations per model.
fn search(out: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "tune",
        "pipelines/quickstart.toml",
        "--out",
        out,
        "--search-only",
        "--set",
        "tune.trials=4",
        "--set",
        "tune.eta=2",
    ];
    args.extend_from_slice(extra);
    clickrec(&args)
}

#[test]
fn the_search_never_reads_the_test_split_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out_s = out.to_str().unwrap();
    let first = search(out_s, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let trials_path = out.join("tune/trials.json");
    let trials = read_json(&trials_path);
    // The quickstart's 4 searched models, halving by eta 2 over 4 configurations: rungs of
    // 4, 2 and 1, plus the pipeline's own values (configuration 0) where they fell out —
    // they always reach the last rung, as the reference.
    for model in ["als", "bpr", "item_knn", "ease"] {
        let of = |rung: u64| -> Vec<u64> {
            trials["trials"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["model"] == model && t["rung"] == rung)
                .map(|t| t["config"].as_u64().unwrap())
                .collect()
        };
        assert_eq!(of(0).len(), 4, "{model}");
        assert!((2..=3).contains(&of(1).len()), "{model}");
        assert!(
            (1..=2).contains(&of(2).len()) && of(2).contains(&0),
            "{model}"
        );
    }
    assert!(out.join("tune/best.toml").is_file());
    // Search only: nothing was scored on the test split.
    assert!(!out.join("metrics.json").exists());

    // Test files replaced by garbage: a search that opened them would fail.
    std::fs::write(out.join("test_set.json"), "not json").unwrap();
    std::fs::write(out.join("test_events.parquet"), "not parquet").unwrap();
    // Hidden from the split record's size and hash check, which would redo the split: the
    // garbage stays in place for the search to (not) read.
    common::unrecord_artifacts(&out, "split", "test_");
    std::fs::remove_file(&trials_path).unwrap();
    let again = search(out_s, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(outcomes(&read_json(&trials_path)), outcomes(&trials));
    // ... and they would: the final run reads them.
    let run = clickrec(&["run", out.join("tune/best.toml").to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(stderr(&run).contains("test_set.json"), "{}", stderr(&run));

    // A search cut short (its record holds the first 5 trials) resumes to the same end.
    let mut partial = trials.clone();
    partial["trials"].as_array_mut().unwrap().truncate(5);
    std::fs::write(&trials_path, partial.to_string()).unwrap();
    let resumed = search(out_s, &[]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let resumed_trials = read_json(&trials_path);
    assert_eq!(outcomes(&resumed_trials), outcomes(&trials));
    // The first five came from the record: their timings are the recorded ones.
    for i in 0..5 {
        assert_eq!(resumed_trials["trials"][i], trials["trials"][i]);
    }
}

#[test]
fn halving_gives_the_winner_the_most_iterations_and_best_toml_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let searched = search(out.to_str().unwrap(), &[]);
    assert!(searched.status.success(), "{}", stderr(&searched));
    let trials = read_json(&out.join("tune/trials.json"));
    for model in ["als", "bpr"] {
        let best = &trials["best"][model];
        let best_iterations = best["params"]["iterations"].as_i64().unwrap();
        let most = trials["trials"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["model"] == model)
            .map(|t| t["params"]["iterations"].as_i64().unwrap())
            .max()
            .unwrap();
        assert_eq!(best_iterations, most, "{model}");
        assert!(best["rung"].as_u64().unwrap() >= 1);
    }

    // best.toml, searched over its own values alone (a one-point grid), gives the
    // winner's validation metric exactly.
    let best_toml = out.join("tune/best.toml");
    let text = std::fs::read_to_string(&best_toml).unwrap();
    assert!(!text.contains("[tune"), "{text}");
    let factors = trials["best"]["als"]["params"]["factors"].to_string();
    let again = dir.path().join("again");
    let replay = clickrec(&[
        "tune",
        best_toml.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
        "--search-only",
        "--set",
        "tune.strategy=grid",
        "--set",
        &format!("tune.als.factors=[{factors}]"),
    ]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    let replayed = read_json(&again.join("tune/trials.json"));
    assert_eq!(replayed["trials"].as_array().unwrap().len(), 1);
    assert_eq!(
        replayed["trials"][0]["value"], trials["best"]["als"]["value"],
        "best.toml must reproduce the winning validation metric"
    );
}

#[test]
fn tune_then_runs_the_best_pipeline_with_a_report_section() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let tuned = clickrec(&[
        "tune",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "tune.trials=3",
        "--set",
        "tune.strategy=random",
    ]);
    assert!(tuned.status.success(), "{}", stderr(&tuned));
    assert!(stdout(&tuned).contains("Recall@"), "{}", stdout(&tuned));
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Parameter search (ndcg@20"), "{report}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("als: ndcg@20 against alpha"),
        "scatter chart missing"
    );
    let metrics = read_json(&out.join("metrics.json"));
    assert_eq!(metrics["tuning"]["trials"].as_array().unwrap().len(), 4 * 3);
}

#[test]
fn early_stopping_keeps_the_best_iteration() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = clickrec(&[
        "run",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "split.validation=true",
        "--set",
        "models.als.iterations=30",
        "--set",
        "train.early_stopping.patience=2",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let train = read_json(&out.join("train.json"));
    let als = train
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "als")
        .unwrap();
    let stop = &als["early_stopping"];
    let values = stop["values"].as_array().unwrap();
    let best = stop["best_iteration"].as_u64().unwrap() as usize;
    assert!(best >= 1 && best <= values.len() && values.len() <= 30);
    let best_value = values[best - 1].as_f64().unwrap();
    assert!(values.iter().all(|v| v.as_f64().unwrap() <= best_value));
    // Stopped early means patience ran out right after the best.
    if values.len() < 30 {
        assert_eq!(values.len(), best + 2);
    }
    // The full-train fit ran the best iteration count (one loss per iteration).
    assert_eq!(als["training_loss"].as_array().unwrap().len(), best);

    // Without a validation split it is a configuration error naming the key.
    let bad = clickrec(&[
        "run",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        "train.early_stopping.patience=2",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("train.early_stopping"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_time_budget_stops_the_search_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let stopped = search(
        out.to_str().unwrap(),
        &["--set", "tune.time_budget_s=0.000001"],
    );
    assert_eq!(stopped.status.code(), Some(2));
    assert!(
        stderr(&stopped).contains("tune.time_budget_s"),
        "{}",
        stderr(&stopped)
    );
    let trials = read_json(&out.join("tune/trials.json"));
    assert_eq!(trials["stopped_by_budget"], true);
}

#[test]
fn trials_are_the_same_at_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("threads-{threads}"));
        let output = std::process::Command::new(common::binary())
            .args([
                "tune",
                "pipelines/quickstart.toml",
                "--out",
                out.to_str().unwrap(),
                "--search-only",
                "--set",
                "tune.trials=3",
                "--set",
                "tune.parallel=2",
            ])
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(common::root())
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        outcomes(&read_json(&out.join("tune/trials.json")))
    };
    assert_eq!(run("1"), run("3"));
}
