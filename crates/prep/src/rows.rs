//! Row-level helpers shared by the steps: per-user runs, parallel chunks at user
//! boundaries, and in-place filtering of the log's columns.

use std::ops::Range;

use clickrec_core::{EventColumns, EventLog, UserId};
use rayon::prelude::*;

/// The rows of each user inside `rows` (which must start and end at user boundaries).
pub(crate) fn user_runs(
    users: &[UserId],
    rows: Range<usize>,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let end = rows.end;
    let mut start = rows.start;
    std::iter::from_fn(move || {
        if start >= end {
            return None;
        }
        let run_end = run_end(users, start, end);
        let run = start..run_end;
        start = run_end;
        Some(run)
    })
}

/// The end of the run of equal users starting at `start` (before `end`), by galloping:
/// O(log run length) probes near `start`, where a plain binary search over the rest of
/// the log would miss the cache on every probe.
pub(crate) fn run_end(users: &[UserId], start: usize, end: usize) -> usize {
    let user = users[start];
    let mut bound = 1;
    while start + bound < end && users[start + bound] == user {
        bound *= 2;
    }
    let lo = start + bound / 2;
    let hi = (start + bound).min(end);
    lo + users[lo..hi].partition_point(|&u| u == user)
}

/// Number of distinct users of a user-sorted column.
pub(crate) fn count_users(users: &[UserId]) -> usize {
    if users.is_empty() {
        0
    } else {
        1 + users.windows(2).filter(|w| w[0] != w[1]).count()
    }
}

/// Splits the rows into contiguous ranges that never cut a user's rows. The chunking
/// only balances work: every step computes each user independently, so results do not
/// depend on it (nor on the number of threads).
pub(crate) fn user_chunks(users: &[UserId]) -> Vec<Range<usize>> {
    // Small in unit tests so that property tests exercise many chunks.
    const MIN_ROWS: usize = if cfg!(test) { 4 } else { 1 << 16 };
    let n = users.len();
    let pieces = (n / MIN_ROWS).clamp(1, 8 * rayon::current_num_threads().max(1));
    let mut chunks = Vec::with_capacity(pieces);
    let mut start = 0;
    for k in 1..=pieces {
        let target = n * k / pieces;
        if target <= start {
            continue;
        }
        // Move the cut to the end of the user at `target - 1`.
        let end = run_end(users, target - 1, n);
        chunks.push(start..end);
        start = end;
    }
    chunks
}

/// Runs `f` on each chunk of [`user_chunks`] in parallel, results in row order.
pub(crate) fn par_chunks<T: Send>(
    users: &[UserId],
    f: impl Fn(Range<usize>) -> T + Sync + Send,
) -> Vec<T> {
    user_chunks(users).into_par_iter().map(f).collect()
}

/// Keeps the rows whose `keep` flag is set, moving them down in place: no second copy
/// of the log. Order, and so the (user, time) sort, is preserved; given sessions and
/// weights are filtered with their rows.
pub fn retain_rows(log: EventLog, keep: &[bool]) -> EventLog {
    debug_assert_eq!(keep.len(), log.len());
    if keep.iter().all(|&k| k) {
        return log;
    }
    let mut log = log;
    let mut sessions = log.take_given_sessions();
    let mut weights = log.take_weights();
    let (mut users, mut items, mut categories, mut behaviors, mut timestamps) = log.into_columns();
    rayon::scope(|s| {
        s.spawn(|_| compact(&mut users, keep));
        s.spawn(|_| compact(&mut items, keep));
        s.spawn(|_| compact(&mut categories, keep));
        s.spawn(|_| compact(&mut behaviors, keep));
        s.spawn(|_| compact(&mut timestamps, keep));
        if let Some(sessions) = sessions.as_mut() {
            s.spawn(|_| compact(sessions, keep));
        }
        if let Some(weights) = weights.as_mut() {
            s.spawn(|_| compact(weights, keep));
        }
    });
    EventLog::from_sorted_columns(EventColumns {
        users,
        items,
        categories,
        behaviors,
        timestamps,
        sessions,
        weights,
        ..EventColumns::default()
    })
    .expect("filtered columns stay equally long and sorted")
}

fn compact<T: Copy>(column: &mut Vec<T>, keep: &[bool]) {
    let mut j = 0;
    for i in 0..column.len() {
        if keep[i] {
            column[j] = column[i];
            j += 1;
        }
    }
    column.truncate(j);
}

/// One more than the largest item id in the log: the length of dense per-item arrays.
pub(crate) fn item_space(log: &EventLog) -> usize {
    log.items()
        .iter()
        .map(|i| i.0 as usize + 1)
        .max()
        .unwrap_or(0)
}

/// One more than the largest user id in the log.
pub(crate) fn user_space(log: &EventLog) -> usize {
    log.users().last().map_or(0, |u| u.0 as usize + 1)
}

/// A fixed-size set of dense ids, one bit each: 4M items fit in 512 KiB, so random
/// lookups stay in cache where a `Vec<bool>` would not.
#[derive(Clone, Debug)]
pub(crate) struct Bitset(Vec<u64>);

impl Bitset {
    pub(crate) fn new(len: usize) -> Self {
        Bitset(vec![0; len.div_ceil(64)])
    }
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.0[i / 64] >> (i % 64) & 1 == 1
    }
    pub(crate) fn insert(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    pub(crate) fn remove(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    pub(crate) fn clear(&mut self) {
        self.0.fill(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_cover_rows_at_user_boundaries(mut users in proptest::collection::vec(0u32..20, 0..300)) {
            users.sort_unstable();
            let users: Vec<UserId> = users.into_iter().map(UserId).collect();
            let chunks = user_chunks(&users);
            let mut next = 0;
            for c in &chunks {
                prop_assert_eq!(c.start, next);
                prop_assert!(c.end > c.start);
                if c.start > 0 {
                    prop_assert_ne!(users[c.start - 1], users[c.start]);
                }
                next = c.end;
            }
            prop_assert_eq!(next, users.len());
            let runs: Vec<_> = user_runs(&users, 0..users.len()).collect();
            let expected: Vec<_> = {
                let log = clickrec_core::EventLog::from_columns(
                    users.clone(),
                    vec![clickrec_core::ItemId(0); users.len()],
                    vec![clickrec_core::CategoryId(0); users.len()],
                    vec![clickrec_core::Behavior::Pv; users.len()],
                    vec![0; users.len()],
                ).expect("equal columns");
                log.user_rows().map(|(_, r)| r).collect()
            };
            prop_assert_eq!(count_users(&users), expected.len());
            prop_assert_eq!(runs, expected);
        }
    }
}
