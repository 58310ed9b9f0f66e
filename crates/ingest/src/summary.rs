//! `ingest.json`: what ingestion read, kept and rejected.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clickrec_core::BehaviorCounts;
use serde::{Deserialize, Serialize};

use clickrec_core::{DenseId, IdMaps};

use crate::assemble::Ingested;
use crate::options::{IngestOptions, TimeWindow};

/// Row accounting and shape of an ingested log; `rows_read = rows_kept + rows_rejected`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngestSummary {
    pub input: String,
    pub format: String,
    pub input_bytes: u64,
    pub rows_read: u64,
    pub rows_kept: u64,
    pub rows_rejected: u64,
    /// Blank lines of a text input: no record by the CSV dialect, so not rows; counted
    /// here so that none goes unreported (omitted when there are none).
    #[serde(skip_serializing_if = "is_zero", default)]
    pub blank_lines: u64,
    /// The number of the input's last line when the file ends without a line end (a file
    /// cut short looks so); its row was validated like any other. Omitted otherwise.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unterminated_last_line: Option<u64>,
    /// Rejected rows by reason key (`wrong_field_count`, `out_of_window`, …); zero counts omitted.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// The quarantine file holding every rejected row (with `--on-bad-row skip`).
    pub quarantine: Option<String>,
    /// Distinct users of the kept rows (for a session-only log: its sessions).
    pub users: usize,
    pub items: usize,
    pub categories: usize,
    /// Distinct sessions named by the input, when it has a session column.
    pub sessions: Option<usize>,
    /// Test file of a pre-split pair: its users and items that the train file lacks.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_users: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub new_items: Option<usize>,
    pub behaviors: BehaviorCounts,
    /// `None` also when the log has no time column.
    pub time_span: Option<TimeSpan>,
    /// The layout has no time column: every event has time 0 and keeps its file order,
    /// so only `[split] kind = "random"` can evaluate it.
    #[serde(skip_serializing_if = "is_false", default)]
    pub no_time_column: bool,
    /// The layout's weight column, when it has one (every kept event carries its value).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub weight_column: Option<String>,
    /// Kept events whose user id was null (one of the layout's `null_values`): each of
    /// their sessions became its own user, `session:<id>`. Omitted when none.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub anonymous_rows: u64,
    /// Kept events with the same time as their user's previous event: their order is the
    /// file's (a date-only time column makes most of them so). Omitted when none.
    #[serde(skip_serializing_if = "is_zero", default)]
    pub tied_times: u64,
    pub window: Option<TimeWindow>,
    /// Wall time of reading, validating and writing.
    pub seconds: f64,
}

/// First and last event time, as Unix seconds and as UTC text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSpan {
    pub first: i64,
    pub last: i64,
    pub first_utc: String,
    pub last_utc: String,
}

pub use clickrec_core::utc_text;

impl IngestSummary {
    /// `known`: the id maps of the train file when `ingested` is the test file of a pair
    /// (its ids extend them).
    pub(crate) fn new(
        input: &std::path::Path,
        options: &IngestOptions,
        input_bytes: u64,
        ingested: &Ingested,
        known: Option<&IdMaps>,
    ) -> Self {
        let log = &ingested.log;
        let users = distinct(log.users(), ingested.ids.users.len());
        let columns = options.format.layout().columns;
        let items = distinct(log.items(), ingested.ids.items.len());
        IngestSummary {
            input: input.display().to_string(),
            format: options.format.name().to_owned(),
            input_bytes,
            rows_read: ingested.rows_read,
            rows_kept: log.len() as u64,
            rows_rejected: ingested.rejected.total(),
            blank_lines: ingested.blank_lines,
            unterminated_last_line: ingested.unterminated_last_line,
            rejected_by_reason: ingested.rejected.by_key(),
            quarantine: ingested
                .quarantine
                .as_ref()
                .map(|p| p.display().to_string()),
            users,
            items,
            categories: distinct(log.categories(), ingested.ids.categories.len()),
            sessions: log
                .given_sessions()
                .map(|s| distinct(s, s.iter().map(|s| s.0 as usize + 1).max().unwrap_or(0))),
            new_users: known.map(|k| {
                users - distinct_below(log.users(), ingested.ids.users.len(), k.users.len())
            }),
            new_items: known.map(|k| {
                items - distinct_below(log.items(), ingested.ids.items.len(), k.items.len())
            }),
            behaviors: BehaviorCounts::of(log.behaviors()),
            no_time_column: columns.time.is_none(),
            weight_column: columns.weight.map(|c| c.to_string()),
            anonymous_rows: ingested.anonymous_rows,
            time_span: log
                .time_span()
                .filter(|_| columns.time.is_some())
                .map(|(first, last)| TimeSpan {
                    first,
                    last,
                    first_utc: utc_text(first),
                    last_utc: utc_text(last),
                }),
            tied_times: if columns.time.is_some() {
                tied_times(log)
            } else {
                0
            },
            window: options.window,
            seconds: 0.0,
        }
    }

    /// What may make the log's times mislead the split, in words: times that all fall
    /// within the first year of Unix time (sequence numbers, or seconds read as the wrong
    /// unit), and many events tied in time with their user's previous one.
    pub fn time_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(t) = &self.time_span
            && t.last < FIRST_YEAR_S
        {
            out.push(format!(
                "every event time is before {}: the time column looks like sequence numbers or another unit (see --time-format); splits and their leakage measure assume real times",
                utc_text(FIRST_YEAR_S)
            ));
        }
        if self.rows_kept > 0 && self.tied_times * 4 > self.rows_kept {
            out.push(format!(
                "{} of {} events ({:.0}%) have the same time as their user's previous event (a date-only time column?): within a session they keep the file's order",
                self.tied_times,
                self.rows_kept,
                100.0 * self.tied_times as f64 / self.rows_kept as f64
            ));
        }
        out
    }

    /// A few lines for people, printed on stderr.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let rate = self.rows_read as f64 / self.seconds.max(1e-9);
        let _ = writeln!(
            s,
            "ingested {} ({}): {} rows read, {} kept, {} rejected in {:.2} s ({:.2} M rows/s)",
            self.input,
            self.format,
            self.rows_read,
            self.rows_kept,
            self.rows_rejected,
            self.seconds,
            rate / 1e6
        );
        if self.blank_lines > 0 {
            let _ = writeln!(s, "  skipped {} blank lines", self.blank_lines);
        }
        for (reason, n) in &self.rejected_by_reason {
            let _ = writeln!(s, "  rejected {reason}: {n}");
        }
        if let Some(q) = &self.quarantine
            && self.rows_rejected > 0
        {
            let _ = writeln!(s, "  rejected rows are in {q}");
        }
        let b = &self.behaviors;
        let sessions = self
            .sessions
            .map(|n| format!("{n} given sessions, "))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "  {} users, {sessions}{} items, {} categories; pv {} / fav {} / cart {} / buy {}",
            self.users, self.items, self.categories, b.pv, b.fav, b.cart, b.buy
        );
        if let (Some(users), Some(items)) = (self.new_users, self.new_items) {
            let _ = writeln!(s, "  not in the train file: {users} users, {items} items");
        }
        if let Some(t) = &self.time_span {
            let _ = writeln!(s, "  events from {} to {}", t.first_utc, t.last_utc);
        }
        if self.no_time_column {
            let _ = writeln!(
                s,
                "  no time column: events keep the file's order; evaluate with [split] kind = \"random\""
            );
        }
        if let Some(w) = &self.weight_column {
            let _ = writeln!(
                s,
                "  each event's weight ({w}) multiplies its behaviour weight"
            );
        }
        if self.anonymous_rows > 0 {
            let _ = writeln!(
                s,
                "  {} events have no user id (a null value): each of their sessions is its own user, named session:<id>",
                self.anonymous_rows
            );
        }
        for w in self.time_warnings() {
            let _ = writeln!(s, "warning: {w}");
        }
        if let Some(line) = self.unterminated_last_line {
            let _ = writeln!(
                s,
                "warning: {}:{line}: the last line has no line end: was the file cut short? its row was checked like any other, but a value cut inside can still be valid (a shorter id or time)",
                self.input
            );
        }
        s
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !b
}

/// One year after the Unix epoch: a log whose every time is earlier has no real times.
const FIRST_YEAR_S: i64 = 365 * 86_400;

/// Events with the same user and time as the event before them (the log is sorted by
/// user, then time).
fn tied_times(log: &clickrec_core::EventLog) -> u64 {
    let (users, times) = (log.users(), log.timestamps());
    (1..log.len())
        .filter(|&i| users[i] == users[i - 1] && times[i] == times[i - 1])
        .count() as u64
}

/// Number of distinct ids in `ids`, all below `space`.
fn distinct<Id: DenseId>(ids: &[Id], space: usize) -> usize {
    distinct_below(ids, space, space)
}

/// Number of distinct ids in `ids` (all below `space`) whose index is below `bound`.
fn distinct_below<Id: DenseId>(ids: &[Id], space: usize, bound: usize) -> usize {
    let mut seen = vec![false; space];
    let mut count = 0;
    for id in ids {
        let i = id.index() as usize;
        if i < bound && !seen[i] {
            seen[i] = true;
            count += 1;
        }
    }
    count
}
