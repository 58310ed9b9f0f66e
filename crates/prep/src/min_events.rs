//! Minimum event counts per user and per item, in one pass (see [`crate::kcore`] for
//! the iterated, distinct-pair version).

use std::num::NonZeroU32;

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, positive};
use crate::report::MinEventsDetails;
use crate::rows::{item_space, retain_rows, user_runs};

/// `[prep.min_events]`. Counts are events (all behaviours), taken on the step's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MinEventsConfig {
    /// Keep users with at least this many events. Default 1 (all); 0 is an error.
    pub per_user: u32,
    /// Keep items with at least this many events. Default 1 (all); 0 is an error.
    pub per_item: u32,
}

impl Default for MinEventsConfig {
    fn default() -> Self {
        MinEventsConfig {
            per_user: 1,
            per_item: 1,
        }
    }
}

impl MinEventsConfig {
    /// `None` when both minimums are 1.
    pub fn check(&self) -> Result<Option<MinEventsParams>, ConfigError> {
        const EXPECTED: &str = "at least 1 (1 keeps everything)";
        let params = MinEventsParams {
            per_user: positive("prep.min_events.per_user", self.per_user, EXPECTED)?,
            per_item: positive("prep.min_events.per_item", self.per_item, EXPECTED)?,
        };
        Ok((params.per_user.get() > 1 || params.per_item.get() > 1).then_some(params))
    }
}

/// Minimum events per user and per item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinEventsParams {
    pub per_user: NonZeroU32,
    pub per_item: NonZeroU32,
}

/// Drops the events of users and of items below their minimum, both counted on the
/// input (one pass: removing an item can leave a user below its minimum; use k-core
/// when that matters).
pub fn filter_min_events(log: EventLog, params: &MinEventsParams) -> (EventLog, MinEventsDetails) {
    let mut item_counts = vec![0u32; item_space(&log)];
    for item in log.items() {
        let c = &mut item_counts[item.0 as usize];
        *c = c.saturating_add(1);
    }
    let min_item = params.per_item.get();
    let min_user = params.per_user.get() as usize;
    let mut details = MinEventsDetails {
        users_below: 0,
        items_below: item_counts
            .iter()
            .filter(|&&c| c > 0 && c < min_item)
            .count() as u64,
    };
    let mut keep = Vec::with_capacity(log.len());
    for rows in user_runs(log.users(), 0..log.len()) {
        let user_ok = rows.len() >= min_user;
        details.users_below += u64::from(!user_ok);
        keep.extend(
            log.items()[rows]
                .iter()
                .map(|i| user_ok && item_counts[i.0 as usize] >= min_item),
        );
    }
    (retain_rows(log, &keep), details)
}
