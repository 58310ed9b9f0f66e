//! The generated SQL, read as text: which rule, weight and order each stage encodes.
//! (Its results were compared with the local engine's on `data/sample.csv`; the
//! integration test `tests/spark.rs` does so on a live cluster.)

use clickrec_prep::{PrepConfig, SplitConfig, SplitKind, SplitRule};

use super::*;

fn tables() -> Tables {
    Tables {
        prefix: "cr_x".into(),
        root: "/shared/run/".into(),
        shards: 8,
    }
}

fn prep(text: &str) -> clickrec_prep::CheckedPrep {
    toml::from_str::<PrepConfig>(text)
        .expect("prep toml")
        .check()
        .expect("valid prep")
}

fn joined(sql: &StageSql) -> String {
    sql.statements.join("\n;\n")
}

#[test]
fn tables_are_parquet_folders_partitioned_by_user_hash() {
    let t = tables();
    assert_eq!(t.location("events"), "/shared/run/events");
    assert_eq!(t.read("events"), "parquet.`/shared/run/events`");
    let [drop, create, forget] = t.create("events", true, "SELECT 1");
    assert_eq!(drop, "DROP TABLE IF EXISTS cr_x_events");
    assert!(
        create.starts_with(
            "CREATE TABLE cr_x_events USING parquet PARTITIONED BY (shard) LOCATION '/shared/run/events' AS"
        ),
        "{create}"
    );
    assert_eq!(forget, "DROP TABLE cr_x_events");
    assert_eq!(t.shard("u"), "pmod(hash(u), 8) AS shard");
    assert_eq!(literal("a'b\\c"), "'a\\'b\\\\c'");
}

#[test]
fn ingest_checks_rows_in_the_local_order_and_numbers_ids_by_first_appearance() {
    let sql = joined(&ingest_sql(
        &tables(),
        &IngestSql {
            path: "/data/log.csv".into(),
            window: Some((100, 200)),
            range: (0, 7_258_118_400),
        },
    ));
    assert!(sql.contains("monotonically_increasing_id() AS pos FROM text.`/data/log.csv`"));
    // Field count, ids, behaviour, time, window: the first failing check names the row.
    let order = [
        "'wrong_field_count'",
        "'empty_id'",
        "'bad_id'",
        "'unknown_behavior'",
        "'bad_timestamp'",
        "'time_out_of_range'",
        "'out_of_window'",
    ];
    let at: Vec<usize> = order.iter().map(|r| sql.find(r).expect(r)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
    assert!(sql.contains("NOT (tsec >= 100 AND tsec < 200)"));
    assert!(sql.contains("NOT (tsec >= 0 AND tsec < 7258118400)"));
    for column in ["user", "item", "category"] {
        assert!(
            sql.contains(&format!(
                "CAST(row_number() OVER (ORDER BY min(pos)) - 1 AS INT) AS {column}"
            )),
            "{column}"
        );
    }
    assert!(sql.contains("WHEN 'pv' THEN 0 WHEN 'fav' THEN 1 WHEN 'cart' THEN 2 ELSE 3"));
    assert!(sql.contains("PARTITIONED BY (shard) LOCATION '/shared/run/events'"));
    let bad = bad_row_sql(&tables());
    assert!(bad.contains("ORDER BY pos LIMIT 1") && bad.contains("l.pos <= first.pos"));
    assert!(quoted_lines_sql(&tables()).contains("instr(line, '\"')"));
}

#[test]
fn prep_dedups_and_sessionizes_like_the_local_engine() {
    let sql = joined(&prep_sql(&tables(), &prep("")));
    assert!(sql.contains(
        "row_number() OVER (PARTITION BY user, ts, item, category, behavior ORDER BY subsec, pos) > 1 AS exact_dup"
    ));
    assert!(sql.contains("false AS repeat"));
    assert!(sql.contains("lag(ts) OVER w <= 1800"));
    assert!(sql.contains("CAST(o.before + n.in_user - 1 AS INT) AS session"));
    assert!(!sql.contains("WHERE ts >="));
    let sql = joined(&prep_sql(
        &tables(),
        &prep(
            "[window]\nstart = 10\nend = 20\n[dedup]\nexact = false\nrepeat_window_s = 30\n[session]\ngap_s = 600\n",
        ),
    ));
    assert!(sql.contains("WHERE ts >= 10 AND ts < 20"));
    assert!(sql.contains("false AS exact_dup"));
    assert!(sql.contains(
        "coalesce(ts - lag(ts) OVER (PARTITION BY user, item, behavior ORDER BY ts, subsec, pos) <= 30, false) AS repeat"
    ));
    assert!(sql.contains("<= 600"));
    let counts = PrepCounts::sql(&tables());
    assert!(counts.contains("count_if(repeat AND NOT exact_dup) AS repeats"));
    assert!(counts.contains("sum(n) AS sessions, count_if(n > 1) AS multi_session_users"));
}

#[test]
fn learned_filters_and_unimplemented_splits_are_refused_by_key() {
    let err = check_prep(&prep("[kcore]\nmin_items_per_user = 2\n")).unwrap_err();
    assert_eq!(err.key, "prep.kcore");
    assert!(err.to_string().contains("engine.kind = \"local\""), "{err}");
    assert_eq!(
        check_prep(&prep("[min_events]\nper_user = 2\n"))
            .unwrap_err()
            .key,
        "prep.min_events"
    );
    assert!(check_prep(&prep("")).is_ok());
    let split = |c: SplitConfig| c.check().expect("valid split");
    let validation = SplitConfig {
        validation: true,
        ..SplitConfig::default()
    };
    assert!(
        check_split(&split(validation)).is_ok(),
        "validation is carved from the pulled train"
    );
    let test_file = SplitConfig {
        kind: SplitKind::TestFile,
        test_path: Some("t.csv".into()),
        ..SplitConfig::default()
    };
    assert_eq!(
        check_split(&split(test_file)).unwrap_err().key,
        "split.kind"
    );
    assert!(check_split(&split(SplitConfig::default())).is_ok());
}

#[test]
fn splits_cut_each_user_by_the_rule() {
    let sql = |rule| joined(&split_sql(&tables(), rule));
    assert!(sql(SplitRule::LastSession).contains(
        "CASE WHEN session < max(session) OVER u OR min(session) OVER u = max(session) OVER u THEN 0 ELSE 1 END"
    ));
    let cutoff = sql(SplitRule::SessionCutoff { cutoff: 500 });
    assert!(cutoff.contains("WHEN ts < 500 THEN 0"));
    assert!(
        cutoff.contains(
            "session = min(CASE WHEN session_start >= 500 THEN session END) OVER u THEN 1"
        )
    );
    assert!(cutoff.contains("ELSE 2 END"));
    assert!(sql(SplitRule::Temporal { cutoff: 7 }).contains("CASE WHEN ts < 7 THEN 0 ELSE 1 END"));
    let n = std::num::NonZeroU32::new(3).expect("3 > 0");
    assert!(sql(SplitRule::LastEvents { n }).contains("row_number() OVER o > count(*) OVER u - 3"));
    let q = session_quantile_sql(&tables(), 0.1);
    assert!(
        q.contains("k = least(floor((1D - CAST('0.1' AS DOUBLE)) * CAST(n AS DOUBLE)), n - 1)"),
        "{q}"
    );
}

#[test]
fn the_matrix_weights_decays_and_scales_train_pairs() {
    let sql = joined(&matrix_sql(&tables(), prep("").weights()));
    assert!(sql.contains(
        "CASE behavior WHEN 0 THEN CAST('1.0' AS DOUBLE) WHEN 1 THEN CAST('2.0' AS DOUBLE) WHEN 2 THEN CAST('3.0' AS DOUBLE) WHEN 3 THEN CAST('4.0' AS DOUBLE) END"
    ));
    assert!(sql.contains("CAST(sum(w) AS FLOAT) AS weight"));
    assert!(sql.contains("WHERE base > 0"));
    assert!(sql.contains("WHERE part = 0"));
    let sql = joined(&matrix_sql(
        &tables(),
        prep("[weights]\nhalf_life_s = 86400.0\nlog_scale = true\npv = 0.5\n").weights(),
    ));
    assert!(
        sql.contains("base * power(2D, -(CAST(t_ref - ts AS DOUBLE)) / CAST('86400.0' AS DOUBLE))")
    );
    assert!(sql.contains("CAST(log1p(sum(w)) AS FLOAT)"));
    assert!(sql.contains("WHEN 0 THEN CAST('0.5' AS DOUBLE)"));
}
