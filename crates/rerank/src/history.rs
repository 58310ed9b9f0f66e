//! What the features know about users and items: the train events the generators were
//! fit on, digested once.

use clickrec_core::{Behavior, CategoryId, EventLog, ItemId, UserId, UserItemMatrix};

use crate::RerankError;
use crate::params::check_recent_days;

/// Marks an item that never occurs in the log (no category known).
const NO_CATEGORY: u32 = u32::MAX;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Item- and user-level facts from the train log, for the features.
///
/// Built once from the events the generators were fit on; "now" is the log's last
/// timestamp, so "recent" and "hours since" are measured from the end of the train data
/// and no later event can leak in. Per-user facts are computed on the fly from the user's
/// rows (the log is sorted by user), so memory stays linear in items plus users.
#[derive(Clone, Debug)]
pub struct History<'a> {
    log: &'a EventLog,
    behavior_weights: [f32; 4],
    now: i64,
    n_items: usize,
    /// `user_starts[u]..user_starts[u + 1]` are user `u`'s rows (length `n_users + 1`).
    user_starts: Vec<usize>,
    /// First category the log shows for each item; `NO_CATEGORY` when never seen.
    item_category: Vec<u32>,
    /// ln(1 + behaviour-weighted count), all time.
    popularity: Vec<f32>,
    /// ln(1 + behaviour-weighted count) over the last `recent_days`.
    popularity_recent: Vec<f32>,
}

impl<'a> History<'a> {
    /// Digests `log` (the train events of the generators) for a history `matrix` of the
    /// same id space. `behavior_weights` are indexed by [`Behavior::code`]; the recent
    /// window is `(now − recent_days, now]` with now = the log's last timestamp.
    pub fn new(
        log: &'a EventLog,
        matrix: &UserItemMatrix,
        behavior_weights: [f32; 4],
        recent_days: f64,
    ) -> Result<Self, RerankError> {
        check_recent_days(recent_days)?;
        for behavior in Behavior::ALL {
            let weight = behavior_weights[usize::from(behavior.code())];
            if !(weight.is_finite() && weight >= 0.0) {
                return Err(RerankError::BehaviorWeight { behavior, weight });
            }
        }
        let (n_users, n_items) = (matrix.n_users(), matrix.n_items());
        // Sorted by user, so the last row holds the largest user id.
        if let Some(&user) = log.users().last()
            && user.0 as usize >= n_users
        {
            return Err(RerankError::HistoryShape {
                kind: "user",
                id: user.0,
                len: n_users,
            });
        }
        if let Some(item) = log.items().iter().find(|i| i.0 as usize >= n_items) {
            return Err(RerankError::HistoryShape {
                kind: "item",
                id: item.0,
                len: n_items,
            });
        }
        let now = log.time_span().map_or(0, |(_, last)| last);
        let window = recent_days * SECONDS_PER_DAY;
        let mut item_category = vec![NO_CATEGORY; n_items];
        let mut all_time = vec![0f64; n_items];
        let mut recent = vec![0f64; n_items];
        for row in 0..log.len() {
            let item = log.items()[row].0 as usize;
            let weight = f64::from(log.event_weight(row, &behavior_weights));
            if item_category[item] == NO_CATEGORY {
                item_category[item] = log.categories()[row].0;
            }
            all_time[item] += weight;
            // In f64: two i64 times may be further apart than an i64 holds.
            if now as f64 - (log.timestamps()[row] as f64) < window {
                recent[item] += weight;
            }
        }
        let mut user_starts = vec![0usize; n_users + 1];
        for (user, rows) in log.user_rows() {
            user_starts[user.0 as usize + 1] = rows.len();
        }
        for u in 1..user_starts.len() {
            user_starts[u] += user_starts[u - 1];
        }
        let ln1p = |v: Vec<f64>| v.into_iter().map(|w| w.ln_1p() as f32).collect();
        Ok(History {
            log,
            behavior_weights,
            now,
            n_items,
            user_starts,
            item_category,
            popularity: ln1p(all_time),
            popularity_recent: ln1p(recent),
        })
    }

    /// The reference time of every "since" and "recent" feature: the log's last timestamp.
    pub fn now(&self) -> i64 {
        self.now
    }

    /// Size of the item-id space (the matrix's).
    pub fn n_items(&self) -> usize {
        self.n_items
    }

    /// Size of the user-id space (the matrix's).
    pub fn n_users(&self) -> usize {
        self.user_starts.len() - 1
    }

    /// The category of `item` (first seen in the log), if the log shows the item.
    pub fn category(&self, item: ItemId) -> Option<CategoryId> {
        match self.item_category.get(item.0 as usize) {
            Some(&c) if c != NO_CATEGORY => Some(CategoryId(c)),
            _ => None,
        }
    }

    /// ln(1 + behaviour-weighted count) of `item`, all time (0 outside the item space).
    pub fn popularity(&self, item: ItemId) -> f32 {
        self.popularity.get(item.0 as usize).copied().unwrap_or(0.0)
    }

    /// ln(1 + behaviour-weighted count) of `item` in the recent window.
    pub fn popularity_recent(&self, item: ItemId) -> f32 {
        self.popularity_recent
            .get(item.0 as usize)
            .copied()
            .unwrap_or(0.0)
    }

    /// `user`'s rows of the log (empty for users without events or outside the space).
    fn rows(&self, user: UserId) -> std::ops::Range<usize> {
        let u = user.0 as usize;
        match (self.user_starts.get(u), self.user_starts.get(u + 1)) {
            (Some(&start), Some(&end)) => start..end,
            _ => 0..0,
        }
    }

    /// Appends `user`'s `n` most recently interacted distinct items, most recent first.
    pub(crate) fn recent_items(&self, user: UserId, n: usize, out: &mut Vec<ItemId>) {
        let start = out.len();
        // Equal timestamps keep file order, so the later row is the later event.
        for row in self.rows(user).rev() {
            if out.len() - start >= n {
                break;
            }
            let item = self.log.items()[row];
            if !out[start..].contains(&item) {
                out.push(item);
            }
        }
    }

    /// Gathers `user`'s per-item and per-category facts into `out` (reused buffers).
    pub(crate) fn user(&self, user: UserId, out: &mut UserHistory) {
        out.items.clear();
        out.categories.clear();
        out.total_weight = 0.0;
        let rows = self.rows(user);
        out.events = rows.len();
        let log = self.log;
        out.scratch.clear();
        out.scratch.extend(rows.map(|r| (log.items()[r].0, r)));
        // Row order within an item is kept, so the last row is the latest event.
        out.scratch.sort_unstable();
        for &(item, row) in &out.scratch {
            let code = usize::from(log.behaviors()[row].code());
            let time = log.timestamps()[row];
            match out.items.last_mut() {
                Some(stats) if stats.item == item => {
                    stats.counts[code] += 1;
                    stats.last = stats.last.max(time);
                }
                _ => {
                    let mut counts = [0u32; 4];
                    counts[code] = 1;
                    out.items.push(ItemStats {
                        item,
                        counts,
                        last: time,
                    });
                }
            }
        }
        out.scratch
            .sort_unstable_by_key(|&(_, row)| (log.categories()[row].0, row));
        for &(_, row) in &out.scratch {
            let category = log.categories()[row].0;
            let weight = f64::from(log.event_weight(row, &self.behavior_weights));
            out.total_weight += weight;
            match out.categories.last_mut() {
                Some((c, w)) if *c == category => *w += weight,
                _ => out.categories.push((category, weight)),
            }
        }
    }
}

/// One user's own item and category facts (see [`History::user`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct UserHistory {
    /// Per distinct item, increasing item id.
    items: Vec<ItemStats>,
    /// `(category, behaviour-weighted total)`, increasing category id.
    categories: Vec<(u32, f64)>,
    total_weight: f64,
    /// Train events of the user.
    pub(crate) events: usize,
    scratch: Vec<(u32, usize)>,
}

/// A user's events on one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ItemStats {
    item: u32,
    /// Events per behaviour code.
    pub(crate) counts: [u32; 4],
    /// Latest event time.
    pub(crate) last: i64,
}

impl UserHistory {
    /// The user's events on `item`, if any.
    pub(crate) fn item(&self, item: ItemId) -> Option<&ItemStats> {
        self.items
            .binary_search_by_key(&item.0, |s| s.item)
            .ok()
            .map(|k| &self.items[k])
    }

    /// Share of the user's behaviour-weighted history in `category` (0 without history).
    pub(crate) fn category_share(&self, category: Option<CategoryId>) -> f64 {
        let Some(category) = category else {
            return 0.0;
        };
        if self.total_weight <= 0.0 {
            return 0.0;
        }
        self.categories
            .binary_search_by_key(&category.0, |&(c, _)| c)
            .map_or(0.0, |k| self.categories[k].1 / self.total_weight)
    }
}
