//! How strict ingestion is: bad-row policy, rejection limit, time window and range,
//! record length.

use serde::{Deserialize, Serialize};

use crate::format::LogFormat;

/// What to do with a row that fails validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BadRowPolicy {
    /// Stop at the first bad row with an error naming file, line, column and value.
    #[default]
    Fail,
    /// Write the row to the quarantine file, count it by reason and go on.
    Skip,
}

/// How many rejected rows `skip` tolerates before ingestion fails anyway.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum BadRowLimit {
    /// At most this many rows.
    Count(u64),
    /// At most this percentage of the rows read.
    Percent(f64),
}

impl std::str::FromStr for BadRowLimit {
    type Err = String;
    /// `N` or `P%`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad =
            || format!("expected a row count like 1000 or a percentage like 0.5%, found {s:?}");
        match s.strip_suffix('%') {
            Some(p) => match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=100.0).contains(&p) => Ok(BadRowLimit::Percent(p)),
                _ => Err(bad()),
            },
            None => s.trim().parse().map(BadRowLimit::Count).map_err(|_| bad()),
        }
    }
}

impl BadRowLimit {
    /// True when `rejected` out of `read` rows is over the limit.
    pub fn exceeded(&self, rejected: u64, read: u64) -> bool {
        match *self {
            BadRowLimit::Count(n) => rejected > n,
            BadRowLimit::Percent(p) => rejected as f64 > p / 100.0 * read as f64,
        }
    }
}

impl std::fmt::Display for BadRowLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRowLimit::Count(n) => write!(f, "{n} rows"),
            BadRowLimit::Percent(p) => write!(f, "{p}% of rows"),
        }
    }
}

/// Accepted event times: `start <= t < end`, Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start: i64,
    pub end: i64,
}

impl TimeWindow {
    /// The times a click log can plausibly hold, 1970-01-01T00:00:00Z up to (not
    /// including) 2200-01-01T00:00:00Z: a time outside is a wrong unit, a cut-off or
    /// garbled value, and would overflow the arithmetic of the steps after ingestion
    /// (differences, decays, session gaps). Rows outside are bad rows
    /// (`time_out_of_range`); `input.earliest_time` / `latest_time` move the bounds.
    pub const DEFAULT_RANGE: TimeWindow = TimeWindow {
        start: 0,
        end: 7_258_118_400,
    };

    /// The widest range the bounds may be moved to: years 1 to 9999, what a date can
    /// write, far inside `i64` seconds.
    pub const WIDEST_RANGE: TimeWindow = TimeWindow {
        start: -62_135_596_800,
        end: 253_402_300_800,
    };

    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

/// The longest record (a line, or a quoted record over several lines) read by default:
/// 1 MiB. A longer one is a bad row (`record_too_long`) and is never held whole, so a
/// file without line ends cannot fill the memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// Everything ingestion needs besides the input path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngestOptions {
    pub format: LogFormat,
    pub on_bad_row: BadRowPolicy,
    /// Only with [`BadRowPolicy::Skip`]; `None` tolerates any number.
    pub max_bad_rows: Option<BadRowLimit>,
    pub window: Option<TimeWindow>,
    /// Times outside are bad rows (`time_out_of_range`), window or not.
    #[serde(default = "default_range")]
    pub time_range: TimeWindow,
    /// Text input: records longer than this many bytes are bad rows (`record_too_long`).
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
}

fn default_range() -> TimeWindow {
    TimeWindow::DEFAULT_RANGE
}

fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

impl IngestOptions {
    /// Strict defaults for a format: fail on the first bad row, no time window, the
    /// default time range and record length limit.
    pub fn new(format: LogFormat) -> Self {
        IngestOptions {
            format,
            on_bad_row: BadRowPolicy::Fail,
            max_bad_rows: None,
            window: None,
            time_range: TimeWindow::DEFAULT_RANGE,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits() {
        assert_eq!("10".parse::<BadRowLimit>(), Ok(BadRowLimit::Count(10)));
        assert_eq!("2.5%".parse::<BadRowLimit>(), Ok(BadRowLimit::Percent(2.5)));
        assert!("-1".parse::<BadRowLimit>().is_err());
        assert!("120%".parse::<BadRowLimit>().is_err());
        assert!(BadRowLimit::Count(2).exceeded(3, 100));
        assert!(!BadRowLimit::Count(3).exceeded(3, 100));
        assert!(BadRowLimit::Percent(1.0).exceeded(2, 100));
        assert!(!BadRowLimit::Percent(1.0).exceeded(1, 100));
    }

    #[test]
    fn the_default_range_is_1970_to_2200() {
        let utc = |t: &str| clickrec_core::parse_utc_time(t).unwrap();
        let range = TimeWindow::DEFAULT_RANGE;
        assert_eq!(
            (range.start, range.end),
            (utc("1970-01-01"), utc("2200-01-01"))
        );
        let widest = TimeWindow::WIDEST_RANGE;
        assert_eq!(widest.start, utc("0001-01-01"));
        assert_eq!(widest.end, utc("9999-12-31") + 86_400);
        assert!(range.contains(0) && !range.contains(-1) && !range.contains(range.end));
    }
}
