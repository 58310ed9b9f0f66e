//! Outlier users: more events in one day than a person makes (crawlers, scripts).

use std::num::NonZeroU32;

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, config_error, positive};
use crate::report::OutlierDetails;
use crate::rows::{par_chunks, retain_rows, user_runs};

/// `[prep.outlier_users]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierConfig {
    /// Remove every user with more than this many events in any one day. Absent (the
    /// default): off. Must be at least 1.
    pub max_events_per_day: Option<u32>,
    /// Where days start: the UTC offset of the shop's local time, `+HH:MM` or `-HH:MM`.
    /// Default `+00:00`.
    pub utc_offset: String,
}

impl Default for OutlierConfig {
    fn default() -> Self {
        OutlierConfig {
            max_events_per_day: None,
            utc_offset: "+00:00".to_owned(),
        }
    }
}

impl OutlierConfig {
    pub fn check(&self) -> Result<Option<OutlierParams>, ConfigError> {
        let utc_offset_s = parse_utc_offset(&self.utc_offset).ok_or_else(|| {
            config_error(
                "prep.outlier_users.utc_offset",
                "an offset like +08:00 or -05:30",
                format!("{:?}", self.utc_offset),
            )
        })?;
        match self.max_events_per_day {
            None => Ok(None),
            Some(max) => Ok(Some(OutlierParams {
                max_events_per_day: positive(
                    "prep.outlier_users.max_events_per_day",
                    max,
                    "at least 1 (leave the key out to keep all users)",
                )?,
                utc_offset_s,
            })),
        }
    }
}

/// `±HH:MM` (hours up to 14, as real offsets) → seconds east of UTC.
fn parse_utc_offset(text: &str) -> Option<i32> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    let m: i32 = m.parse().ok()?;
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// Remove users with more than `max_events_per_day` events in some local day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutlierParams {
    pub max_events_per_day: NonZeroU32,
    /// Seconds east of UTC where local days start.
    pub utc_offset_s: i32,
}

/// Removes outlier users entirely. A user's rows are in time order, so its events of
/// one day are consecutive: one linear pass counts them.
pub fn remove_outlier_users(log: EventLog, params: &OutlierParams) -> (EventLog, OutlierDetails) {
    let max = u64::from(params.max_events_per_day.get());
    let offset = i64::from(params.utc_offset_s);
    let times = log.timestamps();
    let parts = par_chunks(log.users(), |rows| {
        let mut keep = Vec::with_capacity(rows.len());
        let mut removed = 0u64;
        for run in user_runs(log.users(), rows) {
            let mut outlier = false;
            let mut day = i64::MIN;
            let mut count = 0u64;
            for &t in &times[run.clone()] {
                let d = t.saturating_add(offset).div_euclid(86_400);
                if d == day {
                    count += 1;
                } else {
                    day = d;
                    count = 1;
                }
                if count > max {
                    outlier = true;
                    break;
                }
            }
            removed += u64::from(outlier);
            keep.resize(keep.len() + run.len(), !outlier);
        }
        (keep, removed)
    });
    let mut keep = Vec::with_capacity(log.len());
    let mut details = OutlierDetails {
        users_removed: 0,
        max_events_per_day: params.max_events_per_day.get(),
    };
    for (k, removed) in parts {
        keep.extend_from_slice(&k);
        details.users_removed += removed;
    }
    (retain_rows(log, &keep), details)
}

#[cfg(test)]
mod tests {
    use super::parse_utc_offset;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+08:00"), Some(28_800));
        assert_eq!(parse_utc_offset("-05:30"), Some(-19_800));
        assert_eq!(parse_utc_offset("+00:00"), Some(0));
        for bad in ["08:00", "+8:00", "+08", "+15:00", "+08:60", "", "+0a:00"] {
            assert_eq!(parse_utc_offset(bad), None, "{bad}");
        }
    }
}
