//! The cut of each user's events into train, test and unused, as
//! [`clickrec_prep::split`] cuts them. The filters learned on train, the leakage guard
//! and the test set run on the pulled parts (see the engine).

use clickrec_prep::{CheckedSplit, SplitRule, SplitSpec};

use super::prep::EVENT_ORDER;
use super::{StageSql, Tables, Unsupported, unsupported};

/// `part` of a row of the `split` table.
pub const TRAIN: i8 = 0;
/// `part` of a held-out row.
pub const TEST: i8 = 1;
/// `part` of a row neither trained on nor held out.
pub const UNUSED: i8 = 2;

/// Refuses the split options the Spark SQL does not implement.
pub fn check_split(split: &CheckedSplit) -> Result<(), Unsupported> {
    if split.rule() == SplitSpec::Rule(SplitRule::TestFile) {
        return Err(unsupported(
            "split.kind",
            "\"test_file\"",
            "a pre-split pair is not implemented",
        ));
    }
    if let SplitSpec::Rule(SplitRule::Random { .. }) = split.rule() {
        return Err(unsupported(
            "split.kind",
            "\"random\"",
            "the random split is not implemented",
        ));
    }
    Ok(())
}

/// One row, `cutoff`: the start time before which `1 − test_fraction` of the sessions
/// start (sorted session starts, index ⌊(1 − f)·n⌋, at most n − 1), as the local engine
/// places it; no row when there are no sessions.
pub fn session_quantile_sql(tables: &Tables, test_fraction: f64) -> String {
    let prepared = tables.read("prepared");
    format!(
        "SELECT ts AS cutoff FROM (\n\
         \x20 SELECT ts, row_number() OVER (ORDER BY ts) - 1 AS k, count(*) OVER () AS n\n\
         \x20 FROM (SELECT min(ts) AS ts FROM {prepared} GROUP BY session)\n\
         ) WHERE k = least(floor((1D - CAST('{test_fraction:?}' AS DOUBLE)) * CAST(n AS DOUBLE)), n - 1)"
    )
}

/// The statements that make the table `split`: every prepared event with `part`
/// ([`TRAIN`], [`TEST`] or [`UNUSED`]) by the rule (a session fraction is first turned
/// into its cutoff with [`session_quantile_sql`]).
pub fn split_sql(tables: &Tables, rule: SplitRule) -> StageSql {
    let prepared = tables.read("prepared");
    let part = match rule {
        SplitRule::LastSession => format!(
            "CASE WHEN session < max(session) OVER u OR min(session) OVER u = max(session) OVER u THEN {TRAIN} ELSE {TEST} END"
        ),
        SplitRule::Temporal { cutoff } => {
            format!("CASE WHEN ts < {cutoff} THEN {TRAIN} ELSE {TEST} END")
        }
        SplitRule::LastEvents { n } => format!(
            "CASE WHEN count(*) OVER u > {n} AND row_number() OVER o > count(*) OVER u - {n} THEN {TEST} ELSE {TRAIN} END"
        ),
        SplitRule::SessionCutoff { cutoff } => format!(
            "CASE WHEN ts < {cutoff} THEN {TRAIN}\n\
             \x20 WHEN session = min(CASE WHEN session_start >= {cutoff} THEN session END) OVER u THEN {TEST}\n\
             \x20 ELSE {UNUSED} END"
        ),
        // `check_split` turns them away before any SQL is made.
        SplitRule::TestFile | SplitRule::Random { .. } => format!("{UNUSED}"),
    };
    let select = format!(
        "SELECT user, item, category, behavior, ts, subsec, pos, session,\n\
         \x20 CAST({part} AS TINYINT) AS part, shard\n\
         FROM (SELECT *, min(ts) OVER (PARTITION BY session) AS session_start FROM {prepared})\n\
         WINDOW u AS (PARTITION BY user), o AS (PARTITION BY user ORDER BY {EVENT_ORDER})"
    );
    StageSql {
        statements: tables.create("split", true, &select).to_vec(),
    }
}
