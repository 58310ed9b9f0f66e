//! Session logs end to end: a pre-split pair in the `sessions` format through
//! `clickrec run` (`split.kind = "test_file"`), and the real YOOCHOOSE tuning pair when
//! `../shared/data` is present.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

use common::{binary, read_json, stderr};

/// Sessions of a small made-up shop, written like session-rec's files: header, tab,
/// fractional Unix seconds, session ids not sorted. Returns the text and, per session,
/// its items in click order.
fn session_file(first_session: u32, sessions: u32, first_time: f64, new_items: bool) -> String {
    let mut text = String::from("SessionId\tItemId\tTime\n");
    for s in 0..sessions {
        // Scrambled ids, as in the real files.
        let id = first_session + (s * 7919) % sessions;
        let clicks = 2 + s % 4;
        for c in 0..clicks {
            let item = if new_items && c == clicks - 1 && s % 3 == 0 {
                900 + s % 5 // never in train
            } else {
                100 + (s * 31 + c * 17) % 40
            };
            // Two clicks per second, 0.25 s apart: only the fraction orders them.
            let time =
                first_time + f64::from(s) * 60.0 + f64::from(c / 2) + 0.25 * f64::from(c % 2);
            writeln!(text, "{id}\t{item}\t{time:.2}").unwrap();
        }
    }
    text
}

/// Expected targets per test session: distinct items, and how many are not in train.
fn expected_targets(train: &str, test: &str) -> (usize, usize, usize) {
    let items = |text: &str| -> BTreeMap<String, BTreeSet<String>> {
        let mut by_session: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split('\t').collect();
            by_session
                .entry(fields[0].to_owned())
                .or_default()
                .insert(fields[1].to_owned());
        }
        by_session
    };
    let seen: BTreeSet<String> = items(train).into_values().flatten().collect();
    let test = items(test);
    let targets = test.values().map(|s| s.len()).sum::<usize>();
    let dropped = test
        .values()
        .flatten()
        .filter(|i| !seen.contains(*i))
        .count();
    (test.len(), targets - dropped, dropped)
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("clickrec runs")
}

const PIPELINE: &str = r#"
[run]
out = "run"

[input]
path = "train.txt"
format = "sessions"

[split]
kind = "test_file"
test_path = "test.txt"

[models.popularity]

[models.vsknn]

[recommend]
n = 20

[evaluate]
ks = [10, 20]
bootstrap_samples = 50
protocol = ["session", "next_item"]
"#;

#[test]
fn a_pre_split_session_pair_runs_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let train = session_file(1000, 300, 1_396_400_000.0, false);
    let test = session_file(5000, 60, 1_396_500_000.0, true);
    std::fs::write(dir.path().join("train.txt"), &train).unwrap();
    std::fs::write(dir.path().join("test.txt"), &test).unwrap();
    std::fs::write(dir.path().join("p.toml"), PIPELINE).unwrap();

    let output = run_in(dir.path(), &["run", "p.toml"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let run = dir.path().join("run");
    let ingest = read_json(&run.join("ingest.json"));
    assert_eq!(ingest["rows_kept"], train.lines().count() - 1);
    assert_eq!(
        (ingest["users"].clone(), ingest["sessions"].clone()),
        (300.into(), 300.into())
    );
    let test_ingest = read_json(&run.join("test_ingest.json"));
    assert_eq!(test_ingest["rows_kept"], test.lines().count() - 1);
    assert_eq!(
        test_ingest["new_users"], 60,
        "every test session is a new user"
    );

    let (sessions, targets, dropped) = expected_targets(&train, &test);
    let split = read_json(&run.join("split.json"));
    let t = &split["test"];
    assert_eq!(t["rule"]["kind"], "test_file");
    assert_eq!(t["held_out"]["rows"], test.lines().count() - 1);
    assert_eq!(t["targets"]["test_users"], sessions);
    assert_eq!(t["targets"]["cold_users"], sessions);
    assert_eq!(t["targets"]["targets"], targets);
    assert_eq!(t["targets"]["dropped_targets"], dropped);
    assert!(dropped > 0, "the test file has items never seen in train");
    let prep = read_json(&run.join("prep.json"));
    let sessions_step = prep["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(sessions_step["details"]["source"], "given");
    assert_eq!(sessions_step["details"]["sessions"], 300);
    // Every test session is cold: the headline has no user to rank on; in the cold
    // users' section V-SKNN (which needs history) gives them the popularity fallback, as
    // popularity itself; the next-item protocol, which replays each test session, is the
    // answer.
    let metrics = read_json(&run.join("metrics.json"));
    assert_eq!(metrics["population"], "warm");
    let cold = &metrics["cold_users"];
    assert_eq!(cold["users"], sessions);
    let cold_model = |name: &str| {
        cold["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .unwrap()
            .clone()
    };
    let (vsknn, popularity) = (cold_model("vsknn"), cold_model("popularity"));
    assert_eq!(vsknn["users_without_recommendations"], 0);
    assert_eq!(vsknn["at_k"], popularity["at_k"]);
    let answer = common::stdout(&output);
    assert!(
        answer.contains("No test users with train history to rank models on")
            && answer.contains("Next item at K = 20"),
        "{answer}"
    );
    let vsknn = metrics["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "vsknn")
        .unwrap();
    let next = vsknn["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["variant"] == "next_item")
        .unwrap();
    // Sessions with something to predict: at least two events.
    let replayed = next["sessions"].as_u64().unwrap() as usize;
    assert!(replayed > 0 && replayed <= sessions);
    // One prediction per event after a session's first, at most (targets never seen in
    // train cannot be predicted).
    let predictions = next["predictions"].as_u64().unwrap() as usize;
    assert!(predictions > 0 && predictions <= test.lines().count() - 1 - sessions);
    assert!(next["at_k"][1]["hit_rate"]["mean"].as_f64().unwrap() > 0.0);

    // Both files are inputs: a change to either reruns ingest.
    let manifest = read_json(&run.join("manifest.json"));
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 2);

    // Paths given with --set are relative to the current directory.
    let elsewhere = dir.path().join("data");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::rename(dir.path().join("test.txt"), elsewhere.join("valid.txt")).unwrap();
    std::fs::copy(dir.path().join("train.txt"), elsewhere.join("tr.txt")).unwrap();
    let output = run_in(
        dir.path(),
        &[
            "run",
            "p.toml",
            "--set",
            "input.path=data/tr.txt",
            "--set",
            "split.test_path=data/valid.txt",
            "--set",
            "run.out=run2",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        read_json(&dir.path().join("run2/split.json"))["test"],
        split["test"]
    );
}

#[test]
fn a_bad_time_in_the_test_file_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.txt"),
        session_file(1, 20, 1_396_400_000.0, false),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("test.txt"),
        "SessionId\tItemId\tTime\n9\t100\t1396500000.5\n9\t101\t13965OOOO1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("p.toml"), PIPELINE).unwrap();
    let output = run_in(dir.path(), &["run", "p.toml"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("test.txt:3: unparsable timestamp in column Time: \"13965OOOO1\""),
        "{err}"
    );
}

/// session-rec's YOOCHOOSE tuning pair (train_tr, train_valid) as a test-file split.
#[test]
fn real_yoochoose_tuning_pair() {
    let dir_name = "yoochoose-rsc15-100k-tuning";
    let (Some(train), Some(test)) = (
        common::shared_data(&format!("{dir_name}/yoochoose-clicks-100k_train_tr.txt")),
        common::shared_data(&format!("{dir_name}/yoochoose-clicks-100k_train_valid.txt")),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PIPELINE).unwrap();
    let output = run_in(
        dir.path(),
        &[
            "run",
            "p.toml",
            "--set",
            &format!("input.path={}", train.display()),
            "--set",
            &format!("split.test_path={}", test.display()),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let run = dir.path().join("run");
    // Counts from the folder's SOURCE.md.
    let ingest = read_json(&run.join("ingest.json"));
    assert_eq!(
        (ingest["rows_kept"].clone(), ingest["sessions"].clone()),
        (53_254.into(), 13_629.into())
    );
    assert_eq!(ingest["items"], 2_873);
    let test_ingest = read_json(&run.join("test_ingest.json"));
    assert_eq!(
        (
            test_ingest["rows_kept"].clone(),
            test_ingest["sessions"].clone()
        ),
        (16_539.into(), 4_084.into())
    );
    assert_eq!(test_ingest["items"], 2_029);
    let split = read_json(&run.join("split.json"));
    assert_eq!(split["test"]["targets"]["test_users"], 4_084);
}
