//! What each step did, for the run manifest and the command line.

use std::fmt;

use clickrec_core::EventLog;
use serde::Serialize;

use crate::rows::{Bitset, count_users, item_space};

/// Size of a log: events, distinct users, distinct items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogStats {
    pub rows: u64,
    pub users: u64,
    pub items: u64,
}

impl LogStats {
    /// Counts a log in one pass (users from the sorted user column, items with a bitmap).
    pub fn of(log: &EventLog) -> Self {
        let users = count_users(log.users()) as u64;
        let mut seen = Bitset::new(item_space(log));
        let mut items = 0u64;
        for item in log.items() {
            let i = item.0 as usize;
            if !seen.contains(i) {
                seen.insert(i);
                items += 1;
            }
        }
        LogStats {
            rows: log.len() as u64,
            users,
            items,
        }
    }
}

/// One preprocessing step: sizes before and after, and what it found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StepReport {
    /// `time_window`, `dedup`, `outlier_users`, `min_events`, `kcore` or `sessions`.
    pub step: &'static str,
    pub rows_in: u64,
    pub rows_out: u64,
    pub users_in: u64,
    pub users_out: u64,
    pub items_in: u64,
    pub items_out: u64,
    pub details: StepDetails,
}

impl StepReport {
    pub fn new(before: LogStats, after: LogStats, details: StepDetails) -> Self {
        StepReport {
            step: details.step(),
            rows_in: before.rows,
            rows_out: after.rows,
            users_in: before.users,
            users_out: after.users,
            items_in: before.items,
            items_out: after.items,
            details,
        }
    }
}

impl fmt::Display for StepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: rows {} → {}, users {} → {}, items {} → {} ({})",
            self.step,
            self.rows_in,
            self.rows_out,
            self.users_in,
            self.users_out,
            self.items_in,
            self.items_out,
            self.details
        )
    }
}

/// Step-specific findings (serialized as a plain object).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum StepDetails {
    TimeWindow(WindowDetails),
    Dedup(DedupDetails),
    OutlierUsers(OutlierDetails),
    MinEvents(MinEventsDetails),
    KCore(KCoreDetails),
    Sessions(SessionDetails),
}

impl StepDetails {
    /// The step's name in reports.
    pub fn step(&self) -> &'static str {
        match self {
            StepDetails::TimeWindow(_) => "time_window",
            StepDetails::Dedup(_) => "dedup",
            StepDetails::OutlierUsers(_) => "outlier_users",
            StepDetails::MinEvents(_) => "min_events",
            StepDetails::KCore(_) => "kcore",
            StepDetails::Sessions(_) => "sessions",
        }
    }
}

impl fmt::Display for StepDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepDetails::TimeWindow(d) => {
                let show = |t: i64| match t {
                    i64::MIN | i64::MAX => "open".to_owned(),
                    t => t.to_string(),
                };
                write!(f, "kept [{}, {})", show(d.start), show(d.end))
            }
            StepDetails::Dedup(d) => write!(
                f,
                "{} exact duplicates, {} repeats within {} s",
                d.exact_duplicates, d.repeats, d.repeat_window_s
            ),
            StepDetails::OutlierUsers(d) => write!(
                f,
                "{} users with more than {} events in a day removed",
                d.users_removed, d.max_events_per_day
            ),
            StepDetails::MinEvents(d) => write!(
                f,
                "{} users, {} items below the minimum",
                d.users_below, d.items_below
            ),
            StepDetails::KCore(d) => write!(
                f,
                "{} rounds, user-item pairs {} → {}",
                d.rounds, d.pairs_in, d.pairs_out
            ),
            StepDetails::Sessions(d) => {
                write!(f, "{} sessions ", d.sessions)?;
                match d.source {
                    SessionSource::Gap => write!(f, "(inactivity gap {} s)", d.gap_s)?,
                    SessionSource::Given => write!(
                        f,
                        "given by the input ({} cut where other rows interleave)",
                        d.given_sessions_cut
                    )?,
                }
                write!(f, ", {} users with 2 or more", d.multi_session_users)
            }
        }
    }
}

/// The window that was kept: `start <= t < end` (`i64::MIN`/`MAX` when open).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WindowDetails {
    pub start: i64,
    pub end: i64,
}

/// Rows removed by deduplication, by reason (an exact duplicate is not also a repeat).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DedupDetails {
    pub exact_duplicates: u64,
    pub repeats: u64,
    pub repeat_window_s: u32,
}

/// Users removed for a crawler-like daily volume.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutlierDetails {
    pub users_removed: u64,
    pub max_events_per_day: u32,
}

/// Users and items whose event counts fell below the minimum (their events removed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MinEventsDetails {
    pub users_below: u64,
    pub items_below: u64,
}

/// Iterative k-core on distinct user-item pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KCoreDetails {
    /// Rounds that removed something; each round removes every user and item then
    /// below its minimum.
    pub rounds: u32,
    pub pairs_in: u64,
    pub pairs_out: u64,
}

/// Sessionization: the log is unchanged, each event gets a session index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SessionDetails {
    pub sessions: u64,
    /// Users with at least two sessions: those the held-out-session split can test.
    pub multi_session_users: u64,
    /// Where the sessions come from.
    pub source: SessionSource,
    /// The inactivity gap of `[prep.session]` (used only when `source` is `gap`).
    pub gap_s: u32,
    /// Given sessions that came out as more than one session, because rows of another
    /// session (of the same user, in time order) or another user sit between their rows:
    /// each run of rows is a session of its own.
    pub given_sessions_cut: u64,
}

/// How [`crate::sessionize`] found the sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionSource {
    /// A new session after each inactivity gap.
    #[default]
    Gap,
    /// The input's session column.
    Given,
}

/// All steps of [`crate::prepare`], in the order they ran (disabled steps are absent).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PrepReport {
    pub input: LogStats,
    pub output: LogStats,
    pub steps: Vec<StepReport>,
}

impl fmt::Display for PrepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.steps {
            writeln!(f, "{step}")?;
        }
        Ok(())
    }
}
