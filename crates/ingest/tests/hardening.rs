//! Hostile input (issue 28): extreme times, streams, records without an end, files cut
//! short, CR-only line ends, duplicate header names, leftover quarantine files.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

use std::io::Write;
use std::path::{Path, PathBuf};

use clickrec_core::NoProgress;
use clickrec_ingest::{
    BadRowPolicy, FormatName, IngestError, IngestOptions, Ingested, InputConfig, LogFormat,
    RejectReason, ingest_file, ingest_to_dir,
};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn taobao(policy: BadRowPolicy, max_record_bytes: usize) -> IngestOptions {
    IngestOptions {
        on_bad_row: policy,
        max_record_bytes,
        ..IngestOptions::new(LogFormat::Taobao)
    }
}

fn ingest(path: &Path, options: &IngestOptions) -> Result<Ingested, IngestError> {
    ingest_file(path, options, &path.with_extension("q.csv"), &NoProgress)
}

/// The quarantine rows of `path`'s ingestion: (line, reason, raw).
fn quarantined(path: &Path) -> Vec<(String, String, Vec<u8>)> {
    let bytes = std::fs::read(path.with_extension("q.csv")).unwrap();
    let mut rows = Vec::new();
    clickrec_io::csv_dialect::for_each_record(&bytes, b',', |fields, _, _| {
        rows.push((
            String::from_utf8_lossy(fields[0]).into_owned(),
            String::from_utf8_lossy(fields[1]).into_owned(),
            fields[4].to_vec(),
        ))
    })
    .unwrap();
    rows.remove(0);
    rows
}

/// The options of a mapped log whose columns are `u`, `i` and `t` (text ids, Unix seconds).
fn uit(path: &Path, format: FormatName, on_bad_row: BadRowPolicy) -> IngestOptions {
    InputConfig {
        path: path.to_owned(),
        format,
        on_bad_row,
        user_col: Some("u".into()),
        item_col: Some("i".into()),
        time_col: Some("t".into()),
        ..InputConfig::default()
    }
    .options()
    .unwrap()
}

const MIN: &str = "-9223372036854775808";
const MAX: &str = "9223372036854775807";

#[test]
fn extreme_timestamps_are_bad_rows_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("1,2,3,pv,1511544070\n1,2,3,pv,{MIN}\n1,2,3,pv,{MAX}\n");
    let csv = write(dir.path(), "extreme.csv", text.as_bytes());
    let err = ingest(&csv, &taobao(BadRowPolicy::Fail, 1 << 20))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("extreme.csv:2: timestamp outside the accepted range in column timestamp: \"-9223372036854775808\"")
            && err.contains("--earliest-time"),
        "{err}"
    );
    let got = ingest(&csv, &taobao(BadRowPolicy::Skip, 1 << 20)).unwrap();
    assert_eq!((got.rows_read, got.log.len()), (3, 1));
    assert_eq!(got.rejected.get(RejectReason::TimeOutOfRange), 2);
    let lines: Vec<_> = quarantined(&csv).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        lines,
        [
            ("2".into(), "time_out_of_range".into()),
            ("3".into(), "time_out_of_range".into())
        ]
    );

    // Parquet: an Int64 time column holding the extremes.
    use polars::prelude::*;
    let parquet = dir.path().join("extreme.parquet");
    let mut frame = df!(
        "u" => ["a", "b", "c"],
        "i" => ["x", "y", "z"],
        "t" => [1_511_544_070i64, i64::MIN, i64::MAX],
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&parquet).unwrap())
        .finish(&mut frame)
        .unwrap();
    let got = ingest(
        &parquet,
        &uit(&parquet, FormatName::Parquet, BadRowPolicy::Skip),
    )
    .unwrap();
    assert_eq!(got.log.len(), 1);
    assert_eq!(got.rejected.get(RejectReason::TimeOutOfRange), 2);

    let jsonl = write(
        dir.path(),
        "extreme.jsonl",
        format!(
            "{{\"u\":\"a\",\"i\":\"x\",\"t\":1511544070}}\n{{\"u\":\"b\",\"i\":\"y\",\"t\":{MIN}}}\n"
        )
        .as_bytes(),
    );
    let got = ingest(&jsonl, &uit(&jsonl, FormatName::Jsonl, BadRowPolicy::Skip)).unwrap();
    assert_eq!(got.rejected.get(RejectReason::TimeOutOfRange), 1);
}

#[test]
fn only_regular_files_are_read() {
    let options = taobao(BadRowPolicy::Fail, 1 << 20);
    let err = ingest(Path::new("/dev/zero"), &options).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::NotRegularFile {
                kind: "a character device",
                ..
            }
        ),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // Refused before opening: opening a FIFO without a writer would block forever.
    let err = ingest(&fifo, &options).unwrap_err().to_string();
    assert!(
        err.contains("is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
    let err = ingest(Path::new("-"), &options).unwrap_err();
    assert!(matches!(err, IngestError::Stdin), "{err}");
}

/// A Taobao row of `len` bytes, valid but for its length: its time has a long fraction.
fn long_row(len: usize) -> String {
    let row = "1,2,3,pv,1511544070.";
    format!("{row}{}", "0".repeat(len - row.len()))
}

#[test]
fn a_long_record_inside_a_block_is_a_bad_row_cut_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "1,2,3,pv,1511544070\n{}\n{}\n1,2,3,xx,1511544070\n",
        long_row(100),
        long_row(101)
    );
    let csv = write(dir.path(), "long.csv", text.as_bytes());
    let got = ingest(&csv, &taobao(BadRowPolicy::Skip, 100)).unwrap();
    assert_eq!((got.rows_read, got.log.len()), (4, 2));
    let rows = quarantined(&csv);
    assert_eq!(rows[0].0, "3");
    assert_eq!(rows[0].1, "record_too_long");
    assert_eq!(rows[0].2, long_row(101).as_bytes()[..100]);
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str()),
        ("4", "unknown_behavior")
    );

    let err = ingest(&csv, &taobao(BadRowPolicy::Fail, 100))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("long.csv:3: record longer than the limit: \"a record of 101 bytes, over the limit of 100\"")
            && err.contains("--max-record-bytes"),
        "{err}"
    );
}

/// Bytes per block of the reader (8 MiB): records longer than that are passed over.
const BLOCK: usize = 8 << 20;

#[test]
fn a_record_longer_than_a_block_is_passed_over_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    // Two long records: one spanning blocks and ending in the middle of a block, one
    // ending exactly at a block's last byte with the `\r` of a `\r\n`, whose `\n`
    // starts the next block.
    let first = long_row(BLOCK + 5);
    let head = format!("1,2,3,pv,1511544070\n{first}\n");
    // (Where blocks end depends on how reads fill them; `text.rs` tests the `\r\n` across
    // two reads exactly.)
    let second_len = BLOCK - 1;
    let text = format!(
        "{head}{}\r\n1,2,3,xx,1511544070\n1,2,3,pv,1511544071",
        long_row(second_len)
    );
    let csv = write(dir.path(), "huge.csv", text.as_bytes());
    let got = ingest(&csv, &taobao(BadRowPolicy::Skip, 1000)).unwrap();
    assert_eq!((got.rows_read, got.log.len()), (5, 2));
    assert_eq!(got.blank_lines, 0, "the \\n of the \\r\\n is no blank line");
    assert_eq!(got.unterminated_last_line, Some(5));
    let rows = quarantined(&csv);
    let lines: Vec<_> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
    assert_eq!(
        lines,
        [
            ("2", "record_too_long"),
            ("3", "record_too_long"),
            ("4", "unknown_behavior")
        ]
    );
    assert_eq!(rows[0].2, first.as_bytes()[..1000]);

    // Fail mode stops at the long record, naming its line and the limit.
    let err = ingest(&csv, &taobao(BadRowPolicy::Fail, 1000))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("huge.csv:2: record longer than the limit: \"a record of more than 1000 bytes, the limit\""),
        "{err}"
    );
}

#[test]
fn long_records_of_quoted_csv_jsonl_and_gzip_keep_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mapped = |path: &Path, format| IngestOptions {
        max_record_bytes: 64,
        ..uit(path, format, BadRowPolicy::Skip)
    };
    // A quoted field of many lines, longer than a block: its line ends still count.
    let field = "x\n".repeat(BLOCK / 2 + 3);
    let text = format!("u,i,t\n1,\"{field}\",1511544070\n1,2,bad\n");
    let csv = write(dir.path(), "quoted.csv", text.as_bytes());
    let got = ingest(&csv, &mapped(&csv, FormatName::Csv)).unwrap_err();
    assert!(
        matches!(got, IngestError::NoValidRows { read: 2, .. }),
        "{got}"
    );
    let lines: Vec<_> = quarantined(&csv).into_iter().map(|r| (r.0, r.1)).collect();
    let after = (BLOCK / 2 + 3 + 3).to_string();
    assert_eq!(
        lines,
        [
            ("2".to_owned(), "record_too_long".to_owned()),
            (after, "bad_timestamp".to_owned())
        ]
    );
    // Still open at the end of the file: the open-quote error names the record's line.
    let open = write(
        dir.path(),
        "open.csv",
        format!("u,i,t\n1,2,1511544070\n1,\"{field}").as_bytes(),
    );
    let err = ingest(&open, &mapped(&open, FormatName::Csv))
        .unwrap_err()
        .to_string();
    assert!(err.contains("open.csv:3: a quoted field"), "{err}");

    let long_json = format!(
        "{{\"u\":\"{}\",\"i\":\"2\",\"t\":1}}",
        "1".repeat(BLOCK + 1)
    );
    let text = format!(
        "{{\"u\":\"1\",\"i\":\"2\",\"t\":1511544070}}\n{long_json}\n{{\"u\":\"1\",\"i\":\"2\",\"t\":\"x\"}}\n"
    );
    let jsonl = write(dir.path(), "long.jsonl", text.as_bytes());
    let got = ingest(&jsonl, &mapped(&jsonl, FormatName::Jsonl)).unwrap();
    assert_eq!(got.log.len(), 1);
    let lines: Vec<_> = quarantined(&jsonl)
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    assert_eq!(
        lines,
        [
            ("2".to_owned(), "record_too_long".to_owned()),
            ("3".to_owned(), "bad_timestamp".to_owned())
        ]
    );

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let plain = format!("1,2,3,pv,1511544070\n{}\n1,2,3,pv,x\n", long_row(BLOCK * 2));
    gz.write_all(plain.as_bytes()).unwrap();
    let gzip = write(dir.path(), "long.csv.gz", &gz.finish().unwrap());
    let got = ingest(&gzip, &taobao(BadRowPolicy::Skip, 64)).unwrap();
    assert_eq!(got.log.len(), 1);
    let lines: Vec<_> = quarantined(&gzip).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        lines,
        [
            ("2".to_owned(), "record_too_long".to_owned()),
            ("3".to_owned(), "bad_timestamp".to_owned())
        ]
    );
}

#[test]
fn a_header_longer_than_the_limit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!("u,i,{}\n1,2,3\n", "t".repeat(BLOCK));
    let csv = write(dir.path(), "header.csv", text.as_bytes());
    let options = IngestOptions {
        max_record_bytes: 100,
        ..uit(&csv, FormatName::Csv, BadRowPolicy::Fail)
    };
    let err = ingest(&csv, &options).unwrap_err();
    assert!(
        matches!(err, IngestError::HeaderTooLong { limit: 100, .. }),
        "{err}"
    );
}

#[test]
fn a_last_line_without_line_end_is_reported_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    // Cut inside the last timestamp: 151154 s is still a valid time in 1970.
    let csv = write(
        dir.path(),
        "cut.csv",
        b"1,2,3,pv,1511544070\n1,3,3,pv,1511544071\n1,4,3,pv,151154",
    );
    let out = dir.path().join("run");
    let summary = ingest_to_dir(
        &csv,
        &taobao(BadRowPolicy::Fail, 1 << 20),
        &out,
        &NoProgress,
    )
    .unwrap();
    assert_eq!(summary.unterminated_last_line, Some(3));
    let json = std::fs::read_to_string(out.join("ingest.json")).unwrap();
    assert!(json.contains("\"unterminated_last_line\": 3"), "{json}");
    assert!(
        summary
            .human()
            .contains("cut.csv:3: the last line has no line end"),
        "{}",
        summary.human()
    );
    // With a plausible earliest time the cut row is a bad row like any other.
    let config = InputConfig {
        path: csv.clone(),
        earliest_time: Some("2000-01-01".into()),
        ..InputConfig::default()
    };
    let err = ingest(&csv, &config.options().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "cut.csv:3: timestamp outside the accepted range in column timestamp: \"151154\""
        ),
        "{err}"
    );
    // A file ending in a line end (`\r` alone too) has nothing to report.
    for ending in ["\n", "\r\n", "\r"] {
        let whole = write(
            dir.path(),
            "whole.csv",
            format!("1,2,3,pv,1511544070{ending}").as_bytes(),
        );
        let got = ingest(&whole, &taobao(BadRowPolicy::Fail, 1 << 20)).unwrap();
        assert_eq!(got.unterminated_last_line, None, "{ending:?}");
    }
}

#[test]
fn cr_only_lines_are_numbered_and_a_crlf_header_adds_no_blank_line() {
    let dir = tempfile::tempdir().unwrap();
    let cr = write(
        dir.path(),
        "cr.csv",
        b"1,2,3,pv,1511544070\r1,2,3,pv,1511544071\r\r1,2,3,xx,1511544072\r",
    );
    let err = ingest(&cr, &taobao(BadRowPolicy::Fail, 1 << 20))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cr.csv:4: unknown behaviour"), "{err}");
    let crlf = write(
        dir.path(),
        "crlf.csv",
        b"u,i,t\r\n1,2,1511544070\r\n1,3,1511544071\r\n",
    );
    let options = uit(&crlf, FormatName::Csv, BadRowPolicy::Fail);
    let got = ingest(&crlf, &options).unwrap();
    assert_eq!((got.rows_read, got.blank_lines), (2, 0));
}

#[test]
fn a_header_naming_a_column_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "dup.csv", b"u,i,t,x,x\n1,2,1511544070,3,4\n");
    // Refused even when the mapping does not name the duplicate.
    let err = ingest(&csv, &uit(&csv, FormatName::Csv, BadRowPolicy::Fail)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}:1: the header names column \"x\" twice (columns 3 and 4, counted from 0): a column name must be unique so that a mapping by name means one column; rename one of them",
            csv.display()
        )
    );
}

#[test]
fn no_quarantine_file_is_left_when_nothing_was_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.csv", b"1,2,3,pv,1511544070\n1,2,3,xx,1\n");
    let good = write(dir.path(), "good.csv", b"1,2,3,pv,1511544070\n");
    let out = dir.path().join("run");
    let skip = taobao(BadRowPolicy::Skip, 1 << 20);
    let summary = ingest_to_dir(&bad, &skip, &out, &NoProgress).unwrap();
    assert!(summary.quarantine.is_some() && out.join("quarantine.csv").is_file());
    // The next ingestion into the same directory rejects nothing: the old quarantine,
    // which describes another input, goes, and none is named.
    for policy in [BadRowPolicy::Skip, BadRowPolicy::Fail] {
        let summary = ingest_to_dir(&good, &taobao(policy, 1 << 20), &out, &NoProgress).unwrap();
        assert_eq!(summary.quarantine, None);
        assert!(
            !summary.human().contains("quarantine"),
            "{}",
            summary.human()
        );
        assert!(!out.join("quarantine.csv").exists(), "{policy:?}");
        ingest_to_dir(&bad, &skip, &out, &NoProgress).unwrap();
    }
    let names: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("quarantine"))
        .collect();
    assert_eq!(names, ["quarantine.csv"], "no temporary file is left");
}
