//! Fitting, scoring and saving the recent-items model.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender, TopN};
use rayon::prelude::*;

use super::{CheckedRecent, RecentParams};
use crate::{FitError, FitOptions, ModelError, ModelReader, ModelWriter, TrainData};

/// Per-thread buffers of the fit: (item, weight) per event, the top-N, its output.
type Scratch = (Vec<(u32, f64)>, TopN, Vec<(ItemId, f32)>);

/// A fitted recent-items model: each user's best items, CSR-style.
#[derive(Clone, Debug)]
pub struct Recent {
    params: CheckedRecent,
    n_items: usize,
    /// `items[offsets[u]..offsets[u + 1]]` are user `u`'s items, best first.
    offsets: Vec<u64>,
    items: Vec<u32>,
    scores: Vec<f32>,
}

/// Ranks one user's items from their events `(item, time)`, the latest at `latest` (see
/// the module docs), into `out`, with `top` keeping the best.
fn rank(
    events: impl Iterator<Item = (ItemId, i64)>,
    latest: i64,
    half_life: f64,
    sums: &mut Vec<(u32, f64)>,
    top: &mut TopN,
    out: &mut Vec<(ItemId, f32)>,
) {
    sums.clear();
    sums.extend(events.map(|(item, time)| {
        // In f64: two i64 times may be further apart than an i64 holds.
        let age = latest as f64 - time as f64;
        (item.0, 0.5f64.powf(age / half_life))
    }));
    sums.sort_unstable_by_key(|s| s.0);
    let mut k = 0;
    while k < sums.len() {
        let item = sums[k].0;
        let mut total = 0f64;
        while k < sums.len() && sums[k].0 == item {
            total += sums[k].1;
            k += 1;
        }
        top.push(ItemId(item), total as f32);
    }
    top.drain_sorted(out);
}

impl Recent {
    /// The list the fit would give a user whose events are `events` (item and time, in
    /// time order): for a user's train events plus events since, at serving time.
    pub fn rank_events(&self, events: &[(ItemId, i64)]) -> Vec<(ItemId, f32)> {
        let keep = (self.params.params().max_items as usize).min(self.n_items);
        let mut out = Vec::new();
        let Some(&(_, latest)) = events.last() else {
            return out;
        };
        rank(
            events.iter().copied(),
            latest,
            self.params.half_life_seconds(),
            &mut Vec::new(),
            &mut TopN::new(keep),
            &mut out,
        );
        out
    }

    /// Scores each user's items from its own train events (see the module docs).
    ///
    /// Fails on an empty train log, or on events naming users or items outside the matrix.
    pub fn fit(
        params: &CheckedRecent,
        data: &TrainData<'_>,
        _options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        let log = data.log;
        if log.is_empty() {
            return Err(FitError::EmptyTrain { model: "recent" });
        }
        let (n_users, n_items) = (data.n_users(), data.n_items());
        let outside = |what: &str, id: u32, n: usize| FitError::Data {
            model: "recent",
            reason: format!("train event on {what} {id} outside the matrix's {n} {what}s"),
        };
        if let Some(u) = log.users().last().filter(|u| u.0 as usize >= n_users) {
            return Err(outside("user", u.0, n_users));
        }
        if let Some(i) = log.items().iter().find(|i| i.0 as usize >= n_items) {
            return Err(outside("item", i.0, n_items));
        }
        let half_life = params.half_life_seconds();
        // No user has more distinct items than the catalogue: a larger max_items sizes nothing.
        let keep = (params.params().max_items as usize).min(n_items);
        let (items, times) = (log.items(), log.timestamps());
        let runs: Vec<_> = log.user_rows().collect();
        // Each user alone: the result does not depend on the thread count.
        let lists: Vec<(UserId, Vec<(ItemId, f32)>)> = runs
            .into_par_iter()
            .map_init(
                || (Vec::new(), TopN::new(keep), Vec::new()),
                |(sums, top, out): &mut Scratch, (user, rows)| {
                    let latest = times[rows.end - 1];
                    rank(
                        rows.map(|r| (items[r], times[r])),
                        latest,
                        half_life,
                        sums,
                        top,
                        out,
                    );
                    (user, out.clone())
                },
            )
            .collect();
        let mut model = Recent {
            params: params.clone(),
            n_items,
            offsets: vec![0; n_users + 1],
            items: Vec::new(),
            scores: Vec::new(),
        };
        let mut next = 0usize;
        for (user, list) in lists {
            let u = user.0 as usize;
            let end = model.items.len() as u64;
            model.offsets[next..=u].iter_mut().for_each(|o| *o = end);
            model.items.extend(list.iter().map(|(i, _)| i.0));
            model.scores.extend(list.iter().map(|(_, s)| *s));
            next = u + 1;
        }
        let end = model.items.len() as u64;
        model.offsets[next..].iter_mut().for_each(|o| *o = end);
        Ok(model)
    }

    pub fn params(&self) -> &CheckedRecent {
        &self.params
    }

    /// User `user`'s items and scores, best first (empty outside the user space).
    pub fn list(&self, user: UserId) -> (&[u32], &[f32]) {
        let u = user.0 as usize;
        if u + 1 >= self.offsets.len() {
            return (&[], &[]);
        }
        let range = self.offsets[u] as usize..self.offsets[u + 1] as usize;
        (&self.items[range.clone()], &self.scores[range])
    }

    /// Payload: parameters (JSON), item count, then the CSR arrays.
    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(self.params.params())?;
        w.u64(self.n_items as u64)?;
        w.u64s(&self.offsets)?;
        w.u32s(&self.items)?;
        w.f32s(&self.scores)
    }

    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: RecentParams = r.json()?;
        let params = params
            .check()
            .map_err(|e| r.corrupt(format!("bad parameters: {e}")))?;
        let n_items = r.u64()? as usize;
        let offsets = r.u64s()?;
        let items = r.u32s()?;
        let scores = r.f32s()?;
        let consistent = offsets.first() == Some(&0)
            && offsets.last() == Some(&(items.len() as u64))
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && scores.len() == items.len()
            && items.iter().all(|&i| (i as usize) < n_items)
            && scores.iter().all(|s| s.is_finite());
        if !consistent {
            return Err(r.corrupt("recent lists do not fit their offsets and item count"));
        }
        Ok(Recent {
            params,
            n_items,
            offsets,
            items,
            scores,
        })
    }
}

impl Recommender for Recent {
    fn n_items(&self) -> usize {
        self.n_items
    }

    /// Each user's own best items, as a sparse list.
    fn score_block(&self, users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        for (list, &user) in out.sparse().iter_mut().zip(users) {
            let (items, scores) = self.list(user);
            list.extend(items.iter().zip(scores).map(|(&i, &s)| (ItemId(i), s)));
        }
    }
}
