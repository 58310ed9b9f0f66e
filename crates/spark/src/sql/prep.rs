//! Row-level cleaning (time window, exact duplicates, page-refresh repeats) and sessions
//! by the inactivity gap, as [`clickrec_prep::prepare`] does them.

use clickrec_prep::CheckedPrep;

use super::{StageSql, Tables, Unsupported, unsupported};

/// The order of a user's events: time, sub-second time, file order.
pub(crate) const EVENT_ORDER: &str = "ts, subsec, pos";

/// Refuses the `[prep]` steps the Spark SQL does not implement: the filters learned on
/// train (outlier users, min events, k-core).
pub fn check_prep(prep: &CheckedPrep) -> Result<(), Unsupported> {
    if prep.outlier_users().is_some() {
        return Err(unsupported(
            "prep.outlier_users",
            "(set)",
            "the outlier-user filter is not implemented",
        ));
    }
    if prep.min_events().is_some() {
        return Err(unsupported(
            "prep.min_events",
            "(set)",
            "the min-events filter is not implemented",
        ));
    }
    if prep.kcore().is_some() {
        return Err(unsupported(
            "prep.kcore",
            "(set)",
            "the iterative k-core filter is not implemented",
        ));
    }
    Ok(())
}

/// Sizes for `prep.json`, one row from [`PrepCounts::sql`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrepCounts;

impl PrepCounts {
    /// One row: `rows_in, users_in, items_in` (the ingested events), `rows_window,
    /// users_window, items_window` (after the time window), `exact_duplicates, repeats`,
    /// `rows_out, users_out, items_out` (after dedup), `sessions, multi_session_users`.
    pub fn sql(tables: &Tables) -> String {
        let flags = tables.name("flags");
        let events = tables.read("events");
        let prepared = tables.read("prepared");
        format!(
            "SELECT i.*, f.*, s.* FROM\n\
             (SELECT count(*) AS rows_in, count(DISTINCT user) AS users_in, count(DISTINCT item) AS items_in FROM {events}) i\n\
             CROSS JOIN (SELECT count(*) AS rows_window, count(DISTINCT user) AS users_window,\n\
             \x20 count(DISTINCT item) AS items_window,\n\
             \x20 count_if(exact_dup) AS exact_duplicates, count_if(repeat AND NOT exact_dup) AS repeats,\n\
             \x20 count_if(NOT exact_dup AND NOT repeat) AS rows_out,\n\
             \x20 count(DISTINCT CASE WHEN NOT exact_dup AND NOT repeat THEN user END) AS users_out,\n\
             \x20 count(DISTINCT CASE WHEN NOT exact_dup AND NOT repeat THEN item END) AS items_out FROM {flags}) f\n\
             CROSS JOIN (SELECT sum(n) AS sessions, count_if(n > 1) AS multi_session_users\n\
             \x20 FROM (SELECT user, count(DISTINCT session) AS n FROM {prepared} GROUP BY user)) s"
        )
    }
}

/// The statements that make `flags` (the events inside the window, each with
/// `exact_dup` and `repeat`) and the table `prepared`: the kept events with their
/// `session`, numbered over the whole log in (user, time) order as the local engine
/// numbers them.
pub fn prep_sql(tables: &Tables, prep: &CheckedPrep) -> StageSql {
    let events = tables.read("events");
    let flags = tables.name("flags");
    let window = match prep.window() {
        Some(w) => format!("WHERE ts >= {} AND ts < {}", w.start(), w.end()),
        None => String::new(),
    };
    let (exact, repeat) = match prep.dedup() {
        Some(d) => (
            if d.exact {
                "row_number() OVER (PARTITION BY user, ts, item, category, behavior ORDER BY subsec, pos) > 1"
                    .to_owned()
            } else {
                "false".to_owned()
            },
            if d.repeat_window_s > 0 {
                format!(
                    "coalesce(ts - lag(ts) OVER (PARTITION BY user, item, behavior ORDER BY {EVENT_ORDER}) <= {}, false)",
                    d.repeat_window_s
                )
            } else {
                "false".to_owned()
            },
        ),
        None => ("false".to_owned(), "false".to_owned()),
    };
    let gap = prep.session_gap_s().get();
    let mut statements = vec![format!(
        "CREATE OR REPLACE TEMPORARY VIEW {flags} AS\n\
         SELECT *, {exact} AS exact_dup, {repeat} AS repeat FROM {events} {window}"
    )];
    statements.extend(tables.create(
        "prepared",
        true,
        &format!(
            "WITH k AS (\n\
             \x20 SELECT user, item, category, behavior, ts, subsec, pos FROM {flags} WHERE NOT exact_dup AND NOT repeat\n\
             ), s AS (\n\
             \x20 SELECT *, CASE WHEN coalesce(ts - lag(ts) OVER w <= {gap}, false) THEN 0 ELSE 1 END AS starts\n\
             \x20 FROM k WINDOW w AS (PARTITION BY user ORDER BY {EVENT_ORDER})\n\
             ), n AS (\n\
             \x20 SELECT *, sum(starts) OVER (PARTITION BY user ORDER BY {EVENT_ORDER} ROWS UNBOUNDED PRECEDING) AS in_user FROM s\n\
             ), o AS (\n\
             \x20 SELECT user, coalesce(sum(max(in_user)) OVER (ORDER BY user ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before\n\
             \x20 FROM n GROUP BY user\n\
             )\n\
             SELECT n.user, item, category, behavior, ts, subsec, pos,\n\
             \x20 CAST(o.before + n.in_user - 1 AS INT) AS session, {shard}\n\
             FROM n JOIN o ON n.user = o.user",
            shard = tables.shard("n.user"),
        ),
    ));
    StageSql { statements }
}
