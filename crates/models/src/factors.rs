//! Dense latent factors, shared by the factor models (ALS, BPR): block scoring with a
//! matrix multiply, similar items by cosine, save/load.

use clickrec_core::{ItemId, UserId};
use clickrec_recommend::{BlockScores, FactorScores, TopN};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::{ModelError, ModelReader, ModelWriter};

/// Largest `factors` of the factor models (ALS, BPR): their Gram matrices and per-row
/// work grow with its square, and beyond a few thousand factors a fit on any log takes
/// hours while no benchmark gains; larger values are config errors.
pub(crate) const MAX_FACTORS: usize = 4096;

/// What a `factors` key takes, for [`crate::ParamError`]s.
pub(crate) const FACTORS_RANGE: &str = "an integer from 1 to 4096";

/// Largest `iterations` (epochs) of the factor models: each is a pass over every train
/// event, ALS converges within tens and BPR within hundreds, and a larger value only
/// makes a run that never ends; larger values are config errors.
pub(crate) const MAX_ITERATIONS: usize = 1000;

/// What an `iterations` key takes, for [`crate::ParamError`]s.
pub(crate) const ITERATIONS_RANGE: &str = "an integer from 1 to 1000";

/// The item-factor rows worth scoring: all but the all-zero ones. The factor models give
/// items without train events zero rows; such an item scores 0 for every user, which says
/// nothing, and skipping it keeps scoring and top-N proportional to the items that were
/// trained (after a k-core, a fraction of the ingested id space).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ScoredRows {
    items: Vec<ItemId>,
    factors: Factors,
}

impl ScoredRows {
    /// `None` when no row is all zero: the full matrix is scored as it is.
    pub(crate) fn of(all: &Factors) -> Option<ScoredRows> {
        let items: Vec<ItemId> = (0..all.rows)
            .filter(|&r| all.row(r).iter().any(|&v| v != 0.0))
            .map(|r| ItemId(r as u32))
            .collect();
        if items.len() == all.rows {
            return None;
        }
        let mut data = Vec::with_capacity(items.len() * all.dim);
        items
            .iter()
            .for_each(|i| data.extend_from_slice(all.row(i.0 as usize)));
        Some(ScoredRows {
            factors: Factors::from_vec(items.len(), all.dim, data),
            items,
        })
    }

    pub(crate) fn items(&self) -> &[ItemId] {
        &self.items
    }

    /// The rows to score: `scored` when some rows are skipped, else `all`.
    pub(crate) fn or_all<'a>(scored: &'a Option<ScoredRows>, all: &'a Factors) -> &'a Factors {
        scored.as_ref().map_or(all, |s| &s.factors)
    }
}

/// A `rows × dim` matrix of f32 factors, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Factors {
    rows: usize,
    dim: usize,
    data: Vec<f32>,
}

impl Factors {
    /// Wraps row-major data. Panics if `data.len() != rows * dim`.
    pub fn from_vec(rows: usize, dim: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), rows * dim, "factor data must be rows × dim");
        Factors { rows, dim, data }
    }

    pub fn zeros(rows: usize, dim: usize) -> Self {
        Factors::from_vec(rows, dim, vec![0.0; rows * dim])
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.dim..(r + 1) * self.dim]
    }

    pub fn row_mut(&mut self, r: usize) -> &mut [f32] {
        &mut self.data[r * self.dim..(r + 1) * self.dim]
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    fn view(&self) -> ArrayView2<'_, f32> {
        // Shape and length agree by construction.
        ArrayView2::from_shape((self.rows, self.dim), &self.data)
            .unwrap_or_else(|_| unreachable!("rows × dim == data.len()"))
    }

    /// Scores of these (user) rows against `items`, for the shared tiled top-N.
    pub fn scores_against<'a>(&'a self, items: &'a Factors) -> FactorScores<'a> {
        FactorScores {
            dim: self.dim,
            users: &self.data,
            items: &items.data,
        }
    }

    /// Dense scores `users × items` = user factors · item factorsᵀ, one matrix multiply
    /// per block. Users outside `self` (not in the fitted user space) score 0 everywhere.
    pub fn score_block(&self, items: &Factors, users: &[UserId], out: &mut BlockScores) {
        let dim = self.dim;
        let mut block = vec![0.0f32; users.len() * dim];
        for (row, user) in block.chunks_exact_mut(dim).zip(users) {
            let u = user.0 as usize;
            if u < self.rows {
                row.copy_from_slice(self.row(u));
            }
        }
        let block = ArrayView2::from_shape((users.len(), dim), &block)
            .unwrap_or_else(|_| unreachable!("users × dim values"));
        // The product goes straight into the block's score buffer: no temporary matrix.
        let dense = out.dense();
        let mut scores = ArrayViewMut2::from_shape((users.len(), items.rows), dense)
            .unwrap_or_else(|_| unreachable!("users × items scores"));
        general_mat_mul(1.0, &block, &items.view().t(), 0.0, &mut scores);
    }

    /// The `n` rows most similar to `row` by cosine, without `row` itself, best first
    /// (ties by lower id).
    pub fn most_similar(&self, row: usize, n: usize) -> Vec<(ItemId, f32)> {
        let norms: Vec<f32> = (0..self.rows)
            .map(|r| self.row(r).iter().map(|v| v * v).sum::<f32>().sqrt())
            .collect();
        let target = self.row(row);
        let mut top = TopN::new(n);
        for r in (0..self.rows).filter(|&r| r != row) {
            let denom = norms[r] * norms[row];
            let dot: f32 = self.row(r).iter().zip(target).map(|(a, b)| a * b).sum();
            top.push(
                ItemId(r as u32),
                if denom > 0.0 { dot / denom } else { 0.0 },
            );
        }
        let mut out = Vec::new();
        top.drain_sorted(&mut out);
        out
    }

    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.u64(self.rows as u64)?;
        w.u64(self.dim as u64)?;
        w.f32s(&self.data)
    }

    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let rows = r.u64()? as usize;
        let dim = r.u64()? as usize;
        let data = r.f32s()?;
        if rows.checked_mul(dim) != Some(data.len()) {
            return Err(r.corrupt(format!(
                "factor matrix of {rows} × {dim} holds {} values",
                data.len()
            )));
        }
        Ok(Factors { rows, dim, data })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clickrec_core::UserItemMatrix;
    use clickrec_recommend::{RecommendRequest, Recommender, recommend};

    struct Dot(Factors, Factors);

    impl Recommender for Dot {
        fn n_items(&self) -> usize {
            self.1.rows()
        }
        fn score_block(&self, users: &[UserId], _: &UserItemMatrix, out: &mut BlockScores) {
            self.0.score_block(&self.1, users, out)
        }
    }

    #[test]
    fn block_scores_are_dot_products_and_unknown_users_score_zero() {
        let users = Factors::from_vec(2, 2, vec![1.0, 2.0, -1.0, 0.5]);
        let items = Factors::from_vec(3, 2, vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0]);
        // Every user has history (seen items stay recommendable here).
        let history = UserItemMatrix::from_triples(
            3,
            3,
            (0..3).map(|u| (UserId(u), clickrec_core::ItemId(0), 1.0)),
        )
        .unwrap();
        let mut request = RecommendRequest::top(3);
        request.exclude_seen = false;
        let model = Dot(users, items);
        let recs = recommend(
            &model,
            &history,
            &[UserId(0), UserId(1), UserId(2)],
            &request,
        )
        .unwrap();
        let list = |k: usize| -> Vec<(u32, f32)> {
            let l = recs.get(k);
            l.items
                .iter()
                .map(|i| i.0)
                .zip(l.scores.iter().copied())
                .collect()
        };
        assert_eq!(list(0), vec![(2, 6.0), (1, 2.0), (0, 1.0)]);
        assert_eq!(list(1), vec![(1, 0.5), (0, -1.0), (2, -1.0)]);
        // User 2 has no factors: every score 0, ties by item id.
        assert_eq!(list(2), vec![(0, 0.0), (1, 0.0), (2, 0.0)]);
    }

    #[test]
    fn most_similar_ranks_by_cosine_without_the_item_itself() {
        let items = Factors::from_vec(4, 2, vec![1.0, 0.0, 2.0, 0.1, 0.0, 1.0, -1.0, 0.0]);
        let similar: Vec<u32> = items.most_similar(0, 3).iter().map(|p| p.0.0).collect();
        assert_eq!(similar, vec![1, 2, 3]);
    }
}
