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

/// Logs shaped unlike the expected layout get hints that lead somewhere, and times that
/// will mislead the split get warnings: a semicolon file read as commas, a date in a
/// column read as Unix seconds, a date-only time column, sequence numbers as times.
#[test]
fn misleading_shapes_get_hints_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ingest = |input: &str, extra: &[&str]| {
        let out = dir.path().join("out");
        let _ = std::fs::remove_dir_all(&out);
        let mut args = vec![
            "ingest",
            "--input",
            input,
            "--format",
            "csv",
            "--user-col",
            "user",
            "--item-col",
            "item",
            "--time-col",
            "time",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        clickrec(&args)
    };
    let semicolons = write(
        "views.csv",
        "user;item;time\n1;2;1511544070\n1;3;1511544071\n",
    );
    let run = ingest(&semicolons, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("--delimiter"), "{}", stderr(&run));

    let dates = "user,item,time\n1,2,2017-12-01\n1,3,2017-12-01\n1,4,2017-12-01\n2,2,2017-12-02\n2,5,2017-12-02\n";
    let dated = write("dated.csv", dates);
    let run = ingest(&dated, &[]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("--time-format"), "{}", stderr(&run));
    let run = ingest(&dated, &["--time-format", "%Y-%m-%d"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run)
            .contains("3 of 5 events (60%) have the same time as their user's previous event"),
        "{}",
        stderr(&run)
    );
    assert!(
        !stderr(&run).contains("rejected rows are in"),
        "{}",
        stderr(&run)
    );

    let sequence = write("sequence.csv", "user,item,time\n1,2,1\n1,3,2\n2,2,3\n");
    let run = ingest(&sequence, &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("looks like sequence numbers"),
        "{}",
        stderr(&run)
    );
}
