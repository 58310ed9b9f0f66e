//! `clickrec ingest` on hostile input (issue 28): extreme times, streams and records
//! without an end, files cut short, CR-only line ends, duplicate header names, bad
//! time patterns, and no quarantine talk when nothing was rejected.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

mod common;

use std::path::Path;

use common::{clickrec, read_json, stderr, stdout};

/// `clickrec ingest --input INPUT --out DIR/run EXTRA…`.
fn ingest(input: &Path, dir: &Path, extra: &[&str]) -> std::process::Output {
    let out = dir.join("run");
    let mut args = vec![
        "ingest",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    clickrec(&args)
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn extreme_timestamps_are_bad_rows_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let input = file(
        dir.path(),
        "extreme.csv",
        b"1,2,3,pv,1511544070\n1,2,3,pv,-9223372036854775808\n1,2,3,pv,9223372036854775807\n",
    );
    let failed = ingest(&input, dir.path(), &[]);
    assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
    let message = stderr(&failed);
    assert!(
        message.contains(
            "extreme.csv:2: timestamp outside the accepted range in column timestamp: \"-9223372036854775808\" (accepted times are --earliest-time to --latest-time"
        ),
        "{message}"
    );

    let skipped = ingest(&input, dir.path(), &["--on-bad-row", "skip", "--json"]);
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&skipped)).unwrap();
    assert_eq!(summary["rows_kept"], 1);
    assert_eq!(summary["rejected_by_reason"]["time_out_of_range"], 2);
    let quarantine = std::fs::read_to_string(dir.path().join("run/quarantine.csv")).unwrap();
    assert!(
        quarantine.contains("3,time_out_of_range,timestamp,9223372036854775807,"),
        "{quarantine}"
    );

    // The bounds move; a range that is empty or beyond year 9999 is a usage error.
    let moved = ingest(
        &input,
        dir.path(),
        &["--on-bad-row", "skip", "--latest-time", "2017-11-01"],
    );
    assert!(!moved.status.success());
    assert!(
        stderr(&moved).contains("all 3 rows were rejected"),
        "{}",
        stderr(&moved)
    );
    for bounds in [
        [
            "--earliest-time",
            "2030-01-01",
            "--latest-time",
            "2020-01-01",
        ],
        [
            "--earliest-time",
            "-9223372036854775808",
            "--latest-time",
            "2020-01-01",
        ],
    ] {
        let refused = ingest(&input, dir.path(), &bounds);
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    }
}

#[test]
fn streams_and_devices_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let zero = ingest(Path::new("/dev/zero"), dir.path(), &[]);
    assert_eq!(zero.status.code(), Some(1));
    assert!(
        stderr(&zero).contains("/dev/zero: is a character device, not a regular file"),
        "{}",
        stderr(&zero)
    );
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Nobody writes to the FIFO: reading it would block forever.
    let piped = ingest(&fifo, dir.path(), &[]);
    assert_eq!(piped.status.code(), Some(1));
    assert!(
        stderr(&piped).contains("is a FIFO (named pipe)"),
        "{}",
        stderr(&piped)
    );
    let stdin = ingest(Path::new("-"), dir.path(), &[]);
    assert_eq!(stdin.status.code(), Some(1));
    assert!(
        stderr(&stdin).contains("standard input is not supported"),
        "{}",
        stderr(&stdin)
    );
}

#[test]
fn records_longer_than_the_limit_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!("1,2,3,pv,1511544070.{}", "0".repeat(200));
    let input = file(
        dir.path(),
        "long.csv",
        format!("1,2,3,pv,1511544070\n{long}\n1,2,3,xx,1511544071\n").as_bytes(),
    );
    let limit = ["--max-record-bytes", "100"];
    let failed = ingest(&input, dir.path(), &limit);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains(
            "long.csv:2: record longer than the limit: \"a record of 220 bytes, over the limit of 100\" (a record may hold at most --max-record-bytes"
        ),
        "{}",
        stderr(&failed)
    );
    let skipped = ingest(
        &input,
        dir.path(),
        &[&limit[..], &["--on-bad-row", "skip", "--json"]].concat(),
    );
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&skipped)).unwrap();
    assert_eq!(summary["rejected_by_reason"]["record_too_long"], 1);
    assert_eq!(summary["rejected_by_reason"]["unknown_behavior"], 1);
    let quarantine = std::fs::read_to_string(dir.path().join("run/quarantine.csv")).unwrap();
    // The first 100 bytes of the record are kept.
    assert!(
        quarantine.contains(&format!(
            "\n2,record_too_long,,\"a record of 220 bytes, over the limit of 100\",\"{}\"\n",
            &long[..100]
        )),
        "{quarantine}"
    );
    // The default limit (1 MiB) keeps the row.
    assert!(
        ingest(&input, dir.path(), &["--on-bad-row", "skip"])
            .status
            .success()
    );
    let zero = ingest(&input, dir.path(), &["--max-record-bytes", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        stderr(&zero).contains("max_record_bytes"),
        "{}",
        stderr(&zero)
    );
}

#[test]
fn a_file_cut_inside_its_last_line_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // The issue's case: cut inside the last timestamp, which still reads as 1970.
    let input = file(
        dir.path(),
        "cut.csv",
        b"1,2,3,pv,1511544070\n1,3,3,pv,1511544071\n1,4,3,pv,151154",
    );
    let kept = ingest(&input, dir.path(), &["--json"]);
    assert!(kept.status.success(), "{}", stderr(&kept));
    assert!(
        stderr(&kept).contains("cut.csv:3: the last line has no line end"),
        "{}",
        stderr(&kept)
    );
    let summary = read_json(&dir.path().join("run/ingest.json"));
    assert_eq!(summary["unterminated_last_line"], 3);
    // With a plausible earliest time it is a bad row like any other.
    let failed = ingest(&input, dir.path(), &["--earliest-time", "2000-01-01"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("cut.csv:3: timestamp outside the accepted range"),
        "{}",
        stderr(&failed)
    );
    // A whole file says nothing of it.
    let whole = file(dir.path(), "whole.csv", b"1,2,3,pv,1511544070\n");
    let fine = ingest(&whole, dir.path(), &[]);
    assert!(!stderr(&fine).contains("line end"), "{}", stderr(&fine));
    assert!(
        read_json(&dir.path().join("run/ingest.json"))
            .get("unterminated_last_line")
            .is_none()
    );
}

#[test]
fn cr_only_lines_count_and_a_crlf_header_adds_no_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let cr = file(
        dir.path(),
        "cr.csv",
        b"1,2,3,pv,1511544070\r1,2,3,pv,1511544071\r1,2,3,view,1511544072\r",
    );
    let failed = ingest(&cr, dir.path(), &[]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed)
            .contains("cr.csv:3: unknown behaviour value in column behavior_type: \"view\""),
        "{}",
        stderr(&failed)
    );
    let crlf = file(
        dir.path(),
        "crlf.csv",
        b"user,item,time\r\n1,2,1511544070\r\n1,3,1511544071\r\n",
    );
    let mapped = [
        "--format",
        "csv",
        "--user-col",
        "user",
        "--item-col",
        "item",
        "--time-col",
        "time",
    ];
    let ok = ingest(&crlf, dir.path(), &mapped);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let summary = read_json(&dir.path().join("run/ingest.json"));
    assert_eq!(summary["rows_read"], 2);
    assert!(summary.get("blank_lines").is_none(), "{summary}");
    assert!(!stderr(&ok).contains("blank line"), "{}", stderr(&ok));
}

#[test]
fn smaller_mistakes_get_their_own_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dup = file(
        dir.path(),
        "dup.csv",
        b"uid,sku,time,sku\n1,2,1511544070,3\n",
    );
    let mapped = ["--format", "csv", "--user-col", "uid", "--item-col", "sku"];
    let refused = ingest(&dup, dir.path(), &mapped);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused)
            .contains("dup.csv:1: the header names column \"sku\" twice (columns 1 and 3"),
        "{}",
        stderr(&refused)
    );

    let good = file(dir.path(), "good.csv", b"uid,sku,time\n1,2,1511544070\n");
    let pattern = ingest(
        &good,
        dir.path(),
        &[&mapped[..], &["--time-col", "time", "--time-format", "%Q%"]].concat(),
    );
    assert_eq!(pattern.status.code(), Some(2), "{}", stderr(&pattern));
    assert!(
        stderr(&pattern).contains("time_format: \"%Q%\" is not a valid strftime pattern"),
        "{}",
        stderr(&pattern)
    );
    let one_column = ingest(
        &good,
        dir.path(),
        &["--format", "csv", "--user-col", "uid", "--item-col", "uid"],
    );
    assert_eq!(one_column.status.code(), Some(2), "{}", stderr(&one_column));
    assert!(stderr(&one_column).contains("which user_col already maps"));

    // Skip mode without a bad row: no quarantine file, and no word of one.
    let clean = ingest(
        Path::new("data/sample.csv"),
        dir.path(),
        &["--on-bad-row", "skip"],
    );
    assert!(clean.status.success(), "{}", stderr(&clean));
    assert!(!stderr(&clean).contains("quarantine"), "{}", stderr(&clean));
    assert!(!dir.path().join("run/quarantine.csv").exists());
    assert!(read_json(&dir.path().join("run/ingest.json"))["quarantine"].is_null());
}
