//! Deduplication: exact duplicate events, and page-refresh repeats of the same
//! (user, item, behaviour) shortly after the previous one.

use std::ops::Range;

use clickrec_core::EventLog;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::report::DedupDetails;
use crate::rows::{par_chunks, retain_rows, user_runs};

/// `[prep.dedup]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Drop events equal to an earlier one in user, item, category, behaviour and
    /// timestamp. Default `true`.
    pub exact: bool,
    /// Drop an event when the previous event with the same (user, item, behaviour) —
    /// kept or not, so a burst of refreshes collapses to its first event — is at most
    /// this many seconds earlier. This also catches exact duplicates (0 s apart).
    /// Default `0`: off.
    pub repeat_window_s: u32,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            exact: true,
            repeat_window_s: 0,
        }
    }
}

impl DedupConfig {
    /// `None` when both rules are off. Every combination of values is valid.
    pub fn check(&self) -> Result<Option<DedupParams>, ConfigError> {
        Ok(
            (self.exact || self.repeat_window_s > 0).then_some(DedupParams {
                exact: self.exact,
                repeat_window_s: self.repeat_window_s,
            }),
        )
    }
}

/// Which duplicates to drop; see [`DedupConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupParams {
    pub exact: bool,
    /// `0` turns repeat detection off.
    pub repeat_window_s: u32,
}

/// Removes duplicates; the first event of each group is kept. Per user: a scan for
/// exact duplicates (they share a timestamp, so only same-second runs are compared) and,
/// with a repeat window, one sort of the user's events by (item, behaviour, time).
pub fn dedup(log: EventLog, params: &DedupParams) -> (EventLog, DedupDetails) {
    let parts = par_chunks(log.users(), |rows| dedup_chunk(&log, rows, params));
    let mut keep = Vec::with_capacity(log.len());
    let mut details = DedupDetails {
        repeat_window_s: params.repeat_window_s,
        ..DedupDetails::default()
    };
    for (chunk_keep, exact, repeats) in parts {
        keep.extend_from_slice(&chunk_keep);
        details.exact_duplicates += exact;
        details.repeats += repeats;
    }
    (retain_rows(log, &keep), details)
}

/// Bits of a packed sort key that hold the row's offset inside its user's rows.
const LOCAL_BITS: u32 = 30;
const LOCAL_MASK: u64 = (1 << LOCAL_BITS) - 1;

fn dedup_chunk(log: &EventLog, rows: Range<usize>, params: &DedupParams) -> (Vec<bool>, u64, u64) {
    let offset = rows.start;
    let mut keep = vec![true; rows.len()];
    let (items, categories, behaviors, times) = (
        log.items(),
        log.categories(),
        log.behaviors(),
        log.timestamps(),
    );
    let mut exact = 0u64;
    let mut repeats = 0u64;
    let mut scratch: Vec<(u32, u8, usize)> = Vec::new();
    let mut keys: Vec<u64> = Vec::new();
    let mut same_second: Vec<(u32, u32, u8, usize)> = Vec::new();
    for run in user_runs(log.users(), rows) {
        if run.len() < 2 {
            continue;
        }
        if params.exact {
            // Runs of equal timestamps inside the user's rows.
            let mut start = run.start;
            while start < run.end {
                let t = times[start];
                let end = start + times[start..run.end].partition_point(|&x| x == t);
                if end - start > 1 {
                    same_second.clear();
                    same_second.extend(
                        (start..end).map(|r| (items[r].0, categories[r].0, behaviors[r].code(), r)),
                    );
                    same_second.sort_unstable();
                    for w in same_second.windows(2) {
                        if (w[0].0, w[0].1, w[0].2) == (w[1].0, w[1].1, w[1].2) {
                            keep[w[1].3 - offset] = false;
                            exact += 1;
                        }
                    }
                }
                start = end;
            }
        }
        if params.repeat_window_s > 0 {
            let window = i64::from(params.repeat_window_s);
            // Rows of a user are in time order, so sorting by (item, behaviour, row)
            // puts each event right after the previous identical one.
            let mut check = |prev: usize, cur: usize| {
                if times[cur].saturating_sub(times[prev]) <= window {
                    let k = &mut keep[cur - offset];
                    if *k {
                        *k = false;
                        repeats += 1;
                    }
                }
            };
            if run.len() < 1 << LOCAL_BITS {
                // Packed u64 keys sort several times faster than tuples.
                keys.clear();
                keys.extend(run.clone().map(|r| {
                    (u64::from(items[r].0) << 32)
                        | (u64::from(behaviors[r].code()) << LOCAL_BITS)
                        | (r - run.start) as u64
                }));
                keys.sort_unstable();
                for w in keys.windows(2) {
                    if w[0] >> LOCAL_BITS == w[1] >> LOCAL_BITS {
                        let local = |k: u64| run.start + (k & LOCAL_MASK) as usize;
                        check(local(w[0]), local(w[1]));
                    }
                }
            } else {
                scratch.clear();
                scratch.extend(run.clone().map(|r| (items[r].0, behaviors[r].code(), r)));
                scratch.sort_unstable();
                for w in scratch.windows(2) {
                    if (w[0].0, w[0].1) == (w[1].0, w[1].1) {
                        check(w[0].2, w[1].2);
                    }
                }
            }
        }
    }
    (keep, exact, repeats)
}
