//! Ingestion of small files of every format and every kind of bad row.

#![allow(clippy::unwrap_used)] // tests report failures by panicking

use std::io::Write;
use std::path::{Path, PathBuf};

use clickrec_core::{Behavior, NoProgress};
use clickrec_ingest::{
    BadRowPolicy, FormatName, IngestError, IngestOptions, InputConfig, LogFormat, RejectReason,
    ingest_file, ingest_to_dir,
};
use clickrec_io::read_event_log;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn taobao(policy: BadRowPolicy) -> IngestOptions {
    IngestOptions {
        on_bad_row: policy,
        ..IngestOptions::new(LogFormat::Taobao)
    }
}

const GOOD: &str = "\
10,500,7,pv,1511544070
10,501,7,cart,1511544000
20,500,7,buy,1511544100
";

/// One bad row of each kind, between good rows. Line numbers are 1-based.
const MIXED: &[u8] = b"\
10,500,7,pv,1511544070
10,500,7,pv
,500,7,pv,1511544070
10,5x0,7,pv,1511544070
10,500,7,click,1511544070
10,500,7,pv,yesterday
10,500,7,p\xffv,1511544070
20,501,8,fav,1511544100
10,500,7,pv,1400000000
";

#[test]
fn keeps_good_rows_sorted_with_first_appearance_ids() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "log.csv", GOOD.as_bytes());
    let out = dir.path().join("run");
    let summary = ingest_to_dir(&input, &taobao(BadRowPolicy::Fail), &out, &NoProgress).unwrap();
    assert_eq!(
        (summary.rows_read, summary.rows_kept, summary.rows_rejected),
        (3, 3, 0)
    );
    assert_eq!(
        (summary.users, summary.items, summary.categories),
        (2, 2, 1)
    );
    assert_eq!(
        (
            summary.behaviors.pv,
            summary.behaviors.cart,
            summary.behaviors.buy
        ),
        (1, 1, 1)
    );
    assert!(summary.quarantine.is_none());

    let (log, ids) = read_event_log(&out).unwrap();
    assert_eq!(ids.users.externals().collect::<Vec<_>>(), ["10", "20"]);
    assert_eq!(ids.items.externals().collect::<Vec<_>>(), ["500", "501"]);
    // User 10's cart (earlier) now precedes the view.
    assert_eq!(
        log.timestamps(),
        &[1_511_544_000, 1_511_544_070, 1_511_544_100]
    );
    assert_eq!(
        log.behaviors(),
        &[Behavior::Cart, Behavior::Pv, Behavior::Buy]
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ingest.json")).unwrap()).unwrap();
    assert_eq!(json["rows_kept"], 3);
}

#[test]
fn fail_policy_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "mixed.csv", MIXED);
    let err = ingest_file(
        &input,
        &taobao(BadRowPolicy::Fail),
        &dir.path().join("q.csv"),
        &NoProgress,
    )
    .unwrap_err();
    let IngestError::BadRow { line, reason, .. } = &err else {
        panic!("expected a bad row error, got {err}");
    };
    assert_eq!((*line, *reason), (2, RejectReason::WrongFieldCount));
    let message = err.to_string();
    assert!(
        message.contains("mixed.csv:2: wrong number of fields"),
        "{message}"
    );
    assert!(message.contains("4 fields, expected 5"), "{message}");
    assert!(
        !dir.path().join("q.csv").exists(),
        "fail policy writes no quarantine"
    );

    // The first bad row past the field-count one names its column and value.
    let input = write(
        dir.path(),
        "bad_id.csv",
        b"10,500,7,pv,1511544070\n10,5x0,7,pv,1\n",
    );
    let err = ingest_file(
        &input,
        &taobao(BadRowPolicy::Fail),
        &dir.path().join("q.csv"),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bad_id.csv:2: unparsable id in column item_id: \"5x0\""),
        "{err}"
    );
}

#[test]
fn skip_policy_quarantines_exactly_the_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "mixed.csv", MIXED);
    let mut options = taobao(BadRowPolicy::Skip);
    options.window = Some(clickrec_ingest::TimeWindow {
        start: 1_500_000_000,
        end: 1_600_000_000,
    });
    let out = dir.path().join("run");
    let summary = ingest_to_dir(&input, &options, &out, &NoProgress).unwrap();
    assert_eq!(
        (summary.rows_read, summary.rows_kept, summary.rows_rejected),
        (9, 2, 7)
    );
    let expected: Vec<(&str, u64)> = vec![
        ("bad_id", 1),
        ("bad_timestamp", 1),
        ("empty_id", 1),
        ("invalid_utf8", 1),
        ("out_of_window", 1),
        ("unknown_behavior", 1),
        ("wrong_field_count", 1),
    ];
    let got: Vec<(&str, u64)> = summary
        .rejected_by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(got, expected);

    let quarantine = std::fs::read(out.join("quarantine.csv")).unwrap();
    let lines: Vec<&[u8]> = quarantine
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines[0], b"line,reason,column,value,raw");
    let numbers: Vec<String> = lines[1..]
        .iter()
        .map(|l| String::from_utf8_lossy(l.split(|&b| b == b',').next().unwrap()).into_owned())
        .collect();
    assert_eq!(numbers, ["2", "3", "4", "5", "6", "7", "9"]);
    // Raw bytes, invalid UTF-8 included, are kept verbatim.
    assert!(lines[6].ends_with(b",\"10,500,7,p\xffv,1511544070\""));
    // Fields are quoted only when they need it (one CSV rule for every file).
    assert!(String::from_utf8_lossy(lines[3]).starts_with("4,bad_id,item_id,5x0,"));

    let (log, _) = read_event_log(&out).unwrap();
    assert_eq!(log.len(), 2);
}

#[test]
fn bad_row_limits() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "mixed.csv", MIXED);
    let q = dir.path().join("q.csv");
    let mut options = taobao(BadRowPolicy::Skip);
    options.max_bad_rows = Some(clickrec_ingest::BadRowLimit::Count(3));
    let err = ingest_file(&input, &options, &q, &NoProgress).unwrap_err();
    assert!(
        matches!(err, IngestError::TooManyBadRows { rejected: 4, .. }),
        "{err}"
    );
    options.max_bad_rows = Some(clickrec_ingest::BadRowLimit::Percent(50.0));
    let err = ingest_file(&input, &options, &q, &NoProgress).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::TooManyBadRows {
                rejected: 6,
                read: 9,
                ..
            }
        ),
        "{err}"
    );
    options.max_bad_rows = Some(clickrec_ingest::BadRowLimit::Percent(80.0));
    assert!(ingest_file(&input, &options, &q, &NoProgress).is_ok());
}

#[test]
fn unusable_files_get_one_clear_error_each() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.csv");
    let rr = IngestOptions::new(LogFormat::RetailRocket);
    let cases: Vec<(PathBuf, IngestOptions, &str)> = vec![
        (
            dir.path().join("missing.csv"),
            taobao(BadRowPolicy::Fail),
            "no such file",
        ),
        (
            dir.path().to_owned(),
            taobao(BadRowPolicy::Fail),
            "is a directory",
        ),
        (
            write(dir.path(), "empty.csv", b""),
            taobao(BadRowPolicy::Fail),
            "the file is empty",
        ),
        (
            write(
                dir.path(),
                "header.csv",
                b"timestamp,visitorid,event,itemid,transactionid\n",
            ),
            rr.clone(),
            "header line but no data rows",
        ),
        (
            write(dir.path(), "other.csv", b"a,b,c\n1,2,3\n"),
            rr,
            "names column \"visitorid\" for the user id, but the file has 3 columns",
        ),
        (
            write(dir.path(), "all_bad.csv", b"x\ny\n"),
            taobao(BadRowPolicy::Skip),
            "all 2 rows were rejected",
        ),
    ];
    for (path, options, expected) in cases {
        let err = ingest_file(&path, &options, &q, &NoProgress)
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{}: {err}", path.display());
    }
}

#[test]
fn gzip_crlf_and_missing_final_newline() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"1,2,3,pv,100\r\n1,4,3,buy,200").unwrap();
    let input = write(dir.path(), "log.csv.gz", &gz.finish().unwrap());
    let got = ingest_file(
        &input,
        &taobao(BadRowPolicy::Fail),
        &dir.path().join("q"),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(got.log.len(), 2);
    assert_eq!(got.log.behaviors(), &[Behavior::Pv, Behavior::Buy]);
}

#[test]
fn retailrocket_layout() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "events.csv",
        b"timestamp,visitorid,event,itemid,transactionid\n\
          1433221332117,257597,view,355908,\n\
          1433224214164,992329,addtocart,248676,\n\
          1433221999827,257597,transaction,111016,4000\n",
    );
    let got = ingest_file(
        &input,
        &IngestOptions::new(LogFormat::RetailRocket),
        &dir.path().join("q"),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(got.log.len(), 3);
    assert_eq!(
        got.ids.users.externals().collect::<Vec<_>>(),
        ["257597", "992329"]
    );
    assert_eq!(got.log.timestamps()[0], 1_433_221_332);
    assert_eq!(got.ids.categories.externals().collect::<Vec<_>>(), [""]);
}

#[test]
fn mapped_csv_with_quotes_text_ids_and_strftime_times() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "tianchi.csv",
        b"user_id,item_id,behavior_type,user_geohash,item_category,time\n\
          98047837,232431562,1,,4245,2014-12-06 02\n\
          \"u,1\",\"item \"\"A\"\"\",4,,4245,2014-12-09 20\n\
          98047837,232431562,9,,4245,2014-12-06 02\n",
    );
    let toml_text = format!(
        r#"path = "{}"
format = "csv"
on_bad_row = "skip"
user_col = "user_id"
item_col = "item_id"
category_col = "item_category"
behavior_col = "behavior_type"
time_col = "time"
time_format = "%Y-%m-%d %H"
utc_offset = "+08:00"
behavior_map = {{ pv = ["1"], fav = ["2"], cart = ["3"], buy = ["4"] }}
"#,
        input.display()
    );
    let config: InputConfig = toml::from_str(&toml_text).unwrap();
    assert_eq!(config.format, FormatName::Csv);
    let options = config.options().unwrap();
    let got = ingest_file(&input, &options, &dir.path().join("q.csv"), &NoProgress).unwrap();
    assert_eq!(got.rows_read, 3);
    assert_eq!(got.rejected.get(RejectReason::UnknownBehavior), 1);
    assert_eq!(
        got.ids.users.externals().collect::<Vec<_>>(),
        ["98047837", "u,1"]
    );
    assert_eq!(got.ids.items.external(got.log.items()[1]), "item \"A\"");
    // 2014-12-06 02:00 at UTC+8.
    assert_eq!(got.log.timestamps()[0], 1_417_802_400);
    let q = std::fs::read_to_string(dir.path().join("q.csv")).unwrap();
    assert!(q.contains("4,unknown_behavior,behavior_type,9,"), "{q}");
}

/// A mapped CSV layout with text ids over `user,item,time` (Unix seconds).
fn text_id_options(path: &std::path::Path, on_bad_row: &str) -> clickrec_ingest::IngestOptions {
    let toml_text = format!(
        r#"path = "{}"
format = "csv"
on_bad_row = "{on_bad_row}"
user_col = "user"
item_col = "item"
time_col = "time"
ids = "text"
"#,
        path.display()
    );
    let config: InputConfig = toml::from_str(&toml_text).unwrap();
    config.options().unwrap()
}

#[test]
fn quoted_fields_may_span_lines_and_lines_count_from_the_record_start() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "multi.csv",
        b"user,item,time\n\
          \"a,b\",\"x\ny\",100\n\
          \n\
          u2,\"say \"\"hi\"\"\",101\r\n\
          \"u\n3\",i3,later\n",
    );
    let q = dir.path().join("q.csv");
    let got = ingest_file(&input, &text_id_options(&input, "skip"), &q, &NoProgress).unwrap();
    assert_eq!((got.rows_read, got.blank_lines), (3, 1));
    assert_eq!(got.ids.users.externals().collect::<Vec<_>>(), ["a,b", "u2"]);
    assert_eq!(
        got.ids.items.externals().collect::<Vec<_>>(),
        ["x\ny", "say \"hi\""]
    );
    // The bad row starts on line 6 (line 2 holds a line break inside quotes, line 4 is
    // blank); its raw bytes, line break included, read back from the quarantine.
    let quarantine = std::fs::read(&q).unwrap();
    let mut rows = Vec::new();
    clickrec_io::csv_dialect::for_each_record(&quarantine, b',', |fields, _, _| {
        rows.push(fields.iter().map(|f| f.to_vec()).collect::<Vec<_>>());
    })
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][0], b"6");
    assert_eq!(rows[1][4], b"\"u\n3\",i3,later");

    let err = ingest_file(&input, &text_id_options(&input, "fail"), &q, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.contains("multi.csv:6: unparsable timestamp"), "{err}");
}

#[test]
fn quoted_line_breaks_across_block_boundaries_keep_ids_and_line_numbers() {
    // More than one 8 MiB block, with a two-line quoted id every third row; a bad row at
    // the very end must carry its true line number.
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"user,item,time\n".to_vec();
    let (mut rows, mut lines, mut multi) = (0u64, 1u64, 0u64);
    // The reader's blocks are 8 MiB: one quoted id has its line break just before that
    // byte and its end after it, so cutting at the last line end would split it.
    let boundary = 8 << 20;
    while text.len() < 9 << 20 {
        if text.len() < boundary && text.len() + 64 >= boundary {
            let pad = "p".repeat((boundary - 9).saturating_sub(text.len()));
            text.extend_from_slice(format!("\"{pad}\nsecond, line\",i{rows},{rows}\n").as_bytes());
            lines += 2;
            multi += 1;
        } else if rows % 3 == 0 {
            text.extend_from_slice(
                format!("\"u{rows}\nsecond, line\",i{rows},{rows}\n").as_bytes(),
            );
            lines += 2;
            multi += 1;
        } else {
            text.extend_from_slice(format!("u{},i{rows},{rows}\n", rows % 5000).as_bytes());
            lines += 1;
        }
        rows += 1;
    }
    text.extend_from_slice(b"u1,i1,not-a-time\n");
    let input = write(dir.path(), "big.csv", &text);
    let q = dir.path().join("q.csv");
    let err = ingest_file(&input, &text_id_options(&input, "fail"), &q, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("big.csv:{}: unparsable timestamp", lines + 1)),
        "{err}"
    );
    let got = ingest_file(&input, &text_id_options(&input, "skip"), &q, &NoProgress).unwrap();
    assert_eq!(got.rows_read, rows + 1);
    assert_eq!(got.log.len() as u64, rows);
    let with_break = got
        .ids
        .users
        .externals()
        .filter(|u| u.ends_with("\nsecond, line"))
        .count() as u64;
    assert_eq!(with_break, multi);
}

#[test]
fn a_quote_left_open_is_an_error_naming_its_record_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "open.csv",
        b"user,item,time\nu1,i1,100\nu2,\"i2,101\nu3,i3,102\n",
    );
    let err = ingest_file(
        &input,
        &text_id_options(&input, "fail"),
        &dir.path().join("q.csv"),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(err, IngestError::OpenQuote { line: 3, .. }),
        "{err}"
    );
}

#[test]
fn parquet_input_is_validated_like_text() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.parquet");
    let mut frame = df!(
        "ts" => [100i64, 50, 70],
        "uid" => ["a", "b", ""],
        "sku" => [1i64, 2, 3],
        "act" => ["buy", "pv", "pv"],
    )
    .unwrap();
    ParquetWriter::new(std::fs::File::create(&path).unwrap())
        .finish(&mut frame)
        .unwrap();
    let config = InputConfig {
        path: path.clone(),
        format: FormatName::Parquet,
        on_bad_row: BadRowPolicy::Skip,
        user_col: Some("uid".into()),
        item_col: Some("sku".into()),
        time_col: Some("ts".into()),
        behavior_col: Some("act".into()),
        ..InputConfig::default()
    };
    let q = dir.path().join("q.csv");
    let got = ingest_file(&path, &config.options().unwrap(), &q, &NoProgress).unwrap();
    assert_eq!((got.rows_read, got.log.len()), (3, 2));
    assert_eq!(got.rejected.get(RejectReason::EmptyId), 1);
    assert_eq!(got.ids.items.externals().collect::<Vec<_>>(), ["1", "2"]);
    let q = std::fs::read_to_string(q).unwrap();
    assert!(
        q.contains("3,empty_id,uid,,\"uid=,sku=3,ts=70,act=pv\""),
        "{q}"
    );

    let missing = InputConfig {
        item_col: Some("item".into()),
        ..config
    };
    let err = ingest_file(
        &path,
        &missing.options().unwrap(),
        &dir.path().join("q2"),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("column \"item\" for the item id"), "{err}");
}

/// Many blocks: ids and order do not depend on block boundaries or thread count.
#[test]
fn large_input_is_deterministic_across_thread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for row in 0..400_000u64 {
        let user = (row * 7919) % 5_000;
        let item = (row * 104_729) % 20_000;
        text.push_str(&format!(
            "{user},{item},{},pv,{}\n",
            item % 50,
            1_511_544_000 + row % 1000
        ));
    }
    let input = write(dir.path(), "big.csv", text.as_bytes());
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                ingest_file(
                    &input,
                    &taobao(BadRowPolicy::Fail),
                    &dir.path().join("q"),
                    &NoProgress,
                )
            })
            .unwrap()
    };
    let one = run(1);
    let three = run(3);
    assert!(text.len() > 8 << 20, "the input must span several blocks");
    assert_eq!(one.log, three.log);
    assert_eq!(one.ids, three.ids);
    assert_eq!(one.log.len(), 400_000);
    assert_eq!(one.ids.users.len(), 5_000);
}

#[test]
fn a_huge_bad_value_is_cut_in_the_error_with_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "9".repeat(100_000);
    let text = format!("10,500,7,pv,1511544070\n{huge},500,7,pv,{huge}\n");
    let input = write(dir.path(), "log.csv", text.as_bytes());
    let q = dir.path().join("q.csv");
    let err = ingest_file(&input, &taobao(BadRowPolicy::Fail), &q, &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(err.len() < 600, "{} characters: {}", err.len(), &err[..600]);
    assert!(err.contains(":2: "), "{err}");
    assert!(err.contains("… (100000 characters)"), "{err}");
}
