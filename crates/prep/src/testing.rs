//! Small random logs and helpers for the property tests.

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId};
use proptest::prelude::*;

/// One event as a plain tuple: (user, item, category, behaviour code, time).
pub(crate) type Row = (u32, u32, u32, u8, i64);

pub(crate) fn log_of(rows: &[Row]) -> EventLog {
    EventLog::from_columns(
        rows.iter().map(|r| UserId(r.0)).collect(),
        rows.iter().map(|r| ItemId(r.1)).collect(),
        rows.iter().map(|r| CategoryId(r.2)).collect(),
        rows.iter()
            .map(|r| Behavior::from_code(r.3).expect("codes 0..4"))
            .collect(),
        rows.iter().map(|r| r.4).collect(),
    )
    .expect("equal columns")
}

pub(crate) fn rows_of(log: &EventLog) -> Vec<Row> {
    (0..log.len())
        .map(|r| {
            (
                log.users()[r].0,
                log.items()[r].0,
                log.categories()[r].0,
                log.behaviors()[r].code(),
                log.timestamps()[r],
            )
        })
        .collect()
}

/// Random logs, already in (user, time) order as an `EventLog` keeps them. Few distinct
/// values per column, so duplicates, ties and repeats are common; `max_time` sets how
/// spread out events are.
pub(crate) fn arb_rows(max_rows: usize, max_time: i64) -> impl Strategy<Value = Vec<Row>> {
    proptest::collection::vec(
        (0u32..6, 0u32..8, 0u32..2, 0u8..4, 0i64..max_time),
        0..max_rows,
    )
    .prop_map(|rows| rows_of(&log_of(&rows)))
}

/// Runs `f` on a fresh rayon pool of `threads` threads.
pub(crate) fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}
