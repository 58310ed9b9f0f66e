//! Top-N selection shared by every model: [`TopN`] over a stream of scores, and the
//! per-request [`Filter`] (candidates, seen items) and [`Columns`] (models that score only
//! some items) that the batch loop and the factor tiles apply.

use std::cmp::Ordering;

use clickrec_core::ItemId;

use crate::recommender::{Candidates, RecommendError, RecommendRequest};
use crate::select::{keep_best, retain_best};

/// Best first: higher score, then lower item id (-0.0 and 0.0 tie). Not for NaN.
pub(crate) fn best_first(a: &(ItemId, f32), b: &(ItemId, f32)) -> Ordering {
    b.1.partial_cmp(&a.1)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.0.cmp(&b.0))
}

/// Entries a [`TopN`] reserves at most before any is offered (64 KiB).
const INITIAL_TOP_CAPACITY: usize = 8192;

/// Keeps the best `n` of a stream of `(item, score)` without sorting the stream: kept
/// candidates gather in a buffer that [`retain_best`] cuts back to `n` whenever it
/// fills, O(len) overall. NaN scores are skipped.
#[derive(Debug, Default)]
pub struct TopN {
    n: usize,
    kept: Vec<(ItemId, f32)>,
    /// The worst kept score of the last cut (−∞ before): anything below it cannot enter
    /// and is rejected with one comparison, which is what almost every item of a long
    /// scan gets.
    threshold: f32,
}

impl TopN {
    pub fn new(n: usize) -> Self {
        TopN {
            n,
            // Not `buffer(n)` up front: `n` comes from a config (`n = 1000000000` would
            // ask for 16 GB); the buffer grows with what is offered, at most the catalogue.
            kept: Vec::with_capacity(Self::buffer(n).min(INITIAL_TOP_CAPACITY)),
            threshold: f32::NEG_INFINITY,
        }
    }

    /// Candidates gathered before a cut: enough that cuts are rare.
    fn buffer(n: usize) -> usize {
        n.saturating_mul(2).max(n.saturating_add(64))
    }

    /// A score below it cannot enter (−∞ until the first cut).
    #[inline]
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The threshold after cutting to the best `n` kept so far: the tightest bound the
    /// candidates offered yet give (a lower bound of the final n-th score).
    #[inline]
    pub fn settled_threshold(&mut self) -> f32 {
        if self.kept.len() > self.n {
            self.cut();
        }
        self.threshold
    }

    /// Offers one candidate.
    #[inline]
    pub fn push(&mut self, item: ItemId, score: f32) {
        if score < self.threshold || score.is_nan() || self.n == 0 {
            return;
        }
        self.kept.push((item, score));
        if self.kept.len() >= Self::buffer(self.n) {
            self.cut();
        }
    }

    fn cut(&mut self) {
        retain_best(&mut self.kept, self.n, best_first);
        if let Some(worst) = self.kept.last()
            && self.kept.len() == self.n
        {
            self.threshold = worst.1;
        }
    }

    /// The kept entries, best first; the selector is empty afterwards.
    pub fn drain_sorted(&mut self, out: &mut Vec<(ItemId, f32)>) {
        out.clear();
        keep_best(&mut self.kept, self.n, best_first);
        out.extend_from_slice(&self.kept);
        self.kept.clear();
        self.threshold = f32::NEG_INFINITY;
    }
}

/// Filters applied to every user's scores: a candidate mask and the seen items.
#[derive(Debug)]
pub(crate) struct Filter {
    /// `Some(allowed)` when the request restricts candidates (Only or Exclude).
    pub(crate) allowed: Option<Vec<bool>>,
    /// Candidate list for `Only`, increasing, so dense scoring visits only these.
    pub(crate) only: Option<Vec<ItemId>>,
    pub(crate) exclude_seen: bool,
}

impl Filter {
    pub(crate) fn new(request: &RecommendRequest, n_items: usize) -> Result<Self, RecommendError> {
        let check = |items: &[ItemId]| {
            items.iter().try_for_each(|&item| {
                if item.0 as usize >= n_items {
                    Err(RecommendError::CandidateOutOfRange { item, n_items })
                } else {
                    Ok(())
                }
            })
        };
        let (allowed, only) = match &request.candidates {
            Candidates::All => (None, None),
            Candidates::Only(items) => {
                check(items)?;
                let mut allowed = vec![false; n_items];
                items.iter().for_each(|i| allowed[i.0 as usize] = true);
                let mut only = items.clone();
                only.sort_unstable();
                only.dedup();
                (Some(allowed), Some(only))
            }
            Candidates::Exclude(items) => {
                check(items)?;
                let mut allowed = vec![true; n_items];
                items.iter().for_each(|i| allowed[i.0 as usize] = false);
                (Some(allowed), None)
            }
        };
        Ok(Filter {
            allowed,
            only,
            exclude_seen: request.exclude_seen,
        })
    }

    pub(crate) fn is_allowed(&self, item: ItemId) -> bool {
        self.allowed.as_ref().is_none_or(|a| a[item.0 as usize])
    }

    /// True when `item` is allowed and, under exclude-seen, not in `seen` (increasing).
    pub(crate) fn admits(&self, item: ItemId, seen: &[u32]) -> bool {
        self.is_allowed(item) && !(self.exclude_seen && seen.binary_search(&item.0).is_ok())
    }
}

/// The items behind the columns of dense rows when a model scores only some items.
#[derive(Debug)]
pub(crate) struct Columns<'a> {
    /// Column → item, increasing.
    pub(crate) items: &'a [ItemId],
    /// Item → column, `u32::MAX` for items without one.
    column_of: Vec<u32>,
}

impl<'a> Columns<'a> {
    pub(crate) fn new(items: &'a [ItemId], n_items: usize) -> Self {
        let mut column_of = vec![u32::MAX; n_items];
        for (column, item) in items.iter().enumerate() {
            assert!(
                (item.0 as usize) < n_items,
                "scored item {item} outside the model's {n_items} items"
            );
            column_of[item.0 as usize] = column as u32;
        }
        Columns { items, column_of }
    }

    fn column(&self, item: u32) -> Option<usize> {
        let column = self.column_of[item as usize];
        (column != u32::MAX).then_some(column as usize)
    }
}

/// The column of `item` in dense rows (the item itself when every item has one).
pub(crate) fn column_of(columns: Option<&Columns<'_>>, item: u32) -> Option<usize> {
    match columns {
        Some(c) => c.column(item),
        None => Some(item as usize),
    }
}

/// The item behind `column` of dense rows.
pub(crate) fn item_at(columns: Option<&Columns<'_>>, column: usize) -> ItemId {
    match columns {
        Some(c) => c.items[column],
        None => ItemId(column as u32),
    }
}
