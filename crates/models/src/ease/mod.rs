//! EASE, the embarrassingly shallow autoencoder (Steck, WWW 2019): an item-item weight
//! matrix `B` with a zero diagonal that reconstructs each user's row, `X ≈ X B`, with L2
//! regularisation λ, solved in closed form.
//!
//! **Fit.** `X` is the train matrix made binary (every stored user-item pair is 1, as in
//! Steck's paper: the behaviour weights are not used, so a user's many views of one item
//! do not outweigh the other items; scoring reads the history the same way). Over the
//! items with train events (`n` of them; others have no column and are never
//! recommended), `P = (XᵀX + λI)⁻¹` through a dense Cholesky factorisation
//! (`XᵀX + λI = L Lᵀ`, `P = L⁻ᵀ L⁻¹`, with `faer`), then `B = I − P · diag(1 / diag(P))`,
//! i.e. `B[a][b] = −P[a][b] / P[b][b]` and `B[a][a] = 0`. Everything is f32: the model
//! is one `n × n` matrix (`n² × 4` bytes) and the fit holds two. A fit over more than
//! `max_items` trained items is refused, naming the item count and the memory.
//!
//! **Scoring** (dense, over the trained items): `score(u, b) = Σ_a x_ua · B[a][b]`, the
//! sum of the rows of `B` of the user's history items. A user none of whose history
//! items were trained gets no scores (NaN: nothing is recommended).
//!
//! **Similar items** of `a`: the largest weights of row `a` of `B`, i.e. the list of a
//! user whose only item is `a`.
//!
//! ```toml
//! [models.ease]
//! lambda = 500.0        # L2 regularisation on the diagonal of XᵀX
//! max_items = 20000     # refuse more trained items (n² × 4 bytes per dense matrix)
//! ```
//!
//! Saved payload: the params as JSON, `n_items`, the trained items (u32, increasing),
//! then `B` row-major (f32).

mod fit;
mod params;
#[cfg(test)]
mod tests;

pub use params::{CheckedEase, EaseParams};

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, Recommender, TopN};

use crate::{FitError, FitOptions, ModelError, ModelReader, ModelWriter, TrainData};

/// A fitted EASE model.
#[derive(Clone, Debug)]
pub struct Ease {
    params: CheckedEase,
    n_items: usize,
    /// The trained items, increasing: the rows and columns of `weights`.
    items: Vec<ItemId>,
    /// Position of each item of the id space in `items` (`u32::MAX`: not trained).
    compact: Vec<u32>,
    /// `B`, `items × items`, row-major.
    weights: Vec<f32>,
}

impl Ease {
    /// Fits on `data` (deterministic: no random choice).
    pub fn fit(
        params: &CheckedEase,
        data: &TrainData<'_>,
        options: &FitOptions<'_>,
    ) -> Result<Self, FitError> {
        let fitted = fit::fit(params.params(), data, options)?;
        options.progress.start(1);
        options.progress.advance_to(1);
        Ok(Ease::from_parts(
            params.clone(),
            data.n_items(),
            fitted.items,
            fitted.weights,
        ))
    }

    fn from_parts(
        params: CheckedEase,
        n_items: usize,
        items: Vec<ItemId>,
        weights: Vec<f32>,
    ) -> Self {
        let mut compact = vec![u32::MAX; n_items];
        for (c, i) in items.iter().enumerate() {
            compact[i.0 as usize] = c as u32;
        }
        Ease {
            params,
            n_items,
            items,
            compact,
            weights,
        }
    }

    pub fn params(&self) -> &CheckedEase {
        &self.params
    }

    /// The trained items, increasing: the rows and columns of [`Self::weight`].
    pub fn items(&self) -> &[ItemId] {
        &self.items
    }

    /// `B[a][b]`: how much having item `a` adds to the score of item `b` (0 when either
    /// was not trained, and for `a == b`).
    pub fn weight(&self, a: ItemId, b: ItemId) -> f32 {
        match (self.row_of(a), self.row_of(b)) {
            (Some(ra), Some(rb)) => self.row(ra)[rb],
            _ => 0.0,
        }
    }

    fn row_of(&self, item: ItemId) -> Option<usize> {
        self.compact
            .get(item.0 as usize)
            .filter(|&&c| c != u32::MAX)
            .map(|&c| c as usize)
    }

    fn row(&self, r: usize) -> &[f32] {
        let n = self.items.len();
        &self.weights[r * n..(r + 1) * n]
    }

    /// The `n` items with the largest weights in `item`'s row of `B` (the list of a user
    /// who has only `item`), best first, without the item itself; empty for an item
    /// without train events.
    pub fn similar_items(&self, item: ItemId, n: usize) -> Vec<(ItemId, f32)> {
        let Some(r) = self.row_of(item) else {
            return Vec::new();
        };
        let mut top = TopN::new(n);
        for (&j, &w) in self.items.iter().zip(self.row(r)) {
            if j != item {
                top.push(j, w);
            }
        }
        let mut out = Vec::new();
        top.drain_sorted(&mut out);
        out
    }

    /// Payload: parameters (JSON), n_items, the trained items, `B` row-major.
    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(self.params.params())?;
        w.u64(self.n_items as u64)?;
        w.u32s(&self.items.iter().map(|i| i.0).collect::<Vec<_>>())?;
        w.f32s(&self.weights)
    }

    /// Reads a model written by [`Ease::write`], checking it against the file header.
    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: EaseParams = r.json()?;
        let params = params
            .check()
            .map_err(|e| r.corrupt(format!("invalid EASE parameters: {e}")))?;
        let n_items = r.u64()?;
        if n_items != r.ids.n_items {
            return Err(r.corrupt(format!(
                "EASE over {n_items} items, but the id maps have {} items",
                r.ids.n_items
            )));
        }
        let n_items = n_items as usize;
        let items = r.u32s()?;
        if let Some(w) = items.windows(2).find(|w| w[0] >= w[1]) {
            return Err(r.corrupt(format!(
                "trained items must increase, found {} then {}",
                w[0], w[1]
            )));
        }
        if let Some(&i) = items.last().filter(|&&i| i as usize >= n_items) {
            return Err(r.corrupt(format!(
                "trained item {i} is outside the model's {n_items} items"
            )));
        }
        let weights = r.f32s()?;
        let n = items.len();
        if weights.len() as u128 != (n as u128) * (n as u128) {
            return Err(r.corrupt(format!(
                "{} weights for {n} trained items (expected {n} × {n})",
                weights.len()
            )));
        }
        if let Some(k) = weights.iter().position(|w| !w.is_finite()) {
            return Err(r.corrupt(format!("weight {k} is {}", weights[k])));
        }
        let items = items.into_iter().map(ItemId).collect();
        Ok(Ease::from_parts(params, n_items, items, weights))
    }
}

impl Recommender for Ease {
    fn n_items(&self) -> usize {
        self.n_items
    }

    fn scored_items(&self) -> Option<&[ItemId]> {
        Some(&self.items)
    }

    /// Dense rows over the trained items: the sum of the `B` rows of the user's items
    /// (read as binary, as in the fit); NaN for a user with no trained item.
    fn score_block(&self, users: &[UserId], history: &UserItemMatrix, out: &mut BlockScores) {
        let n = self.items.len();
        let dense = out.dense();
        for (user, scores) in users.iter().zip(dense.chunks_exact_mut(n.max(1))) {
            let mut any = false;
            if (user.0 as usize) < history.n_users() {
                for &a in history.row(*user).0 {
                    if let Some(r) = self.row_of(ItemId(a)) {
                        any = true;
                        scores
                            .iter_mut()
                            .zip(self.row(r))
                            .for_each(|(s, w)| *s += w);
                    }
                }
            }
            if !any {
                scores.fill(f32::NAN);
            }
        }
    }

    /// A dense block of at most ~32 MiB of scores, 16 to 1024 users.
    fn block_size(&self) -> usize {
        ((8 << 20) / self.items.len().max(1)).clamp(16, 1024)
    }
}
