//! Fitting, scoring and saving the popularity model.

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender};

use super::{CheckedPopularity, PopularityParams};
use crate::{FitError, FitOptions, ModelError, ModelReader, ModelWriter, TrainData};

/// Scoring switches from dense rows to sparse lists when at most one item in this many
/// has a score: a sparse entry costs the shared loop a seen-item binary search, a dense
/// one only a copy and a NaN test, so sparse pays only for short lists.
const SPARSE_RATIO: usize = 4;

/// A fitted popularity model: one score per item, shared by all users.
#[derive(Clone, Debug)]
pub struct Popularity {
    pub(super) params: CheckedPopularity,
    /// Score per item; 0 for items without counted events.
    pub(super) scores: Vec<f32>,
    /// The items with a score > 0, best first (ties by lower id).
    pub(super) ranked: Vec<(ItemId, f32)>,
    /// Dense scoring row when few items are unscored: `scores` with NaN (never
    /// recommended) for unscored items, so dense and sparse scoring rank alike.
    pub(super) dense_row: Option<Vec<f32>>,
}

impl Popularity {
    /// Sums the behaviour weights of the train events per item, over the window if any.
    ///
    /// Fails on an empty train log, or on events naming items outside the matrix.
    pub fn fit(
        params: &CheckedPopularity,
        data: &TrainData<'_>,
        _options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        let log = data.log;
        let Some((_, latest)) = log.time_span() else {
            return Err(FitError::EmptyTrain {
                model: "popularity",
            });
        };
        // An event counts when timestamp ≥ latest − window.
        let cutoff = params.window_seconds().map(|w| latest as f64 - w);
        let n_items = data.n_items();
        let mut sums = vec![0f64; n_items];
        let events = log.items().iter().zip(log.timestamps()).enumerate();
        for (row, (&item, &time)) in events {
            if cutoff.is_some_and(|c| (time as f64) < c) {
                continue;
            }
            let Some(sum) = sums.get_mut(item.0 as usize) else {
                return Err(FitError::Data {
                    model: "popularity",
                    reason: format!(
                        "train event on item {} outside the matrix's {n_items} items",
                        item.0
                    ),
                });
            };
            *sum += f64::from(log.event_weight(row, &data.behavior_weights));
        }
        let scores = sums.into_iter().map(|s| s as f32).collect();
        Ok(Popularity::from_scores(params.clone(), scores))
    }

    fn from_scores(params: CheckedPopularity, scores: Vec<f32>) -> Self {
        let n_items = scores.len();
        let mut ranked: Vec<(ItemId, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(_, s)| **s > 0.0)
            .map(|(i, &s)| (ItemId(i as u32), s))
            .collect();
        // The shared top-N order: higher score, then lower id (scores here are > 0).
        ranked.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let dense_row = (ranked.len() * SPARSE_RATIO > n_items).then(|| {
            scores
                .iter()
                .map(|&s| if s > 0.0 { s } else { f32::NAN })
                .collect()
        });
        Popularity {
            params,
            scores,
            ranked,
            dense_row,
        }
    }

    pub fn params(&self) -> &CheckedPopularity {
        &self.params
    }

    /// Score per item (0 for items without counted events).
    pub fn scores(&self) -> &[f32] {
        &self.scores
    }

    /// The items with a score > 0, best first (ties by lower id).
    pub fn ranked(&self) -> &[(ItemId, f32)] {
        &self.ranked
    }

    /// Payload: parameters (JSON), then the score per item.
    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(self.params.params())?;
        w.f32s(&self.scores)
    }

    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: PopularityParams = r.json()?;
        let params = params
            .check()
            .map_err(|e| r.corrupt(format!("bad parameters: {e}")))?;
        let scores = r.f32s()?;
        if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
            return Err(r.corrupt(format!("popularity score of item {i} is not finite")));
        }
        Ok(Popularity::from_scores(params, scores))
    }
}

impl Recommender for Popularity {
    fn n_items(&self) -> usize {
        self.scores.len()
    }

    /// The same list for everyone, with or without history.
    fn needs_history(&self) -> bool {
        false
    }

    /// One ranked list for everyone: the shared loop walks it and skips seen items.
    fn ranking(&self, _user: UserId) -> Option<&[(ItemId, f32)]> {
        Some(&self.ranked)
    }

    /// The same scores for every user: the scored items only, as a dense row (NaN for
    /// unscored items) or, when few items are scored, a sparse best-first list. The
    /// shared loop uses [`Self::ranking`]; this stays as the plain reference.
    fn score_block(&self, _users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        match &self.dense_row {
            Some(row) if !row.is_empty() => out
                .dense()
                .chunks_exact_mut(row.len())
                .for_each(|r| r.copy_from_slice(row)),
            _ => out
                .sparse()
                .iter_mut()
                .for_each(|list| list.extend_from_slice(&self.ranked)),
        }
    }
}
