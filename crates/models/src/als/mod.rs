//! Implicit ALS: matrix factorisation for implicit feedback (Hu, Koren, Volinsky 2008),
//! solved with a few warm-started conjugate-gradient steps per row (Takács, Pilászy,
//! Tikk 2011), the algorithm of Python `implicit` 0.7.3's CPU `AlternatingLeastSquares`
//! with `use_cg=True` (by default followed by one exact user solve, below).
//!
//! Each observed pair `(u, i)` with matrix value `r` has preference `p = 1` (`p = 0` for
//! a negative value, implicit's convention for dislikes) and confidence
//! `C = alpha·|r|`, as in implicit 0.7.3 (Hu et al. write `1 + alpha·r`; we follow implicit
//! so that the same `alpha` fits the same model); unobserved pairs have `p = 0` and `C = 1`. The fit minimises
//! `Σ_ui C_ui (p_ui − x_uᵀy_i)² + λ(Σ‖x_u‖² + Σ‖y_i‖²)` by alternating half-sweeps: all
//! users given the items, then all items given the users. Per row it runs
//! [`AlsParams::cg_steps`] CG steps on `(YᵀY + λI + Yᵀ(C_u − I)Y) x = YᵀC_u p_u`, starting
//! from the current factor, with `YᵀY + λI` computed once per half-sweep and the sparse
//! correction applied over the row's items only. Rows without any pair get zero factors.
//! With [`AlsParams::exact_user_solve`] (the default) the fit then solves every user's
//! equation exactly against the final item factors (Cholesky, f64), the solve
//! [`Als::fold_in_user`] uses: a user folded in from their train row gets the trained
//! factor, so serving a user's new events never jumps away from the offline list. Without
//! it the last user factors are implicit's: `cg_steps` steps against the item factors of
//! the sweep before.
//!
//! Everything runs in f32 and in parallel over rows, and is bit-identical at any thread
//! count: rows are solved independently, Gram matrices and loss sums are reduced over
//! fixed row chunks in a fixed order, and initial factors come from a random stream per
//! `(seed, side, row)`. (Across machines results may differ in the last bits: the Gram
//! matrices go through `ndarray`'s matrix multiply, which picks SIMD kernels by CPU.)
//!
//! With `record_loss`, the loss after each iteration is implicit's `calculate_loss`:
//! the objective above divided by the total confidence over all pairs,
//! `Σ_observed C + (users·items − nnz)`.
//!
//! Saved payload: the params as JSON, the training loss as f64 bits, then the user and
//! item [`Factors`].

mod cg;
mod fit;
mod params;
#[cfg(test)]
mod tests;

use clickrec_core::{ItemId, UserId, UserItemMatrix};
use clickrec_recommend::{BlockScores, FactorScores, Recommender};

pub use params::{AlsParams, CheckedAls};

use crate::factors::ScoredRows;
use crate::{Factors, ModelError, ModelReader, ModelWriter, ParamError};

/// A fitted implicit-ALS model: user and item factors, scored by dot product.
#[derive(Clone, Debug)]
pub struct Als {
    params: AlsParams,
    users: Factors,
    items: Factors,
    /// The item rows scored when recommending (`None`: all).
    scored: Option<ScoredRows>,
    /// Training loss after each iteration, when the fit recorded it.
    loss: Vec<f64>,
    /// `YᵀY + λI` of the item factors, made on the first fold-in and kept.
    item_gram: std::sync::OnceLock<Vec<f32>>,
    /// The scored item factors packed for top-N, made on first use and kept.
    packed: std::sync::OnceLock<clickrec_recommend::PackedItems>,
}

impl Als {
    pub(crate) fn new(params: AlsParams, users: Factors, items: Factors, loss: Vec<f64>) -> Self {
        Als {
            params,
            users,
            scored: ScoredRows::of(&items),
            items,
            loss,
            item_gram: std::sync::OnceLock::new(),
            packed: std::sync::OnceLock::new(),
        }
    }

    /// A model from factors trained elsewhere (e.g. by another engine), scored like a fitted
    /// one. Both matrices must have `params.factors` columns.
    pub fn from_factors(
        params: AlsParams,
        users: Factors,
        items: Factors,
    ) -> Result<Self, ParamError> {
        for f in [&users, &items] {
            if f.dim() != params.factors {
                return Err(ParamError::new(
                    "als",
                    "factors",
                    "the width of the given factor matrices",
                    params.factors,
                ));
            }
        }
        Ok(Als::new(params, users, items, Vec::new()))
    }

    /// The parameters the model was fitted with.
    pub fn params(&self) -> &AlsParams {
        &self.params
    }

    /// User factors, `n_users × factors`.
    pub fn user_factors(&self) -> &Factors {
        &self.users
    }

    /// Item factors, `n_items × factors`.
    pub fn item_factors(&self) -> &Factors {
        &self.items
    }

    /// Training loss per iteration (implicit's normalisation), empty unless the fit ran
    /// with `record_loss`.
    pub fn training_loss(&self) -> &[f64] {
        &self.loss
    }

    /// The `n` items most similar to `item` by cosine of item factors, best first.
    pub fn similar_items(&self, item: ItemId, n: usize) -> Vec<(ItemId, f32)> {
        self.items.most_similar(item.0 as usize, n)
    }

    /// The item factors recommending scores, and the items they stand for when some are
    /// left out (see [`Recommender::scored_items`]).
    pub(crate) fn item_side(&self) -> (&Factors, Option<&[ItemId]>) {
        (
            ScoredRows::or_all(&self.scored, &self.items),
            self.scored.as_ref().map(ScoredRows::items),
        )
    }

    pub fn write(&self, w: &mut ModelWriter) -> Result<(), ModelError> {
        w.json(&self.params)?;
        let bits: Vec<u64> = self.loss.iter().map(|l| l.to_bits()).collect();
        w.u64s(&bits)?;
        self.users.write(w)?;
        self.items.write(w)
    }

    /// Reads a model written by [`Als::write`], checking it against the file header.
    pub fn read(r: &mut ModelReader) -> Result<Self, ModelError> {
        let params: AlsParams = r.json()?;
        params
            .check()
            .map_err(|e| r.corrupt(format!("invalid ALS parameters: {e}")))?;
        let loss: Vec<f64> = r.u64s()?.into_iter().map(f64::from_bits).collect();
        if loss.len() > params.iterations {
            return Err(r.corrupt(format!(
                "{} loss values for {} iterations",
                loss.len(),
                params.iterations
            )));
        }
        let users = Factors::read(r)?;
        let items = Factors::read(r)?;
        for (side, f, expected) in [
            ("user", &users, r.ids.n_users),
            ("item", &items, r.ids.n_items),
        ] {
            if f.rows() as u64 != expected || f.dim() != params.factors {
                return Err(r.corrupt(format!(
                    "{side} factors are {} × {}, expected {expected} × {}",
                    f.rows(),
                    f.dim(),
                    params.factors
                )));
            }
            if f.as_slice().iter().any(|v| !v.is_finite()) {
                return Err(r.corrupt(format!("{side} factors hold non-finite values")));
            }
        }
        Ok(Als::new(params, users, items, loss))
    }
}

impl Recommender for Als {
    fn n_items(&self) -> usize {
        self.items.rows()
    }

    fn scored_items(&self) -> Option<&[ItemId]> {
        self.scored.as_ref().map(ScoredRows::items)
    }

    fn score_block(&self, users: &[UserId], _history: &UserItemMatrix, out: &mut BlockScores) {
        let items = ScoredRows::or_all(&self.scored, &self.items);
        self.users.score_block(items, users, out)
    }

    /// Users per block so a dense block of scores stays near 32 MiB, between 16 and 1024.
    fn block_size(&self) -> usize {
        let width = ScoredRows::or_all(&self.scored, &self.items).rows();
        ((8 << 20) / width.max(1)).clamp(16, 1024)
    }

    fn factors(&self) -> Option<FactorScores<'_>> {
        Some(
            self.users
                .scores_against(ScoredRows::or_all(&self.scored, &self.items)),
        )
    }

    fn packed_items(&self) -> Option<&clickrec_recommend::PackedItems> {
        let f = self.factors()?;
        Some(
            self.packed
                .get_or_init(|| clickrec_recommend::PackedItems::new(&f)),
        )
    }
}
