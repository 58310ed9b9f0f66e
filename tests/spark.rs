//! The Spark engine against the local engine on `data/sample.csv` (tier 2: a real local
//! cluster). Starts it with `scripts/spark-cluster.sh start` (and stops it at the end,
//! also when an assertion fails), runs the quickstart pipeline (its default session
//! cutoff) on both engines — ALS forced onto MLlib with `engine.train_memory_share = 0` —
//! and compares the split and prep reports and the matrix (non-zeros and every pair
//! weight to 1e-6). Then, on each user's last session (where these tolerances were
//! measured), ALS with the quickstart's settings at run seeds 1..=10 on each engine: the
//! mean Recall@20 of MLlib's fits is within 1% of the local fits' mean. One seed is not
//! enough on this sample: across seeds the local Recall@20 alone spans 0.0843–0.0914, and
//! seed 42 gives 0.0824 locally against 0.0924 on MLlib. The two-stage quickstart then
//! puts k-means and the re-ranker's logistic regression on MLlib too: the validation split
//! must be the same, the inertia within 3% and the coefficients within 2e-3. Skips,
//! saying so, without Java or when the cluster cannot start; under `CI=true` (where
//! `.ci/run` installs Java 17) it fails instead.
//!
//! Built only with this crate's `spark` feature, against a `clickrec` built with its own
//! (`cargo build -p clickrec-cli --features spark`); `.ci/run` does both.

#![cfg(feature = "spark")]
#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::Path;

use clickrec_spark::LocalCluster;
use common::{clickrec, read_json, root, skip_or_fail, stderr};

/// The CSR file: (indptr, indices, data), as `UserItemMatrix::write_to` writes it.
fn matrix(path: &Path) -> (Vec<u64>, Vec<u32>, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    let word = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let (users, nnz) = (word(12) as usize, word(28) as usize);
    let mut at = 36;
    let indptr: Vec<u64> = (0..=users).map(|i| word(at + 8 * i)).collect();
    at += 8 * (users + 1);
    let indices = (0..nnz)
        .map(|i| u32::from_le_bytes(b[at + 4 * i..at + 4 * i + 4].try_into().unwrap()))
        .collect();
    at += 4 * nnz;
    let data = (0..nnz)
        .map(|i| f32::from_le_bytes(b[at + 4 * i..at + 4 * i + 4].try_into().unwrap()))
        .collect();
    (indptr, indices, data)
}

fn recall_at_20(run: &Path, model: &str) -> f64 {
    let metrics = read_json(&run.join("metrics.json"));
    let m = metrics["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == model)
        .unwrap();
    let all = m["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == "all")
        .unwrap();
    let at = all["at_k"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["k"] == 20)
        .unwrap();
    at["recall"]["mean"].as_f64().unwrap()
}

#[test]
fn the_spark_engine_gives_the_local_engines_answers() {
    let cluster = match LocalCluster::start(&root()) {
        Ok(cluster) => cluster,
        Err(e) => {
            skip_or_fail(&e);
            return;
        }
    };
    let url = cluster.url.clone();

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    let spark = dir.path().join("spark");
    let out = clickrec(&[
        "run",
        "pipelines/quickstart.toml",
        "--out",
        local.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "local run: {}", stderr(&out));
    // The Spark engine, with ALS forced onto MLlib.
    let url_set = format!("engine.url={url}");
    let on_mllib = [
        "--set",
        "engine.kind=spark",
        "--set",
        &url_set,
        "--set",
        "engine.train_memory_share=0",
    ];
    let mut args = vec![
        "run",
        "pipelines/quickstart.toml",
        "--out",
        spark.to_str().unwrap(),
    ];
    args.extend(on_mllib);
    let out = clickrec(&args);
    assert!(out.status.success(), "spark run: {}", stderr(&out));

    // A time outside the accepted range (here the largest i64) is a bad row on both
    // engines, reported at its line with the same reason: nothing after ingest sees it.
    let extreme = dir.path().join("extreme.csv");
    let sample = std::fs::read_to_string(root().join("data/sample.csv")).unwrap();
    let head: String = sample.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(&extreme, format!("{head}1,2,3,pv,9223372036854775807\n")).unwrap();
    let input_set = format!("input.path={}", extreme.to_str().unwrap());
    for on_spark in [false, true] {
        let bad_out = dir.path().join(format!("extreme-{on_spark}"));
        let mut args = vec![
            "run",
            "pipelines/quickstart.toml",
            "--out",
            bad_out.to_str().unwrap(),
            "--set",
            &input_set,
        ];
        if on_spark {
            args.extend(on_mllib);
        }
        let out = clickrec(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "spark {on_spark}: {err}");
        assert!(
            err.contains("extreme.csv:4:") && err.contains("outside the accepted range"),
            "spark {on_spark}: {err}"
        );
    }

    // The same split: every count of split.json.
    let (l, s) = (
        read_json(&local.join("split.json")),
        read_json(&spark.join("split.json")),
    );
    assert_eq!(l, s, "split.json differs");
    assert_eq!(
        read_json(&local.join("prep.json")),
        read_json(&spark.join("prep.json"))
    );
    // The same matrix: structure exactly, weights to 1e-6.
    let (lp, li, ld) = matrix(&local.join("train_matrix.csr"));
    let (sp, si, sd) = matrix(&spark.join("train_matrix.csr"));
    assert_eq!(li.len(), si.len(), "non-zeros");
    assert_eq!(lp, sp, "row pointers");
    assert_eq!(li, si, "column indices");
    let worst = ld
        .iter()
        .zip(&sd)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-6, "largest weight difference {worst}");
    // ALS trained on MLlib, and says so.
    let train = read_json(&spark.join("train.json"));
    let als = train
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "als")
        .unwrap();
    assert_eq!(als["placement"]["trained_on"], "mllib", "{als}");
    eprintln!(
        "split test rows {}, nnz {}, max |Δw| {worst}",
        l["test"]["held_out"]["rows"],
        li.len()
    );

    // k-means and logistic regression on MLlib: the two-stage pipeline (validation split,
    // segments, re-ranker) on both engines. The generators leave out segment_popular, so
    // the re-ranker learns from the same rows on both and its coefficients must agree.
    let (two_local, two_spark) = (dir.path().join("two-local"), dir.path().join("two-spark"));
    let generators = r#"rerank.generators=["als","item_knn","popularity"]"#;
    // Each user's last session, as these tolerances were measured on: with fewer test and
    // validation users under the default cutoff, k = 4 lands in another local minimum on
    // one engine (inertia 590 locally against 559 on MLlib).
    let mut args = vec![
        "run",
        "pipelines/two-stage-quickstart.toml",
        "--out",
        two_local.to_str().unwrap(),
        "--set",
        generators,
        "--set",
        "split.kind=last_session",
    ];
    let out = clickrec(&args);
    assert!(out.status.success(), "local two-stage: {}", stderr(&out));
    args[3] = two_spark.to_str().unwrap();
    args.extend(on_mllib);
    let out = clickrec(&args);
    assert!(out.status.success(), "spark two-stage: {}", stderr(&out));
    assert_eq!(
        read_json(&two_local.join("split.json")),
        read_json(&two_spark.join("split.json")),
        "split.json with validation differs"
    );
    let (l, s) = (
        read_json(&two_local.join("segments/summary.json")),
        read_json(&two_spark.join("segments/summary.json")),
    );
    assert_eq!(s["placement"]["trained_on"], "mllib", "{}", s["placement"]);
    // k-means|| (MLlib) and k-means++ (here) seed differently: other local optima, but
    // of about the same inertia.
    let sweep = |v: &serde_json::Value| -> Vec<(u64, f64)> {
        v["sweep"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    };
    for ((k, li), (sk, si)) in sweep(&l).into_iter().zip(sweep(&s)) {
        assert_eq!(k, sk);
        eprintln!("k-means k = {k}: inertia local {li:.2}, MLlib {si:.2}");
        assert!(
            (si - li).abs() <= 0.03 * li,
            "k = {k}: inertia local {li:.2}, MLlib {si:.2}"
        );
    }
    let (l, s) = (
        read_json(&two_local.join("rerank.json")),
        read_json(&two_spark.join("rerank.json")),
    );
    assert_eq!(s["placement"]["trained_on"], "mllib", "{}", s["placement"]);
    assert_eq!(l["training"]["positives"], s["training"]["positives"]);
    let mut terms: Vec<(String, f64, f64)> = l["coefficients"]
        .as_array()
        .unwrap()
        .iter()
        .zip(s["coefficients"].as_array().unwrap())
        .map(|(a, b)| {
            assert_eq!(a[0], b[0]);
            let name = a[0].as_str().unwrap().to_string();
            (name, a[1].as_f64().unwrap(), b[1].as_f64().unwrap())
        })
        .collect();
    terms.push((
        "intercept".into(),
        l["intercept"].as_f64().unwrap(),
        s["intercept"].as_f64().unwrap(),
    ));
    let worst = terms
        .iter()
        .map(|(_, a, b)| (a - b).abs())
        .fold(0f64, f64::max);
    eprintln!(
        "logistic regression: largest |Δ| of {} terms {worst:.2e}",
        terms.len()
    );
    assert!(worst <= 2e-3, "linfa and MLlib disagree: {terms:?}");

    // ALS alone, as the quickstart sets it, at ten seeds per engine, on each user's last
    // session (the split the 1% tolerance was measured on).
    let pipeline = dir.path().join("als.toml");
    let sample = root().join("data/sample.csv");
    std::fs::write(
        &pipeline,
        format!(
            "[input]\npath = {:?}\nformat = \"taobao\"\n\n[split]\nkind = \"last_session\"\n\n[models.als]\nfactors = 32\niterations = 10\n\n[recommend]\nn = 20\n\n[evaluate]\nks = [20]\nbootstrap_samples = 100\n",
            sample.to_str().unwrap()
        ),
    )
    .unwrap();
    let (als_local, als_spark) = (dir.path().join("als-local"), dir.path().join("als-spark"));
    let (mut local_sum, mut spark_sum) = (0.0, 0.0);
    const SEEDS: u64 = 10;
    for seed in 1..=SEEDS {
        let seed_set = format!("run.seed={seed}");
        let mut args = vec![
            "run",
            pipeline.to_str().unwrap(),
            "--out",
            als_local.to_str().unwrap(),
            "--set",
            &seed_set,
        ];
        let out = clickrec(&args);
        assert!(
            out.status.success(),
            "local ALS, seed {seed}: {}",
            stderr(&out)
        );
        args[3] = als_spark.to_str().unwrap();
        args.extend(on_mllib);
        let out = clickrec(&args);
        assert!(
            out.status.success(),
            "MLlib ALS, seed {seed}: {}",
            stderr(&out)
        );
        let (lr, sr) = (
            recall_at_20(&als_local, "als"),
            recall_at_20(&als_spark, "als"),
        );
        eprintln!("seed {seed}: ALS Recall@20 local {lr:.4}, MLlib {sr:.4}");
        local_sum += lr;
        spark_sum += sr;
    }
    let (lr, sr) = (local_sum / SEEDS as f64, spark_sum / SEEDS as f64);
    eprintln!("mean of {SEEDS} seeds: ALS Recall@20 local {lr:.4}, MLlib {sr:.4}");
    assert!(
        (sr - lr).abs() <= 0.01 * lr,
        "mean ALS Recall@20 over {SEEDS} seeds: local {lr:.4}, MLlib {sr:.4} (more than 1% apart)"
    );
}
