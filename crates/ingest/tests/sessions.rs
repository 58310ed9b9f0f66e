//! Session logs: the `sessions` preset, session-only and user + session mappings,
//! fractional times, and pre-split pairs read into one id space.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

use std::path::{Path, PathBuf};

use clickrec_core::{EventLog, IdMaps, NoProgress};
use clickrec_ingest::{
    BadRowPolicy, FormatName, IngestError, IngestOptions, InputConfig, LogFormat, RejectReason,
    TEST_FILE_EVENTS_FILE, TEST_SUMMARY_FILE, ingest_file, ingest_pair_to_dir,
};
use clickrec_io::{read_event_log, read_id_maps, read_input_events};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn ingest(path: &Path, options: &IngestOptions) -> clickrec_ingest::Ingested {
    let q = path.with_extension("quarantine.csv");
    ingest_file(path, options, &q, &NoProgress).unwrap()
}

/// (external user, external item, time) per row, in log order.
fn rows(log: &EventLog, ids: &IdMaps) -> Vec<(String, String, i64)> {
    (0..log.len())
        .map(|r| {
            (
                ids.users.external(log.users()[r]).to_owned(),
                ids.items.external(log.items()[r]).to_owned(),
                log.timestamps()[r],
            )
        })
        .collect()
}

fn given_sessions(log: &EventLog) -> Vec<u32> {
    log.given_sessions().unwrap().iter().map(|s| s.0).collect()
}

/// A session-rec file: session ids unsorted, fractional seconds, and within session 7
/// two clicks in the same second written out of sub-second order.
const SESSIONS: &str = "SessionId\tItemId\tTime
3\t214716935\t1396437466.94
3\t214832672\t1396438212.318
7\t214826835\t1396413533.9
7\t214826715\t1396413533.104
7\t214826900\t1396413533.104
7\t214826835\t1396413540
";

#[test]
fn sessions_preset_makes_each_session_a_user_and_keeps_sub_second_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "train.txt", SESSIONS);
    let got = ingest(&path, &IngestOptions::new(LogFormat::Sessions));
    assert_eq!((got.rows_read, got.log.len()), (6, 6));
    assert_eq!(got.ids.users.externals().collect::<Vec<_>>(), ["3", "7"]);
    let r = rows(&got.log, &got.ids);
    let items: Vec<&str> = r.iter().map(|(_, i, _)| i.as_str()).collect();
    // Session 7: .104 and .104 keep file order, then .9, then the next second.
    assert_eq!(
        items,
        [
            "214716935",
            "214832672",
            "214826715",
            "214826900",
            "214826835",
            "214826835"
        ]
    );
    assert_eq!(
        r[0].2, 1_396_437_466,
        "times are whole seconds, rounded down"
    );
    assert_eq!(given_sessions(&got.log), [0, 0, 1, 1, 1, 1]);
    assert!(got.log.categories().iter().all(|c| c.0 == 0));
}

#[test]
fn sessions_preset_is_a_config_format_and_takes_no_mapping() {
    let config: InputConfig = toml::from_str("path = \"x.txt\"\nformat = \"sessions\"").unwrap();
    assert_eq!(config.format, FormatName::Sessions);
    assert_eq!(config.options().unwrap().format, LogFormat::Sessions);
    let mapped = InputConfig {
        session_col: Some("SessionId".into()),
        ..config
    };
    assert_eq!(mapped.options().unwrap_err().key, "session_col");
}

#[test]
fn session_only_csv_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "log.csv",
        "sid,item,ts\ns2,a,100.5\ns1,b,50\ns2,c,100.25\ns1,a,60\n",
    );
    let config = InputConfig {
        path: path.clone(),
        format: FormatName::Csv,
        session_col: Some("sid".into()),
        item_col: Some("item".into()),
        time_col: Some("ts".into()),
        ..InputConfig::default()
    };
    let got = ingest(&path, &config.options().unwrap());
    assert_eq!(
        rows(&got.log, &got.ids),
        [
            ("s2".into(), "c".into(), 100),
            ("s2".into(), "a".into(), 100),
            ("s1".into(), "b".into(), 50),
            ("s1".into(), "a".into(), 60),
        ]
    );
    assert_eq!(given_sessions(&got.log), [0, 0, 1, 1]);
    let none = InputConfig {
        session_col: None,
        ..config
    };
    assert_eq!(none.options().unwrap_err().key, "user_col");
}

#[test]
fn user_and_session_columns_carry_the_given_sessions() {
    let dir = tempfile::tempdir().unwrap();
    // User u has sessions x and y; the file lists y's rows before x's.
    let path = write(
        dir.path(),
        "log.tsv",
        "user\tsession\titem\ttime\tkind\n\
         u\ty\ti3\t1396437500123\tview\n\
         u\tx\ti1\t1396437466940\tview\n\
         v\tz\ti1\t1396437466000\tbuy\n\
         u\tx\ti2\t1396437466100\tview\n",
    );
    let config: InputConfig = toml::from_str(&format!(
        "path = {:?}\nformat = \"csv\"\ndelimiter = \"tab\"\nuser_col = \"user\"\n\
         session_col = \"session\"\nitem_col = \"item\"\ntime_col = \"time\"\n\
         time_format = \"unix-ms\"\nbehavior_col = \"kind\"\n\
         behavior_map = {{ pv = [\"view\"], buy = [\"buy\"] }}\n",
        path.display()
    ))
    .unwrap();
    let got = ingest(&path, &config.options().unwrap());
    let r = rows(&got.log, &got.ids);
    let items: Vec<&str> = r.iter().map(|(_, i, _)| i.as_str()).collect();
    // Milliseconds order i2 (.100) before i1 (.940) within the same second.
    assert_eq!(items, ["i2", "i1", "i3", "i1"]);
    // Sessions in first-appearance order: y = 0, x = 1, z = 2.
    assert_eq!(given_sessions(&got.log), [1, 1, 0, 2]);

    // Through the run directory and back.
    let out = dir.path().join("run");
    clickrec_ingest::ingest_to_dir(&path, &config.options().unwrap(), &out, &NoProgress).unwrap();
    let (log, ids) = read_event_log(&out).unwrap();
    assert_eq!(rows(&log, &ids), r);
    assert_eq!(given_sessions(&log), [1, 1, 0, 2]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ingest.json")).unwrap()).unwrap();
    assert_eq!(summary["sessions"], 3);
    assert_eq!(summary["users"], 2);
}

#[test]
fn an_unparsable_time_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "train.txt",
        "SessionId\tItemId\tTime\n3\t1\t1396437466.94\n3\t2\t1396437466.9x\n",
    );
    let err = ingest_file(
        &path,
        &IngestOptions::new(LogFormat::Sessions),
        &dir.path().join("q"),
        &NoProgress,
    )
    .unwrap_err();
    let IngestError::BadRow {
        line,
        reason,
        ref column,
        ref value,
        ..
    } = err
    else {
        panic!("expected a bad row, got {err}");
    };
    assert_eq!(
        (line, reason, column.as_deref(), value.as_str()),
        (3, RejectReason::BadTimestamp, Some("Time"), "1396437466.9x")
    );
    let text = err.to_string();
    assert!(
        text.contains("train.txt:3: unparsable timestamp in column Time: \"1396437466.9x\""),
        "{text}"
    );

    // With skip the row is counted and quarantined, the rest kept.
    let skip = IngestOptions {
        on_bad_row: BadRowPolicy::Skip,
        ..IngestOptions::new(LogFormat::Sessions)
    };
    let got = ingest(&path, &skip);
    assert_eq!(got.log.len(), 1);
    assert_eq!(got.rejected.get(RejectReason::BadTimestamp), 1);
}

#[test]
fn a_test_file_shares_the_train_file_id_space() {
    let dir = tempfile::tempdir().unwrap();
    let train = write(dir.path(), "train.txt", SESSIONS);
    let test = write(
        dir.path(),
        "test.txt",
        "SessionId\tItemId\tTime\n\
         9\t214832672\t1396500000.5\n\
         9\t999\t1396500001\n\
         9\t214716935\t1396500000.25\n\
         x\t\t1396500002\n\
         3\t214716935\t1396500003\n",
    );
    let options = IngestOptions {
        on_bad_row: BadRowPolicy::Skip,
        ..IngestOptions::new(LogFormat::Sessions)
    };
    let out = dir.path().join("run");
    let (summary, test_summary) =
        ingest_pair_to_dir(&train, &test, &options, &out, &NoProgress).unwrap();
    assert_eq!((summary.rows_kept, summary.users, summary.items), (6, 2, 5));
    assert_eq!(
        (
            test_summary.rows_read,
            test_summary.rows_kept,
            test_summary.rows_rejected
        ),
        (5, 4, 1)
    );
    assert_eq!(test_summary.rejected_by_reason["empty_id"], 1);
    assert_eq!((test_summary.users, test_summary.items), (2, 3));
    assert_eq!(
        (test_summary.new_users, test_summary.new_items),
        (Some(1), Some(1))
    );
    assert!(out.join(TEST_SUMMARY_FILE).is_file());
    assert!(out.join("test_quarantine.csv").is_file());

    let ids = read_id_maps(&out).unwrap();
    assert_eq!(ids.users.externals().collect::<Vec<_>>(), ["3", "7", "9"]);
    assert_eq!(ids.items.len(), 6);
    let (train_log, _) = read_event_log(&out).unwrap();
    assert_eq!(train_log.len(), 6);
    let test_log = read_input_events(&out.join(TEST_FILE_EVENTS_FILE), &ids).unwrap();
    assert_eq!(
        rows(&test_log, &ids),
        [
            ("3".into(), "214716935".into(), 1_396_500_003),
            ("9".into(), "214716935".into(), 1_396_500_000),
            ("9".into(), "214832672".into(), 1_396_500_000),
            ("9".into(), "999".into(), 1_396_500_001),
        ]
    );
    assert_eq!(given_sessions(&test_log), [0, 2, 2, 2]);
}

#[test]
fn parquet_with_a_session_column_and_float_seconds() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.parquet");
    let mut frame = df!(
        "SessionId" => [5i64, 5, 6],
        "ItemId" => [10i64, 11, 10],
        "Time" => [1396437466.94f64, 1396437466.5, 1396437000.0],
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let config = InputConfig {
        path: path.clone(),
        format: FormatName::Parquet,
        session_col: Some("SessionId".into()),
        item_col: Some("ItemId".into()),
        time_col: Some("Time".into()),
        ..InputConfig::default()
    };
    let got = ingest(&path, &config.options().unwrap());
    assert_eq!(
        rows(&got.log, &got.ids),
        [
            ("5".into(), "11".into(), 1_396_437_466),
            ("5".into(), "10".into(), 1_396_437_466),
            ("6".into(), "10".into(), 1_396_437_000),
        ]
    );
    assert_eq!(given_sessions(&got.log), [0, 0, 1]);
}
