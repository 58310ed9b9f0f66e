//! The log shapes of `data/shapes/` end to end, each through its pipeline in
//! `pipelines/shapes/`: ratings with many cold users, baskets and play counts without
//! time (random split, weights), session views with anonymous users, JSON lines.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::collections::BTreeSet;

use common::{clickrec, read_json, root, stderr, stdout};

/// Runs `pipelines/shapes/NAME.toml` into a fresh directory with `--set` overrides;
/// returns the directory and the terminal answer.
fn run_shape(name: &str, sets: &[&str]) -> (tempfile::TempDir, String) {
    let out = tempfile::tempdir().unwrap();
    let pipeline = format!("pipelines/shapes/{name}.toml");
    let mut args = vec!["run", &pipeline, "--out", out.path().to_str().unwrap()];
    for set in sets {
        args.extend(["--set", set]);
    }
    let output = clickrec(&args);
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    (out, stdout(&output))
}

/// The model of the answer's line marked best (`*  name  …`).
fn starred(answer: &str) -> String {
    answer
        .lines()
        .find_map(|l| l.strip_prefix("*  "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no best model in:\n{answer}"))
        .to_owned()
}

fn warm_recall(metrics: &serde_json::Value, model: &str, k: u64) -> f64 {
    let m = metrics["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == model)
        .unwrap();
    let all = &m["variants"][0];
    assert_eq!(all["variant"], "all");
    all["at_k"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["k"] == k)
        .unwrap()["recall"]["mean"]
        .as_f64()
        .unwrap()
}

/// Ratings whose test users are mostly new: without a fallback, popularity would win on
/// all test users (it alone gives the cold ones a list); the headline ranks the users
/// with history, where a learned model leads, and gives the cold users their own line.
#[test]
fn ratings_with_many_cold_users_rank_models_on_warm_users() {
    let (dir, answer) = run_shape("ratings", &["recommend.fallback=none"]);
    let metrics = read_json(&dir.path().join("metrics.json"));
    let test = &metrics["test_set"];
    let (users, cold) = (
        test["test_users"].as_u64().unwrap(),
        test["cold_users"].as_u64().unwrap(),
    );
    assert!(
        cold * 2 > users,
        "the fixture has most test users cold: {cold} of {users}"
    );
    assert_eq!(metrics["population"], "warm");
    let best = starred(&answer);
    assert_ne!(best, "popularity", "{answer}");
    for model in ["popularity", "item_knn", "als", "ease"] {
        assert!(
            warm_recall(&metrics, &best, 20) >= warm_recall(&metrics, model, 20),
            "{best} is best among warm users"
        );
    }
    let cold_line = answer
        .lines()
        .find(|l| l.starts_with("Cold users, evaluated apart"))
        .unwrap_or_else(|| panic!("no cold users' line:\n{answer}"));
    // Only popularity has lists for them without a fallback.
    assert!(cold_line.contains(&format!("{cold} test users without train history")));
    assert!(
        cold_line.contains("; Recall@20: popularity 0."),
        "{cold_line}"
    );
    // Each rating weighs its event.
    let ingest = read_json(&dir.path().join("ingest.json"));
    assert_eq!(ingest["weight_column"], "column \"rating\"");
}

/// Baskets without times: the split is random, seeded, and every report says it is not
/// time-aware instead of printing a leakage figure.
#[test]
fn baskets_without_time_split_at_random() {
    let (dir, answer) = run_shape("baskets", &[]);
    let ingest = read_json(&dir.path().join("ingest.json"));
    assert_eq!(ingest["no_time_column"], true);
    assert!(ingest["time_span"].is_null());
    let split = read_json(&dir.path().join("split.json"));
    assert_eq!(split["test"]["rule"]["kind"], "random");
    assert!(split["test"]["leakage"].is_null(), "{}", split["test"]);
    assert!(answer.contains("not time-aware, so leakage is not measurable"));
    assert!(!answer.contains("Leak-free"));
    let metrics = read_json(&dir.path().join("metrics.json"));
    assert_eq!(metrics["protocol"]["random_split"], true);
    for report in ["report.md", "report.html"] {
        let text = std::fs::read_to_string(dir.path().join(report)).unwrap();
        assert!(text.contains("not time-aware"), "{report}");
    }
    // The same seed, the same split; held-out events are whole items of a user.
    let (again, _) = run_shape("baskets", &[]);
    assert_eq!(
        std::fs::read(dir.path().join("test_events.parquet")).unwrap(),
        std::fs::read(again.path().join("test_events.parquet")).unwrap()
    );
    // A time-based split of a log without times is refused, naming the key.
    let output = clickrec(&[
        "run",
        "pipelines/shapes/plays.toml",
        "--set",
        "split.kind=session_cutoff",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("split.kind") && message.contains("no time column"),
        "{message}"
    );
}

/// Play counts weigh events; a count that is not a positive number is a bad row,
/// counted by its reason.
#[test]
fn play_counts_are_weights_and_bad_counts_are_counted() {
    let (dir, answer) = run_shape("plays", &[]);
    assert!(answer.contains("not time-aware"));
    let ingest = read_json(&dir.path().join("ingest.json"));
    assert_eq!(ingest["weight_column"], "column \"plays\"");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("plays.tsv");
    let mut text = std::fs::read_to_string(root().join("data/shapes/plays.tsv")).unwrap();
    text.push_str("listener1\tartist3\t-2\nlistener1\tartist4\tmany\n");
    std::fs::write(&bad, text).unwrap();
    let ingest = |out: &str, extra: &[&str]| {
        let out = tmp.path().join(out);
        let mut args = vec![
            "ingest",
            "--input",
            bad.to_str().unwrap(),
            "--format",
            "csv",
            "--delimiter",
            "tab",
            "--user-col",
            "user",
            "--item-col",
            "artist",
            "--weight-col",
            "plays",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        clickrec(&args)
    };
    let output = ingest("run", &["--on-bad-row", "skip", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["rejected_by_reason"]["bad_weight"], 2);
    let output = ingest("fail", &[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("weight not a positive number in column plays: \"-2\""),
        "{message}"
    );
}

/// Session views whose anonymous visitors have user id NA: with `null_values` each
/// anonymous session is its own user; without, NA would be one user of them all.
#[test]
fn anonymous_sessions_become_their_own_users() {
    let text = std::fs::read_to_string(root().join("data/shapes/views.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(';').collect())
        .collect();
    let anonymous = rows.iter().filter(|r| r[1] == "NA").count() as u64;
    let sessions: BTreeSet<&str> = rows.iter().filter(|r| r[1] == "NA").map(|r| r[0]).collect();
    let logged: BTreeSet<&str> = rows.iter().map(|r| r[1]).filter(|&u| u != "NA").collect();
    assert!(anonymous * 2 > rows.len() as u64, "most rows are anonymous");
    let (dir, answer) = run_shape("views", &[]);
    let ingest = read_json(&dir.path().join("ingest.json"));
    assert_eq!(ingest["anonymous_rows"], anonymous);
    assert_eq!(
        ingest["users"].as_u64().unwrap(),
        (logged.len() + sessions.len()) as u64
    );
    assert!(answer.contains("Next item at K = 20"), "{answer}");
    let (merged, _) = run_shape("views", &["input.null_values=[]"]);
    let ingest = read_json(&merged.path().join("ingest.json"));
    assert_eq!(ingest["users"].as_u64().unwrap(), logged.len() as u64 + 1);
}

/// JSON lines with a nested user id; a line that is not JSON is a counted bad row, and
/// an unknown format name lists the supported ones.
#[test]
fn json_lines_read_nested_fields() {
    let (dir, answer) = run_shape("reviews", &[]);
    let ingest = read_json(&dir.path().join("ingest.json"));
    let lines = std::fs::read_to_string(root().join("data/shapes/reviews.jsonl"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(ingest["rows_kept"], lines);
    assert_eq!(ingest["users"], 240);
    assert_eq!(ingest["format"], "jsonl");
    assert!(answer.contains("Best: "), "{answer}");
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("reviews.jsonl");
    std::fs::write(
        &bad,
        "{\"reviewer\": {\"id\": \"A\"}, \"asin\": \"x\", \"unixReviewTime\": 1400000000}\n\
         {\"reviewer\": {\"id\": \"B\"}, \"asin\": \"y\" \n\
         [1, 2]\n\
         {\"reviewer\": {}, \"asin\": \"z\", \"unixReviewTime\": 1400000001}\n",
    )
    .unwrap();
    let ingest = |extra: &[&str]| {
        let out = tmp.path().join("run");
        let mut args = vec![
            "ingest",
            "--input",
            bad.to_str().unwrap(),
            "--format",
            "jsonl",
            "--user-col",
            "reviewer.id",
            "--item-col",
            "asin",
            "--time-col",
            "unixReviewTime",
            "--out",
            out.to_str().unwrap(),
            "--json",
        ];
        args.extend(extra);
        clickrec(&args)
    };
    let output = ingest(&["--on-bad-row", "skip"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(summary["rows_kept"], 1);
    assert_eq!(summary["rejected_by_reason"]["invalid_json"], 2);
    assert_eq!(
        summary["rejected_by_reason"]["empty_id"], 1,
        "a missing key is empty"
    );
    let output = ingest(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains(":2: not a JSON object"),
        "{}",
        stderr(&output)
    );
    let output = clickrec(&[
        "ingest", "--input", "x.json", "--format", "json", "--out", "x",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("jsonl"), "{}", stderr(&output));
}
