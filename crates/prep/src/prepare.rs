//! All preprocessing steps in order: [`prepare`].

use clickrec_core::EventLog;

use crate::config::CheckedPrep;
use crate::dedup::dedup;
use crate::error::PrepError;
use crate::report::{LogStats, PrepReport, StepDetails, StepReport};
use crate::session::sessionize;
use crate::window::filter_time_window;

/// The cleaned log, a session index per event, and what every step did.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// Same id space (and id maps) as the input; still sorted by (user, time). Given
    /// sessions are no longer attached: `sessions` numbers them.
    pub log: EventLog,
    /// `sessions[r]` is the session of row `r`; see [`crate::sessionize`].
    pub sessions: Vec<u32>,
    pub report: PrepReport,
}

/// Runs the row-level cleaning of the whole log: time window (cheapest, and it keeps
/// later steps from looking outside the window), dedup, then sessionize. The steps that
/// learn from the data (outlier users, min events, k-core) run after the split, on
/// train only ([`crate::split`] with [`CheckedPrep::train_filters`]), so held-out
/// events never decide which users and items survive. Each step filters the columns in
/// place, so the log is never copied whole.
pub fn prepare(log: EventLog, config: &CheckedPrep) -> Result<Prepared, PrepError> {
    let input = LogStats::of(&log);
    let mut stats = input;
    let mut steps = Vec::new();
    let mut log = log;
    let mut record = |log: &EventLog, details: StepDetails, steps: &mut Vec<StepReport>| {
        let after = LogStats::of(log);
        steps.push(StepReport::new(stats, after, details));
        stats = after;
    };
    if let Some(window) = config.window() {
        let (out, d) = filter_time_window(log, window);
        log = out;
        record(&log, StepDetails::TimeWindow(d), &mut steps);
    }
    if let Some(params) = config.dedup() {
        let (out, d) = dedup(log, params);
        log = out;
        record(&log, StepDetails::Dedup(d), &mut steps);
    }
    let (sessions, d) = sessionize(&log, config.session_gap_s())?;
    // The session index now says all the given sessions said.
    log.take_given_sessions();
    // Sessionizing changes no row: the sizes carry over without a recount.
    steps.push(StepReport::new(stats, stats, StepDetails::Sessions(d)));
    Ok(Prepared {
        log,
        sessions,
        report: PrepReport {
            input,
            output: stats,
            steps,
        },
    })
}
