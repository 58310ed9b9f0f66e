//! Models, recommendation lists and the evaluator end to end through the binary: the
//! quickstart's train → recommend → evaluate stages, `clickrec recommend` for all users,
//! `clickrec similar`, `clickrec evaluate` on a file, and models refused on other id maps.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::Path;

use common::{clickrec, first_item, read_json, stderr, stdout};

fn quickstart(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "run",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    clickrec(&args)
}

#[test]
fn quickstart_trains_recommends_and_evaluates_every_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = quickstart(&out, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let table = stdout(&run);
    for model in [
        "popularity",
        "popularity_recent",
        "recent",
        "item_knn",
        "als",
        "bpr",
        "ease",
    ] {
        assert!(
            out.join(format!("models/{model}.model")).is_file(),
            "{model}"
        );
        assert!(
            out.join(format!("recs/{model}.parquet")).is_file(),
            "{model}"
        );
        assert!(
            table.contains(model),
            "{model} missing from the table:\n{table}"
        );
    }
    assert!(
        table.contains("Recall") && table.contains("NDCG"),
        "{table}"
    );
    for file in ["metrics.json", "report.md", "report.html", "train.json"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let metrics = read_json(&out.join("metrics.json"));
    // The default split: users whose first session starts after the global cutoff.
    assert_eq!(metrics["test_set"]["test_users"], 688);
    assert_eq!(metrics["test_set"]["cold_users"], 0);
    assert_eq!(metrics["models"].as_array().unwrap().len(), 7);
    // ALS records its loss per iteration; the report and the manifest carry it.
    let losses = metrics["training_loss"]["als"].as_array().unwrap();
    assert_eq!(losses.len(), 10);
    let manifest = read_json(&out.join("manifest.json"));
    for stage in ["train", "recommend", "evaluate"] {
        assert!(
            manifest["stages"][stage]["seconds"].as_f64().is_some(),
            "{stage}"
        );
    }

    // A rerun reuses everything; a changed model parameter refits and re-evaluates.
    let again = quickstart(&out, &[]);
    assert!(
        stderr(&again).contains("[evaluate] cached"),
        "{}",
        stderr(&again)
    );
    let changed = quickstart(&out, &["--set", "models.als.factors=8"]);
    assert!(changed.status.success(), "{}", stderr(&changed));
    assert!(
        stderr(&changed).contains("[train] done"),
        "{}",
        stderr(&changed)
    );
    assert!(
        stderr(&changed).contains("[evaluate] done"),
        "{}",
        stderr(&changed)
    );

    // The same ruler from outside: scoring the stage's own file gives the stage's numbers.
    let report_dir = dir.path().join("outside");
    let outside = clickrec(&[
        "evaluate",
        "--recs",
        out.join("recs/als.parquet").to_str().unwrap(),
        "--run",
        out.to_str().unwrap(),
        "--exclude-seen",
        "--report-dir",
        report_dir.to_str().unwrap(),
    ]);
    assert!(outside.status.success(), "{}", stderr(&outside));
    let stage = read_json(&out.join("metrics.json"));
    let file = read_json(&report_dir.join("metrics.json"));
    let als = |m: &serde_json::Value| {
        m["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "als")
            .unwrap()["variants"][0]["at_k"]
            .clone()
    };
    assert_eq!(als(&stage), als(&file));

    // Similar items from item-kNN, ALS and EASE, external ids in and out.
    let item = first_item(&common::root().join("data/sample.csv"));
    for model in ["item_knn", "als", "ease"] {
        let similar = clickrec(&[
            "similar",
            "--run",
            out.to_str().unwrap(),
            "--model",
            model,
            "--item",
            &item,
            "--n",
            "5",
        ]);
        assert!(similar.status.success(), "{}", stderr(&similar));
        let lines: Vec<String> = stdout(&similar).lines().map(str::to_owned).collect();
        assert_eq!(lines[0], "item_id,rank,similar_item_id,score");
        assert!(lines.len() > 1, "{model}: no neighbours");
        assert!(lines[1].starts_with(&format!("{item},1,")), "{}", lines[1]);
    }
    let unknown = clickrec(&[
        "similar",
        "--run",
        out.to_str().unwrap(),
        "--model",
        "als",
        "--item",
        "no-such-item",
    ]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stderr(&unknown));
    assert!(
        stderr(&unknown).contains("no-such-item"),
        "{}",
        stderr(&unknown)
    );
    let popularity = clickrec(&[
        "similar",
        "--run",
        out.to_str().unwrap(),
        "--model",
        "popularity",
        "--item",
        &item,
    ]);
    assert_eq!(popularity.status.code(), Some(2));
    assert!(
        stderr(&popularity).contains("the models with item similarities"),
        "{}",
        stderr(&popularity)
    );
    assert!(stdout(&popularity).is_empty(), "{}", stdout(&popularity));
    // A model the run did not fit: one line that says which table and stage it needs.
    std::fs::remove_file(out.join("models/item_knn.model")).unwrap();
    let absent = clickrec(&[
        "similar",
        "--run",
        out.to_str().unwrap(),
        "--model",
        "item_knn",
        "--item",
        &item,
    ]);
    assert_eq!(absent.status.code(), Some(2), "{}", stderr(&absent));
    let text = stderr(&absent);
    assert!(
        text.contains("[models.item_knn]") && text.trim().lines().count() == 1,
        "{text}"
    );
}

#[test]
fn recommend_writes_csv_for_all_users() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let sets = [
        "--set",
        "recommend.users=all",
        "--set",
        "recommend.format=csv",
        "--set",
        "recommend.n=100",
    ];
    let run = quickstart(&out, &sets);
    assert!(run.status.success(), "{}", stderr(&run));
    let text = std::fs::read_to_string(out.join("recs/popularity.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,rank,item_id,score"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let users: std::collections::HashSet<&str> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(users.len(), 1000);
    assert!(rows.iter().all(|r| r.len() == 4));
    // The train stage alone, then recommend alone, over the same directory.
    let mut args = vec![
        "recommend",
        "pipelines/quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&sets);
    args.push("--force");
    let again = clickrec(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("[recommend] done"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_model_fitted_on_other_id_maps_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.csv");
    let generate = clickrec(&[
        "generate",
        "--users",
        "60",
        "--items",
        "80",
        "--events",
        "3000",
        "--seed",
        "3",
        "--out",
        small.to_str().unwrap(),
    ]);
    assert!(generate.status.success(), "{}", stderr(&generate));
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    let only_popularity_and_als = [
        "--set",
        "models.item_knn.k=5",
        "--set",
        "models.bpr.iterations=1",
    ];
    assert!(quickstart(&a, &only_popularity_and_als).status.success());
    let mut args = vec![
        "--set".to_owned(),
        format!("input.path={}", small.display()),
    ];
    args.extend(only_popularity_and_als.iter().map(|s| s.to_string()));
    let b_run = quickstart(&b, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(b_run.status.success(), "{}", stderr(&b_run));
    std::fs::copy(a.join("models/als.model"), b.join("models/als.model")).unwrap();
    let first_item = first_item(&small);
    let refused = clickrec(&[
        "similar",
        "--run",
        b.to_str().unwrap(),
        "--model",
        "als",
        "--item",
        &first_item,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("other id maps"),
        "{}",
        stderr(&refused)
    );
}

#[test]
fn evaluate_rejects_malformed_lists_with_file_line_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    assert!(
        quickstart(&out, &["--set", "recommend.format=csv"])
            .status
            .success()
    );
    let recs = std::fs::read_to_string(out.join("recs/als.csv")).unwrap();
    // Duplicate the rank of line 3 onto line 4.
    let mut lines: Vec<String> = recs.lines().map(str::to_owned).collect();
    let fields: Vec<String> = lines[2].split(',').map(str::to_owned).collect();
    let mut dup: Vec<String> = lines[3].split(',').map(str::to_owned).collect();
    dup[1] = fields[1].clone();
    lines[3] = dup.join(",");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let output = clickrec(&[
        "evaluate",
        "--recs",
        bad.to_str().unwrap(),
        "--run",
        out.to_str().unwrap(),
        "--report-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("bad.csv") && message.contains("4"),
        "{message}"
    );
    let missing = dir.path().join("missing.csv");
    std::fs::write(&missing, "user,item\n1,2\n").unwrap();
    let output = clickrec(&[
        "evaluate",
        "--recs",
        missing.to_str().unwrap(),
        "--run",
        out.to_str().unwrap(),
    ]);
    assert!(stderr(&output).contains("user_id"), "{}", stderr(&output));
}

/// Every model on the real Taobao head sample, when `../shared/data` is present.
#[test]
fn real_taobao_head_models() {
    let Some(input) = common::shared_data("taobao-userbehavior-users-head/UserBehavior_head.csv")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = clickrec(&[
        "run",
        "pipelines/taobao.toml",
        "--out",
        out.to_str().unwrap(),
        "--set",
        &format!("input.path={}", input.display()),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let metrics = read_json(&out.join("metrics.json"));
    // The session cutoff (90% quantile of session starts): 711 of the 815 users have a
    // session after it, and 267 of them no target left once items unseen in train are
    // dropped. No train event follows any test user's first test event.
    assert_eq!(metrics["test_set"]["test_users"], 711);
    assert_eq!(
        metrics["protocol"]["leakage"]["test_users_with_future_train_events"],
        0
    );
    let popularity = &metrics["models"][0];
    assert_eq!(popularity["name"], "popularity");
    let all = &popularity["variants"][0];
    assert_eq!(all["evaluated_users"], 444);
    assert_eq!(all["skipped_users"], 267);
    for model in metrics["models"].as_array().unwrap() {
        for at in model["variants"][0]["at_k"].as_array().unwrap() {
            let recall = &at["recall"];
            let (mean, low, high) = (
                recall["mean"].as_f64().unwrap(),
                recall["ci_low"].as_f64().unwrap(),
                recall["ci_high"].as_f64().unwrap(),
            );
            assert!(
                (0.0..=1.0).contains(&mean) && low <= mean && mean <= high,
                "{at}"
            );
        }
    }
}
