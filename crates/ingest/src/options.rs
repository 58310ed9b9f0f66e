//! How strict ingestion is: bad-row policy, rejection limit, time window.

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

/// Everything ingestion needs besides the input path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngestOptions {
    pub format: LogFormat,
    pub on_bad_row: BadRowPolicy,
    /// Only with [`BadRowPolicy::Skip`]; `None` tolerates any number.
    pub max_bad_rows: Option<BadRowLimit>,
    pub window: Option<TimeWindow>,
}

impl IngestOptions {
    /// Strict defaults for a format: fail on the first bad row, no time window.
    pub fn new(format: LogFormat) -> Self {
        IngestOptions {
            format,
            on_bad_row: BadRowPolicy::Fail,
            max_bad_rows: None,
            window: None,
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
}
