//! `clickrec ingest` end to end: the shipped sample, bad rows, exit codes, real data.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use common::{clickrec, root, shared_data, stderr, stdout};

fn summary_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(output)).expect("--json prints the summary on stdout")
}

#[test]
fn ingests_the_shipped_sample() {
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let output = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        out_dir,
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary_of(&output);
    let lines = std::fs::read_to_string(root().join("data/sample.csv"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(summary["rows_read"], lines);
    assert_eq!(summary["rows_kept"], lines);
    assert_eq!(summary["rows_rejected"], 0);
    for artifact in [
        "events.parquet",
        "users.parquet",
        "items.parquet",
        "categories.parquet",
        "ingest.json",
    ] {
        assert!(out.path().join(artifact).exists(), "{artifact} written");
    }
    assert!(
        stderr(&output).contains("rows read"),
        "human summary on stderr"
    );
}

#[test]
fn bad_rows_fail_by_default_and_are_quarantined_on_skip() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    std::fs::write(
        &input,
        "1,2,3,pv,1511544070\n1,2,3,view,1511544071\n1,2,3,pv,1511544072\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();

    let failed = clickrec(&["ingest", "--input", input, "--out", out]);
    assert_eq!(failed.status.code(), Some(1));
    let message = stderr(&failed);
    assert!(
        message.contains("bad.csv:2: unknown behaviour value in column behavior_type: \"view\""),
        "{message}"
    );

    let skipped = clickrec(&[
        "ingest",
        "--input",
        input,
        "--out",
        out,
        "--on-bad-row",
        "skip",
        "--json",
    ]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    let summary = summary_of(&skipped);
    assert_eq!(summary["rows_kept"], 2);
    assert_eq!(summary["rejected_by_reason"]["unknown_behavior"], 1);
    let quarantine = std::fs::read_to_string(dir.path().join("run/quarantine.csv")).unwrap();
    assert_eq!(quarantine.lines().count(), 2, "{quarantine}");
}

#[test]
fn exit_codes_tell_usage_from_data_errors() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    let missing = clickrec(&["ingest", "--input", "no/such.csv", "--out", out]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no/such.csv: no such file"),
        "{}",
        stderr(&missing)
    );

    let limit_without_skip = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        out,
        "--max-bad-rows",
        "5",
    ]);
    assert_eq!(limit_without_skip.status.code(), Some(2));
    assert!(stderr(&limit_without_skip).contains("max_bad_rows"));

    let unknown_flag = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        out,
        "--colour",
    ]);
    assert_eq!(unknown_flag.status.code(), Some(2));

    let mapping_on_taobao = clickrec(&[
        "ingest",
        "--input",
        "data/sample.csv",
        "--out",
        out,
        "--user-col",
        "u",
    ]);
    assert_eq!(mapping_on_taobao.status.code(), Some(2));
}

#[test]
fn help_shows_examples() {
    let help = clickrec(&["ingest", "--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    assert!(
        text.contains("Examples:") && text.contains("--on-bad-row"),
        "{text}"
    );
}

/// The real Taobao head sample (815 users), when `../shared/data` is present.
#[test]
fn real_taobao_head_sample() {
    let Some(input) = shared_data("taobao-userbehavior-users-head/UserBehavior_head.csv") else {
        return;
    };
    let input = input.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();

    let all = clickrec(&["ingest", "--input", input, "--out", out, "--json"]);
    assert!(all.status.success(), "{}", stderr(&all));
    let summary = summary_of(&all);
    assert_eq!(summary["rows_read"], 84_474);
    assert_eq!(summary["users"], 815);
    assert_eq!(summary["items"], 55_367);
    assert_eq!(summary["categories"], 2_914);

    let windowed = clickrec(&[
        "ingest",
        "--input",
        input,
        "--out",
        out,
        "--json",
        "--on-bad-row",
        "skip",
        "--window-start",
        "2017-11-25",
        "--window-end",
        "2017-12-03",
        "--utc-offset",
        "+08:00",
    ]);
    assert!(windowed.status.success(), "{}", stderr(&windowed));
    let summary = summary_of(&windowed);
    assert_eq!(summary["rows_rejected"], 35);
    assert_eq!(summary["rejected_by_reason"]["out_of_window"], 35);
    assert_eq!(summary["rows_kept"], 84_474 - 35);
}
