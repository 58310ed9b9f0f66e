//! Time window: keep events with `start <= timestamp < end`.

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, config_error};
use crate::report::WindowDetails;
use crate::rows::retain_rows;

/// `[prep.window]`, in Unix seconds. Either bound may be left open; both absent (the
/// default) turns the step off.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowConfig {
    /// First kept second (inclusive).
    pub start: Option<i64>,
    /// End of the window (exclusive).
    pub end: Option<i64>,
}

impl WindowConfig {
    pub fn check(&self) -> Result<Option<TimeWindow>, ConfigError> {
        match (self.start, self.end) {
            (None, None) => Ok(None),
            (start, end) => {
                let start = start.unwrap_or(i64::MIN);
                let end = end.unwrap_or(i64::MAX);
                if start >= end {
                    return Err(config_error(
                        "prep.window.end",
                        format!("a time after prep.window.start = {start}"),
                        end,
                    ));
                }
                Ok(Some(TimeWindow { start, end }))
            }
        }
    }
}

/// A non-empty half-open time range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeWindow {
    start: i64,
    end: i64,
}

impl TimeWindow {
    pub fn start(&self) -> i64 {
        self.start
    }
    pub fn end(&self) -> i64 {
        self.end
    }
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

/// Drops events outside the window.
pub fn filter_time_window(log: EventLog, window: &TimeWindow) -> (EventLog, WindowDetails) {
    let keep: Vec<bool> = log
        .timestamps()
        .iter()
        .map(|&t| window.contains(t))
        .collect();
    let details = WindowDetails {
        start: window.start,
        end: window.end,
    };
    (retain_rows(log, &keep), details)
}
