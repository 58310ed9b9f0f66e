//! The two-stage recommender end to end through the binary: segments, segment-popular,
//! the re-ranker learned on the validation split, its evaluation against every generator,
//! and the leakage check (the re-ranker must not change when only the test targets do).

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::Path;

use common::{clickrec, read_json, stderr, stdout};

fn two_stage(out: &Path, command: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        command,
        "pipelines/two-stage-quickstart.toml",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    clickrec(&args)
}

#[test]
fn two_stage_quickstart_segments_reranks_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = two_stage(&out, "run", &[]);
    assert!(run.status.success(), "{}", stderr(&run));

    let segments = read_json(&out.join("segments/summary.json"));
    assert_eq!(segments["k"], 8);
    assert_eq!(segments["sweep"].as_array().unwrap().len(), 3);
    let sizes: u64 = segments["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["users"].as_u64().unwrap())
        .sum();
    let assigned = std::fs::read_to_string(out.join("segments/assignments.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert_eq!(sizes, assigned);

    let rerank = read_json(&out.join("rerank.json"));
    let coefficients = rerank["coefficients"].as_array().unwrap();
    assert!(
        coefficients
            .iter()
            .any(|c| c[0] == "als_score" && c[1].as_f64().unwrap().is_finite()),
        "{rerank}"
    );
    assert!(rerank["training"]["positives"].as_u64().unwrap() > 0);

    let metrics = read_json(&out.join("metrics.json"));
    let names: Vec<&str> = metrics["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["popularity", "item_knn", "als", "segment_popular", "rerank"]
    );
    // The paired comparisons include the re-ranker against each generator.
    let comparisons = metrics["comparisons"].to_string();
    for generator in ["popularity", "item_knn", "als", "segment_popular"] {
        assert!(
            comparisons.contains(generator) && comparisons.contains("rerank"),
            "{generator}"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Coefficients of rerank"), "{report}");
    assert!(stdout(&run).contains("rerank"));
}

/// Session models and `recent` serve as generators like any other model: refitted on
/// validation-train, their lists become features, and the re-ranker is compared with them.
#[test]
fn session_models_and_recent_are_generators() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = two_stage(
        &out,
        "run",
        &[
            "--set",
            "models.vstan={}",
            "--set",
            "models.recent={}",
            "--set",
            "rerank.generators=[\"als\", \"item_knn\", \"vstan\", \"recent\"]",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let rerank = read_json(&out.join("rerank.json"));
    assert_eq!(
        rerank["generators"],
        serde_json::json!(["als", "item_knn", "vstan", "recent"])
    );
    for feature in ["vstan_score", "vstan_rank", "recent_score", "recent_rank"] {
        assert!(
            rerank["coefficients"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c[0] == feature && c[1].as_f64().unwrap().is_finite()),
            "{feature}: {rerank}"
        );
    }
    let metrics = read_json(&out.join("metrics.json"));
    let comparisons = metrics["comparisons"].as_array().unwrap();
    for generator in ["vstan", "recent"] {
        assert!(
            comparisons.iter().any(|c| {
                let pair = [c["model_a"].as_str(), c["model_b"].as_str()];
                pair.contains(&Some("rerank")) && pair.contains(&Some(generator))
            }),
            "no comparison of rerank with {generator}"
        );
    }
    // The session model listed items for test users (its query: their last train session).
    let vstan = metrics["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "vstan")
        .unwrap();
    assert!(
        vstan["users_without_recommendations"].as_u64().unwrap()
            < metrics["test_set"]["test_users"].as_u64().unwrap()
    );
}

#[test]
fn reranker_learns_nothing_from_the_test_split() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = two_stage(&out, "run", &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let learned = std::fs::read(out.join("models/rerank.json")).unwrap();

    // Move every test target to a neighbouring item id (kept increasing per user, as the
    // test set requires); the test users stay the same.
    let n_items = read_json(&out.join("matrix.json"))["items"]
        .as_u64()
        .unwrap();
    let path = out.join("test_set.json");
    let mut test: serde_json::Value = read_json(&path);
    let offsets: Vec<usize> = test["target_offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_u64().unwrap() as usize)
        .collect();
    let targets = test["targets"].as_array_mut().unwrap();
    assert!(!targets.is_empty());
    for w in offsets.windows(2) {
        let mut moved: Vec<u64> = targets[w[0]..w[1]]
            .iter()
            .map(|t| t.as_u64().unwrap())
            .map(|t| if t ^ 1 < n_items { t ^ 1 } else { t })
            .collect();
        moved.sort_unstable();
        for (slot, item) in targets[w[0]..w[1]].iter_mut().zip(moved) {
            *slot = serde_json::json!(item);
        }
    }
    std::fs::write(&path, test.to_string()).unwrap();
    // Else the split record's hash check would redo the split before the re-ranker.
    common::unrecord_artifacts(&out, "split", "test_set.json");

    let again = two_stage(&out, "rerank", &["--force"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        std::fs::read(out.join("models/rerank.json")).unwrap(),
        learned,
        "the re-ranker changed when only the test targets did"
    );
}

#[test]
fn lists_rerank_and_segments_are_identical_at_1_and_3_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for threads in ["1", "3"] {
        let out = dir.path().join(format!("run-{threads}"));
        let run = std::process::Command::new(common::binary())
            .args([
                "run",
                "pipelines/two-stage-quickstart.toml",
                "--out",
                out.to_str().unwrap(),
                "--set",
                "recommend.format=csv",
            ])
            .env("RAYON_NUM_THREADS", threads)
            .current_dir(common::root())
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", stderr(&run));
        // The generators' own lists too: the factor top-N (ALS) and item-kNN.
        files.push(
            [
                "models/rerank.json",
                "recs/rerank.csv",
                "recs/als.csv",
                "recs/item_knn.csv",
                "segments/assignments.csv",
            ]
            .map(|f| std::fs::read(out.join(f)).unwrap()),
        );
    }
    assert!(
        files[0] == files[1],
        "results differ between 1 and 3 threads"
    );
}

#[test]
fn rerank_without_validation_split_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let run = two_stage(&out, "run", &["--set", "split.validation=false"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("split.validation = true"),
        "{}",
        stderr(&run)
    );
    let run = two_stage(
        &out,
        "run",
        &["--set", "rerank.generators=[\"als\", \"bpr\"]"],
    );
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("\"bpr\" is not configured"),
        "{}",
        stderr(&run)
    );
    // An unknown name: the error lists every kind a generator can be.
    let run = two_stage(&out, "run", &["--set", "rerank.generators=[\"knn\"]"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    for kind in [
        "item_knn",
        "recent",
        "sknn",
        "vstan",
        "spop",
        "segment_popular",
    ] {
        assert!(stderr(&run).contains(kind), "{kind}: {}", stderr(&run));
    }
}

/// Under a global cutoff T the re-ranker learns only from events before the validation
/// cutoff (before T): moving every event at or after T (three days later, turned into a
/// purchase) must leave its coefficients unchanged.
#[test]
fn reranker_learns_nothing_after_the_global_cutoff() {
    const CUTOFF: i64 = 1_512_201_088; // the 80% quantile of data/sample.csv's times
    const VALIDATION_CUTOFF: i64 = 1_512_047_147; // its 60% quantile
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(common::root().join("data/sample.csv")).unwrap();
    let mut moved_rows = 0;
    let moved: String = sample
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            let time: i64 = fields[4].parse().unwrap();
            if time < CUTOFF {
                return format!("{line}\n");
            }
            moved_rows += 1;
            let later = time + 3 * 86_400;
            format!("{},{},{},buy,{later}\n", fields[0], fields[1], fields[2])
        })
        .collect();
    assert!(moved_rows > 1000, "{moved_rows} rows after the cutoff");
    let learn = |name: &str, text: &str| {
        let input = dir.path().join(format!("{name}.csv"));
        std::fs::write(&input, text).unwrap();
        let out = dir.path().join(name);
        let run = two_stage(
            &out,
            "run",
            &[
                "--set",
                &format!("input.path={}", input.display()),
                "--set",
                "split.kind=\"session_cutoff\"",
                "--set",
                &format!("split.cutoff={CUTOFF}"),
                "--set",
                &format!("split.validation_cutoff={VALIDATION_CUTOFF}"),
            ],
        );
        assert!(run.status.success(), "{}", stderr(&run));
        let split = read_json(&out.join("split.json"));
        assert_eq!(
            split["test"]["leakage"]["test_users_with_future_train_events"],
            0
        );
        read_json(&out.join("models/rerank.json"))["coefficients"].clone()
    };
    let original = learn("original", &sample);
    assert!(original.as_array().is_some_and(|c| !c.is_empty()));
    assert_eq!(
        learn("moved", &moved),
        original,
        "the re-ranker changed when only events after the cutoff did"
    );
}
