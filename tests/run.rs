//! `clickrec run` end to end: the quickstart pipeline, caching, config errors.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use common::{clickrec, stderr};

#[test]
fn quickstart_runs_and_reruns_from_cache() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    let first = clickrec(&["run", "pipelines/quickstart.toml", "--out", out]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("[ingest] done"),
        "{}",
        stderr(&first)
    );
    // The answer at a glance: a short run whose last lines name the best model with its
    // interval and its margin over the best simple baseline, on a leak-free split.
    let answer = common::stdout(&first);
    let lines = stderr(&first).lines().count() + answer.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{}{answer}", stderr(&first));
    let best = answer
        .lines()
        .find(|l| l.starts_with('*'))
        .unwrap_or_else(|| panic!("no model marked best:\n{answer}"));
    let best_name = best.split_whitespace().nth(1).unwrap();
    assert!(
        best.contains('[') && best.contains(']'),
        "no interval: {best}"
    );
    assert!(
        answer.contains(&format!("Best: {best_name}, Recall@20 +"))
            && answer.contains("over popularity, the best simple baseline (paired 95% CI"),
        "{answer}"
    );
    assert!(answer.contains("Leak-free split"), "{answer}");
    assert!(answer.contains("Not ranked: recent"), "{answer}");
    assert!(answer.contains("report.html"), "{answer}");
    let split: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("run/split.json")).unwrap())
            .unwrap();
    assert_eq!(
        split["test"]["leakage"]["future_train_events_share_max"],
        0.0
    );
    assert_eq!(split["test"]["rule"]["kind"], "session_cutoff");
    // --verbose adds every K and every comparison.
    let verbose = clickrec(&[
        "evaluate",
        "pipelines/quickstart.toml",
        "--out",
        out,
        "--force",
        "-v",
    ]);
    assert!(verbose.status.success(), "{}", stderr(&verbose));
    let full = common::stdout(&verbose);
    assert!(
        full.contains("Comparisons: every pair") && full.contains("Best: "),
        "{full}"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("run/manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["inputs"][0]["path"], "data/sample.csv");
    assert!(manifest["stages"]["ingest"]["seconds"].as_f64().is_some());

    let second = clickrec(&["run", "pipelines/quickstart.toml", "--out", out]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("[ingest] cached"),
        "{}",
        stderr(&second)
    );

    let forced = clickrec(&["run", "pipelines/quickstart.toml", "--out", out, "--force"]);
    assert!(
        stderr(&forced).contains("[ingest] done"),
        "{}",
        stderr(&forced)
    );

    // A changed option invalidates the stage.
    let changed = clickrec(&[
        "run",
        "pipelines/quickstart.toml",
        "--out",
        out,
        "--set",
        "input.on_bad_row=skip",
    ]);
    assert!(
        stderr(&changed).contains("[ingest] done"),
        "{}",
        stderr(&changed)
    );
}

#[test]
fn the_benchmark_pipeline_generates_its_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let out = dir.path().join("run");
    let args = |force: bool| {
        let mut a = vec![
            "run".to_owned(),
            "pipelines/synthetic-10m.toml".to_owned(),
            "--out".to_owned(),
            out.display().to_string(),
        ];
        for set in [
            "generate.users=500",
            "generate.items=800",
            "generate.events=20000",
        ] {
            a.extend(["--set".to_owned(), set.to_owned()]);
        }
        a.extend([
            "--set".to_owned(),
            format!("input.path={}", input.display()),
        ]);
        if force {
            a.push("--force".to_owned());
        }
        a
    };
    let run = |force: bool| {
        let a = args(force);
        clickrec(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let first = run(false);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("[generate] done"),
        "{}",
        stderr(&first)
    );
    assert_eq!(
        std::fs::read_to_string(&input).unwrap().lines().count(),
        20_000
    );
    let second = run(false);
    assert!(
        stderr(&second).contains("[generate] cached"),
        "{}",
        stderr(&second)
    );
    let forced = run(true);
    assert!(
        stderr(&forced).contains("[matrix] done"),
        "{}",
        stderr(&forced)
    );
}

#[test]
fn a_stage_needs_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let output = clickrec(&["matrix", "pipelines/quickstart.toml", "--out", out]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("stage ingest is not up to date")
            && stderr(&output).contains("the manifest has no record of it"),
        "{}",
        stderr(&output)
    );
}

/// The held-out-session split of the real Taobao head sample, when `../shared/data` is present.
#[test]
fn real_taobao_head_split() {
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
    let split: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("split.json")).unwrap()).unwrap();
    let test = &split["test"];
    assert_eq!(test["leakage_guard_passed"], true);
    // The session cutoff: 711 of the 815 users start a session after it; all of them
    // have train events before it; nothing in train is later than a test session.
    assert_eq!(test["rule"]["kind"], "session_cutoff");
    assert_eq!(test["targets"]["test_users"], 711);
    assert_eq!(test["targets"]["cold_users"], 0);
    assert_eq!(test["train"]["users"], 815);
    assert_eq!(test["leakage"]["test_users_with_future_train_events"], 0);
    let ingest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ingest.json")).unwrap()).unwrap();
    assert_eq!(ingest["rejected_by_reason"]["out_of_window"], 35);
}

#[test]
fn config_errors_exit_2_and_name_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.toml");
    let cases = [
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\ncolour = 1\n",
            "colour",
        ),
        (
            "[run]\nout = \"r\"\nseed = \"seven\"\n[input]\npath = \"x.csv\"\n",
            "seed",
        ),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"missing.csv\"\n",
            "input.path",
        ),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\nutc_offset = \"8h\"\n",
            "input.utc_offset",
        ),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\nformat = \"xml\"\n",
            "xml",
        ),
        ("[run]\nout = \"r\"\n[input\n", "not valid TOML"),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\n[prep.kcore]\nmin_items_per_user = 0\n",
            "prep.kcore.min_items_per_user",
        ),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\n[prep.weights]\ncart = -1\n",
            "prep.weights.cart",
        ),
        (
            "[run]\nout = \"r\"\n[input]\npath = \"x.csv\"\n[split]\nkind = \"temporal\"\n",
            "cutoff",
        ),
    ];
    std::fs::write(dir.path().join("x.csv"), "1,2,3,pv,4\n").unwrap();
    for (text, expected) in cases {
        std::fs::write(&pipeline, text).unwrap();
        let output = clickrec(&["run", pipeline.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{text}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(
            message.contains("p.toml") || message.contains("x.csv"),
            "{message}"
        );
        assert!(message.contains(expected), "{text}: {message}");
    }
    let bad_set = clickrec(&["run", "pipelines/quickstart.toml", "--set", "novalue"]);
    assert_eq!(bad_set.status.code(), Some(2));
}

/// The leakage of both held-out-session splits, measured and reported: the per-user last
/// session trains on other users' later events, the global session cutoff (the default)
/// on none.
#[test]
fn splits_report_their_leakage() {
    let dir = tempfile::tempdir().unwrap();
    let json = |path: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let run = |name: &str, split: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            "pipelines/quickstart.toml",
            "--out",
            out.to_str().unwrap(),
            "--set",
            "evaluate.bootstrap_samples=100",
        ];
        args.extend_from_slice(split);
        let run = clickrec(&args);
        assert!(run.status.success(), "{}", stderr(&run));
        let leakage = json(out.join("split.json"))["test"]["leakage"].clone();
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        (leakage, report, common::stdout(&run))
    };
    let (leakage, report, stdout) = run("last", &["--set", "split.kind=last_session"]);
    assert!(
        leakage["future_train_events_share_mean"].as_f64().unwrap() > 0.0,
        "{leakage}"
    );
    assert!(
        leakage["test_users_with_future_train_events"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(
        report.contains("trains on other users' later events"),
        "{report}"
    );
    assert!(
        stdout.contains("trains on other users' later events"),
        "{stdout}"
    );

    // The default split: a global session cutoff.
    let (leakage, report, _) = run("cutoff", &[]);
    assert_eq!(
        leakage["test_users_with_future_train_events"], 0,
        "{leakage}"
    );
    assert_eq!(leakage["future_train_events_share_max"], 0.0);
    assert!(report.contains("Leak-free split"), "{report}");
    assert!(report.contains("Holm–Bonferroni"), "{report}");
    assert!(report.contains("(best baseline)"), "{report}");
}
